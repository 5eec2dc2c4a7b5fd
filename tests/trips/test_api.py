"""The trips API: the row rule (a police desk gets no ambulance's replay or report), input checks naming the
parameter, and the CSV/XLSX exports holding the same rows as the JSON."""

import csv
import io

import openpyxl
import pytest

from dispatch.models import Vehicle

from .test_reports import at, police_car  # noqa: F401 - the constructed track

pytestmark = pytest.mark.django_db(transaction=True)


def window():
    return {"from": at(-60).isoformat(), "to": at(180).isoformat()}


def test_a_police_desk_gets_no_ambulance_replay_or_report(api, police_car):  # noqa: F811
    ambulance = Vehicle.objects.filter(kind=Vehicle.Kind.AMBULANCE).first()
    police = api("dispatcher110")
    assert police.get("/api/trips/replay/", {"vehicles": ambulance.pk, **window()}).status_code == 404
    assert police.get("/api/trips/reports/trips/", {"vehicles": ambulance.pk, **window()}).status_code == 404
    mixed = police.get("/api/trips/replay/", {"vehicles": f"{police_car.pk},{ambulance.pk}", **window()})
    assert mixed.status_code == 404 and str(ambulance.pk) in mixed.json()["detail"]
    fleet = police.get("/api/trips/reports/mileage/", window()).json()
    assert {row["agency"] for row in fleet["summary"]} == {"110"}
    assert {v["agency"] for v in police.get("/api/trips/vehicles/").json()} == {"110"}
    ambulance_desk = api("dispatcher120").get("/api/trips/reports/trips/", {"agency": "110", **window()}).json()
    assert ambulance_desk["vehicles"] == 0 and ambulance_desk["rows"] == []

    replay = police.get("/api/trips/replay/", {"vehicles": police_car.pk, **window()}).json()
    assert len(replay["vehicles"][0]["points"]) == 49
    assert [s["start"] for s in replay["stops"]] == [at(m).isoformat() for m in (0, 30, 45)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2025-01-02T00:00:00+08:00", "to": "2025-01-01T00:00:00+08:00"}, "from"),
        ({"from": "2025-01-01T00:00:00+08:00", "to": "2025-03-01T00:00:00+08:00"}, "to"),
        ({"vehicles": "1;DROP TABLE x"}, "vehicles"),
        ({"format": "pdf"}, "format"),
        ({"agency": "999"}, "agency"),
        ({"group": "x"}, "group"),
    ],
)
def test_bad_parameters_are_named(api, demo_city, params, field):
    answer = api("operator").get("/api/trips/reports/trips/", params)
    assert answer.status_code == 400 and answer.json()["field"] == field


def test_replay_needs_vehicles_and_an_ambulance_is_404_not_400(api, demo_city):
    assert api("operator").get("/api/trips/replay/").json()["field"] == "vehicles"
    assert api("operator").get("/api/trips/replay/", {"vehicles": "99999999"}).status_code == 404
    assert api("inspector").get("/api/trips/replay/", {"vehicles": "1"}).status_code == 403


def test_csv_and_xlsx_hold_the_rows_of_the_json(api, police_car):  # noqa: F811
    client = api("operator")
    params = {"vehicles": police_car.pk, **window()}
    rows = client.get("/api/trips/reports/trips/", params).json()["rows"]
    text = client.get("/api/trips/reports/trips/", {**params, "format": "csv"}).content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == 1 + len(rows) == 3
    assert [float(r[table[0].index("距离（公里）")]) for r in table[1:]] == [r["distance_km"] for r in rows]
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/api/trips/reports/trips/", {**params, "format": "xlsx"}).content)
    )
    sheet = list(book.active.values)
    assert sheet[0] == tuple(table[0]) and [row[sheet[0].index("距离（公里）")] for row in sheet[1:]] == [20.0, 7.0]
