"""`manage.py import_components FILE [--layer L] [--id-field ObjID] …`: the component inventory from a GIS file.

Identifiers may be 17-digit (GB/T 47678.5-2026) or 16-digit (CJ/T 214, mapped to the 2026 class and kept as
the legacy identifier). One bad row refuses the whole file, naming the row.
"""

from django.core.management.base import BaseCommand, CommandError

from core import uploads
from core.errors import InputError
from grid import importers


class Command(BaseCommand):
    help = "Import components (部件) from a point layer with the standard attributes."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--layer")
        parser.add_argument("--id-field", default="ObjID")
        parser.add_argument("--name-field", default="ObjName")
        parser.add_argument("--owner-field", default="DeptName1")
        parser.add_argument("--status-field", default="ObjState")

    def handle(self, *args, path, layer, id_field, name_field, owner_field, status_field, **options):
        try:
            with uploads.local_file(path) as file:
                n = importers.import_components(None, file, layer, id_field, name_field, owner_field, status_field)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from exc
        self.stdout.write(self.style.SUCCESS(f"{n} components imported"))
