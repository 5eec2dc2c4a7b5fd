"""`manage.py export_gpkg --network CODE OUT.gpkg`: a network as a GeoPackage (pipes, valves and sources)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines_mgmt.gis_import import export_geopackage
from pipelines_mgmt.models import Network


class Command(BaseCommand):
    help = "Export a pipe network to a GeoPackage that import_gis reads back."

    def add_arguments(self, parser):
        parser.add_argument("out")
        parser.add_argument("--network", required=True, help="network code")

    def handle(self, *args, out, network, **opts):
        found = Network.objects.filter(code=network).first()
        if found is None:
            raise CommandError(f"unknown network {network!r}")
        Path(out).write_bytes(export_geopackage(found))
        self.stdout.write(self.style.SUCCESS(f"wrote {out}"))
