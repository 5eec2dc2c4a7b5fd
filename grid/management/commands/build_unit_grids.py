"""`manage.py build_unit_grids [--target-m2 10000] [--community CODE …] [--replace]` or `--from FILE`.

Cuts communities into ~10,000 m² unit grids along roads, water and community boundaries (grid/gridding.py),
or imports an existing grid layer (GeoPackage, zipped Shapefile, GeoJSON …; `--code-field` holds 15-digit codes).
"""

from django.core.management.base import BaseCommand, CommandError

from core import uploads
from core.errors import InputError
from grid import gridding, importers


class Command(BaseCommand):
    help = "Generate unit grids from the communities and roads, or import a grid layer from a GIS file."

    def add_arguments(self, parser):
        parser.add_argument("--target-m2", type=float, default=gridding.TARGET_M2)
        parser.add_argument("--community", action="append", help="only this community code (repeatable)")
        parser.add_argument("--replace", action="store_true", help="replace the grids that exist")
        parser.add_argument("--from", dest="path", help="import this GIS file instead of generating")
        parser.add_argument("--layer", help="layer name in a multi-layer file")
        parser.add_argument("--code-field", default="code", help="attribute with the 15-digit grid code")

    def handle(self, *args, target_m2, community, replace, path, layer, code_field, **options):
        try:
            if path:
                with uploads.local_file(path) as file:
                    n = importers.import_unit_grids(None, file, layer, code_field, replace)
            else:
                n = importers.build_unit_grids(target_m2, community, replace)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from exc
        self.stdout.write(self.style.SUCCESS(f"{n} unit grids"))
