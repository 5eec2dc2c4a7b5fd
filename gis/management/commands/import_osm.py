"""`manage.py import_osm city.osm.pbf [--replace] [--bbox W,S,E,N]`: a city's own streets for routing and the map."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import InputError
from gis import services


class Command(BaseCommand):
    help = "Import the drivable roads of an OpenStreetMap PBF extract into the road layer."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--replace", action="store_true", help="remove every existing road first (demo roads)")
        parser.add_argument("--bbox", help="only roads inside west,south,east,north (WGS84)")

    def handle(self, *args, file, replace, bbox, **options):
        if not file.is_file():
            raise CommandError(f"no file {file}")
        box = None
        if bbox:
            try:
                box = [float(v) for v in bbox.split(",")]
            except ValueError:
                raise CommandError("--bbox takes four numbers: west,south,east,north") from None
            if len(box) != 4 or box[0] >= box[2] or box[1] >= box[3]:
                raise CommandError("--bbox takes four numbers: west,south,east,north")
        try:
            stats = services.import_osm_roads(file, replace=replace, bounding_box=box)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from None
        self.stdout.write(self.style.SUCCESS(f"roads imported from {file.name}: {stats}"))
