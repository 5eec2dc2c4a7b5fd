"""A report's rows as a CSV or XLSX file: the same columns as the JSON rows, headed in the reader's language."""

import csv
import io

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

HEADERS = {
    "vehicle_id": _("Vehicle id"),
    "call_sign": _("Call sign"),
    "plate": _("Plate"),
    "vehicle_kind": _("Vehicle kind"),
    "agency": _("Agency"),
    "day": _("Day"),
    "start": _("Start"),
    "end": _("End"),
    "duration_s": _("Duration (s)"),
    "start_lon": _("Start longitude"),
    "start_lat": _("Start latitude"),
    "end_lon": _("End longitude"),
    "end_lat": _("End latitude"),
    "distance_km": _("Distance (km)"),
    "max_speed_kmh": _("Maximum speed (km/h)"),
    "avg_speed_kmh": _("Average speed (km/h)"),
    "limit_kmh": _("Speed limit (km/h)"),
    "fixes": _("Fixes"),
    "fence_id": _("Fence id"),
    "fence": _("Fence"),
    "first": _("First fix inside"),
    "last": _("Last fix inside"),
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """Text that a spreadsheet would run as a formula is written with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def columns_of(rows: list[dict]) -> list[str]:
    return [name for name in HEADERS if rows and name in rows[0]]


def file_response(rows: list[dict], fmt: str, filename: str) -> HttpResponse:
    columns = columns_of(rows)
    header = [str(HEADERS[name]) for name in columns]
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows([_cell(row.get(name)) for name in columns] for row in rows)
        body = ("\ufeff" + text.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8 Chinese correctly
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(filename[:31])
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(row.get(name)) for name in columns])
        out = io.BytesIO()
        book.save(out)
        body = out.getvalue()
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
