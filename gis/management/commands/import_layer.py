"""`manage.py import_layer FILE --slug SLUG --title TITLE [--crs gcj02] [--format csv] [--dry-run]`.

The same path as the upload API: read and check (the report is printed), then commit as layer ds-<slug>.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core import uploads
from core.errors import InputError
from core.geo import SUPPORTED_CRS_TEXT
from core.models import User
from gis import importing, services


class Command(BaseCommand):
    help = "Import a Shapefile (zip), GeoPackage, GeoJSON, CSV or KML file as a layer."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--slug", required=True, help="the layer id becomes ds-<slug>")
        parser.add_argument("--title", required=True)
        parser.add_argument("--format", choices=list(importing.VECTOR_FORMATS))
        parser.add_argument("--crs", help="source CRS if the file has none or it is wrong: " + SUPPORTED_CRS_TEXT)
        parser.add_argument("--layer", help="layer of a GeoPackage")
        parser.add_argument("--lon-column")
        parser.add_argument("--lat-column")
        parser.add_argument("--wkt-column")
        parser.add_argument("--read-roles", nargs="*", help="roles that may read the layer (default: planners and up)")
        parser.add_argument("--user", default="admin", help="the account recorded as importer (a planner or admin)")
        parser.add_argument("--dry-run", action="store_true", help="print the report, import nothing")

    def handle(self, *args, file, slug, title, user, dry_run, read_roles, **options):
        account = User.objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"no user {user!r}")
        columns = {k: options[f"{k}_column"] for k in ("wkt", "lon", "lat") if options.get(f"{k}_column")}
        try:
            with uploads.local_file(file) as local:
                preview = services.preview_import(
                    account, local, fmt=options["format"], crs=options["crs"], layer=options["layer"], columns=columns
                )
            report = {k: v for k, v in preview.report.items() if k != "sample"}
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2, default=str))
            if dry_run:
                return
            dataset = services.commit_import(account, preview, slug=slug, title=title, read_roles=read_roles)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from None
        except PermissionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"imported {dataset.features.count()} features as layer ds-{dataset.slug}")
        )
