"""`manage.py import_gis FILE --network CODE --utility water [--tolerance 0.5] [--map diameter_mm=管径,…]`."""

import json

from django.core.management.base import BaseCommand, CommandError

from core import uploads
from core.errors import InputError
from pipelines_mgmt import services
from pipelines_mgmt.gis_import import GisImportError, ImportOptions, parse_mapping
from pipelines_mgmt.management.commands.import_inp import owner_of
from pipelines_mgmt.models import Utility


class Command(BaseCommand):
    help = (
        "Import a pipe network from a GIS file (Shapefile .zip, GeoPackage, GeoJSON): topology built from the "
        "geometry and checked first; one transaction, so all of it or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--network", required=True, help="code of the new network")
        parser.add_argument("--name", help="display name (default: the code)")
        parser.add_argument("--utility", choices=Utility.values, default=Utility.WATER)
        parser.add_argument("--owner", help="organisation code of the owner")
        parser.add_argument("--tolerance", type=float, default=0.5, help="snap tolerance in metres (default 0.5)")
        parser.add_argument("--map", dest="mapping", help='field=column pairs, or JSON: {"diameter_mm": "管径"}')
        parser.add_argument("--pipe-layer", help="layer of the pipes (default: the first line layer)")
        parser.add_argument("--point-layer", help="layer of valves and sources (default: the first point layer)")
        parser.add_argument("--epsg", type=int, help="CRS of a file that does not say (or says wrong)")

    def handle(self, *args, **opts):
        owner = owner_of(opts)
        try:
            options = ImportOptions(
                code=opts["network"],
                name=opts["name"] or opts["network"],
                utility=opts["utility"],
                owner=owner,
                tolerance_m=opts["tolerance"],
                mapping=parse_mapping(opts["mapping"]),
                pipe_layer=opts["pipe_layer"],
                point_layer=opts["point_layer"],
                crs=f"EPSG:{opts['epsg']}" if opts["epsg"] else None,
            )
            with uploads.local_file(opts["file"]) as file:
                network, report = services.import_network(None, file, options)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}; nothing was imported") from exc
        except GisImportError as exc:
            if exc.report:
                for defect in exc.report["defects"]:
                    lon, lat = defect["location"]["coordinates"]
                    self.stderr.write(f"  [{defect['severity']}] {defect['kind']} at {lon:.6f},{lat:.6f}: "
                                      f"{defect['message']}")  # fmt: skip
            raise CommandError(str(exc)) from exc
        summary = {key: report[key] for key in ("node_count", "pipe_count", "valve_count", "split_count")}
        self.stdout.write(self.style.SUCCESS(f"imported {network.code}: {json.dumps(summary)}"))
