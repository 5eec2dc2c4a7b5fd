"""Map reports: standalone HTML with every asset inside, and Chromium snapshots of it."""

import json
import re

import pytest

from leader.reports import EXTERNAL_ASSET, REPORT_POLICY

from .test_api import districts, incident_in, square_around  # noqa: F401 - fixtures and helpers shared

pytestmark = pytest.mark.django_db


def test_incident_density_report_is_one_self_contained_file(api, user_for, districts):  # noqa: F811
    incident_in(districts[0], user_for("calltaker"))
    response = api("leader").get("/api/leader/reports/incidents.html?period=today")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Disposition"].startswith('attachment; filename="cityops-incidents-')
    # Its inline Leaflet runs only sandboxed (no CityOps origin), loading nothing: not under the site's policy.
    assert response["Content-Security-Policy"] == REPORT_POLICY
    assert REPORT_POLICY.startswith("sandbox allow-scripts;") and "default-src 'none'" in REPORT_POLICY
    page = response.content.decode()
    assert not EXTERNAL_ASSET.search(page)
    assert "cdn." not in page and "cdnjs" not in page
    assert "L.heatLayer" in page and "leaflet-heat" not in re.findall(r"<script[^>]*>", page)[0]
    assert 'id="report-legend"' in page and "事件密度" in page and "数据来源" in page
    assert "440304" in page  # the embedded basemap (districts)


def test_situation_report_shows_the_drawn_symbols(api, user_for, districts):  # noqa: F811
    incident = incident_in(districts[0], user_for("calltaker"))
    body = {"symbol": "cordon", "geometry": square_around(incident.geom), "label": "警戒线甲"}
    api("leader").post(f"/api/leader/incidents/{incident.pk}/annotations/", body, format="json")
    page = api("leader").get(f"/api/leader/reports/situation.html?incident={incident.pk}").content.decode()
    assert not EXTERNAL_ASSET.search(page)
    assert incident.number in page and "警戒线" in page  # the legend, in HTML
    assert json.dumps("警戒线甲")[1:-1] in page  # the drawn cordon's label, in the embedded GeoJSON


def test_png_and_pdf_snapshots_are_drawn_by_chromium(api, districts):  # noqa: F811
    png = api("leader").get("/api/leader/reports/bursts.png?period=month")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    pdf = api("leader").get("/api/leader/reports/bursts.pdf?period=month")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("weather.html", "view"),
        ("incidents.exe", "format"),
        ("situation.html", "incident"),
        ("situation.html?incident=abc", "incident"),
        ("incidents.html?from=2016-01-01&to=2026-01-01", "to"),
    ],
)
def test_bad_report_requests_are_400(api, demo_city, path, field):
    response = api("leader").get(f"/api/leader/reports/{path}")
    assert response.status_code == 400 and response.json()["field"] == field


def test_report_of_an_incident_elsewhere_is_404_for_a_district_leader(api, user_for, districts):  # noqa: F811
    incident = incident_in(districts[1], user_for("calltaker"), "110-THEFT")
    assert api("districtleader").get(f"/api/leader/reports/situation.html?incident={incident.pk}").status_code == 404


def test_a_drawn_label_is_text_in_the_report_never_markup(api, user_for, districts):  # noqa: F811
    incident = incident_in(districts[0], user_for("calltaker"))
    label = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'
    body = {"symbol": "cordon", "geometry": square_around(incident.geom), "label": label}
    assert (
        api("leader").post(f"/api/leader/incidents/{incident.pk}/annotations/", body, format="json").status_code == 201
    )
    page = api("leader").get(f"/api/leader/reports/situation.html?incident={incident.pk}").content.decode()
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "lt;img src=x" in page  # still there, as text (HTML-escaped, its "&" JSON-escaped by folium)
