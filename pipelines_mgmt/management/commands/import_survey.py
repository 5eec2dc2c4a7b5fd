"""`manage.py import_survey POINTS [LINES] --network CODE --utility water [--epsg 4547 | --offset X,Y] …`."""

import json
from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError

from core import uploads
from core.errors import InputError
from pipelines_mgmt import services
from pipelines_mgmt.gis_import import GisImportError, parse_mapping
from pipelines_mgmt.management.commands.import_inp import owner_of, progress_bar
from pipelines_mgmt.models import Utility
from pipelines_mgmt.survey_import import LINE_COLUMNS, POINT_COLUMNS, SurveyOptions, survey_georef


class Command(BaseCommand):
    help = (
        "Import a pipe network from survey tables (管线探测成果表): a point table and a line table as CSV or in one "
        "Excel workbook; checked first (row by row, then the topology); one transaction, so all of it or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="the point and line tables (.csv), or one workbook (.xlsx)")
        parser.add_argument("--network", required=True, help="code of the new network")
        parser.add_argument("--name", help="display name (default: the code)")
        parser.add_argument("--utility", choices=Utility.values, default=Utility.WATER)
        parser.add_argument("--owner", help="organisation code of the owner")
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--epsg", type=int, help="CRS of X/Y, e.g. 4547 (CGCS2000 3° zone, CM 114°E)")
        where.add_argument("--offset", help="X,Y added to a local grid's X/Y to reach the metric CRS")
        parser.add_argument("--x-east", action="store_true", help="X is the easting (surveys write X = northing)")
        parser.add_argument("--depth-to", choices=("crown", "invert"), help="what a bare 埋深 is measured to")
        parser.add_argument("--source", action="append", default=[], help="a point number where supply enters")
        parser.add_argument("--map", dest="mapping", help="field=header pairs, e.g. point=探测点号")

    def handle(self, *args, **opts):
        owner = owner_of(opts)
        try:
            offset_x, offset_y = (float(v) for v in opts["offset"].split(",")) if opts["offset"] else (0.0, 0.0)
        except ValueError:
            raise CommandError("--offset takes X,Y in metres, e.g. 2490000,500000") from None
        try:
            options = SurveyOptions(
                code=opts["network"],
                name=opts["name"] or opts["network"],
                utility=opts["utility"],
                owner=owner,
                georef=survey_georef(opts["epsg"], offset_x, offset_y, x_is_north=not opts["x_east"]),
                x_is_north=not opts["x_east"],
                depth_to=opts["depth_to"],
                mapping=parse_mapping(opts["mapping"], POINT_COLUMNS | LINE_COLUMNS),
                sources=tuple(opts["source"]),
            )
            with ExitStack() as stack, progress_bar() as progress:
                files = [stack.enter_context(uploads.local_file(path)) for path in opts["files"]]
                network, report = services.import_survey(None, files, options, progress=progress)
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}; nothing was imported") from exc
        except GisImportError as exc:
            for defect in (exc.report or {}).get("defects", []):
                self.stderr.write(f"  [{defect['severity']}] {defect['kind']}: {defect['message']}")
            raise CommandError(str(exc)) from exc
        for defect in report["defects"]:
            self.stderr.write(f"  [{defect['severity']}] {defect['kind']}: {defect['message']}")
        summary = {key: report[key] for key in ("node_count", "pipe_count", "valve_count")}
        self.stdout.write(self.style.SUCCESS(f"imported {network.code}: {json.dumps(summary)}"))
