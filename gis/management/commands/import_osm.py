"""`manage.py import_osm city.osm.pbf [--replace] [--bbox W,S,E,N] [--country CN]`: a city's own streets for routing
and the map, with a connectivity report."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import InputError
from gis import services


class Command(BaseCommand):
    help = "Import the roads emergency vehicles may use, and the turn restrictions, of an OpenStreetMap PBF extract."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--replace", action="store_true", help="remove every existing road first (demo roads)")
        parser.add_argument("--bbox", help="only roads inside west,south,east,north (WGS84)")
        parser.add_argument(
            "--country", default="CN", help="ISO 3166 code whose legal default speeds untagged roads get (default CN)"
        )

    def handle(self, *args, file, replace, bbox, country, **options):
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
            report = services.import_osm_roads(file, replace=replace, bounding_box=box, country=country)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from None
        connectivity = report.pop("connectivity")
        self.stdout.write(self.style.SUCCESS(f"roads imported from {file.name}: {report}"))
        self.stdout.write(
            "connectivity: {strongly_connected_components} strongly connected components, the largest holds "
            "{largest_component_share:.1%} of {nodes} nodes ({nodes_outside_largest_component} outside it); "
            "{dead_ends} dead ends ({dead_ends_at_edge} at the extract's edge); "
            "{islands} islands ({island_segments} segments)".format(**connectivity)
        )
