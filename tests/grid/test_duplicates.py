"""Duplicate reports: found by category, distance and time window before filing; merged into one case with all
reports, photos and reporters told; invalid merges refused with 409 and nothing changed."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from grid.models import Case, CasePhoto, CaseTransition, Category
from grid.selectors import possible_duplicates
from notify.models import Delivery
from tests.grid.test_cases_api import jpeg

pytestmark = pytest.mark.django_db


def north(point: Point, metres: float) -> Point:
    return Point(point.x, point.y + metres / 111_320.0, srid=4326)


def report(client, point, category="06010", **extra):
    body = {"category_code": category, "lon": point.x, "lat": point.y, "description": "垃圾", **extra}
    answer = client.post("/api/grid/cases/", body, format="multipart" if "photo" in extra else "json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_duplicates_by_category_distance_window_and_stage(api, spot):
    inspector = api("inspector")
    near = report(inspector, north(spot, 30))
    far = report(inspector, north(spot, 80))  # beyond the default 50 m
    other_kind = report(inspector, north(spot, 10), category="06011")
    old = report(inspector, north(spot, 20))
    Case.objects.filter(pk=old["id"]).update(reported_at=timezone.now() - timedelta(hours=73))
    voided = report(inspector, north(spot, 5))
    Case.objects.filter(pk=voided["id"]).update(stage="invalid")
    category = Category.objects.get(code="06010")
    found = possible_duplicates(category, spot, timezone.now())
    assert [c.pk for c in found] == [near["id"]]
    assert 25 < found[0].distance_m < 35
    category.duplicate_radius_m, category.duplicate_window_hours = 100, 100
    found = possible_duplicates(category, spot, timezone.now())
    assert [c.pk for c in found] == [old["id"], near["id"], far["id"]]  # nearest first
    assert other_kind["id"] not in [c.pk for c in found]

    answer = api("calltaker").get(f"/api/grid/cases/duplicates/?category_code=06010&lon={spot.x}&lat={spot.y}")
    assert answer.status_code == 200
    assert [f["id"] for f in answer.json()["features"]] == [near["id"]]
    assert api("calltaker").get("/api/grid/cases/duplicates/?category_code=06010").json()["field"] == "location"
    assert api("calltaker").get(f"/api/grid/cases/duplicates/?lon={spot.x}&lat={spot.y}").status_code == 400


def test_intake_answer_names_duplicates_and_merge_keeps_everything(api, spot, user_for):
    first = report(api("inspector"), spot, photo=jpeg())
    second = report(api("calltaker"), north(spot, 20), channel="hotline", photo=jpeg())
    assert [f["id"] for f in second["properties"]["possible_duplicates"]] == [first["id"]]
    assert first["properties"]["possible_duplicates"] == []

    merged = api("calltaker").post(f"/api/grid/cases/{second['id']}/merge/", {"into": first["id"]}, format="json")
    assert merged.status_code == 200, merged.content
    kept, gone = Case.objects.get(pk=first["id"]), Case.objects.get(pk=second["id"])
    assert gone.stage == "invalid" and gone.merged_into_id == kept.pk and gone.voided_at is not None
    assert kept.stage == first["properties"]["stage"] and list(kept.merged_reports.all()) == [gone]
    assert CasePhoto.objects.filter(case=kept).count() == 2 and not CasePhoto.objects.filter(case=gone).exists()
    assert CaseTransition.objects.filter(case=kept, action="merged").get().data["number"] == gone.number
    assert CaseTransition.objects.filter(case=gone, action="merged_into").get().to_stage == "invalid"
    told = set(
        Delivery.objects.filter(notification__about_id=str(kept.pk), channel="in_app").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"inspector", "calltaker"}
    detail = api("leader").get(f"/api/grid/cases/{kept.pk}/").json()
    assert "合并重复案件" in [h["action_label"] for h in detail["history"]]
    assert len(detail["properties"]["photos"]) == 2


@pytest.mark.parametrize("problem", ["itself", "category", "closed"])
def test_invalid_merges_are_409_and_change_nothing(api, spot, problem):
    first = report(api("inspector"), spot)
    second = report(api("inspector"), north(spot, 10), category="06011" if problem == "category" else "06010")
    into = second["id"] if problem != "itself" else first["id"]
    if problem == "closed":
        Case.objects.filter(pk=second["id"]).update(stage="closed")
    before = (list(Case.objects.values_list("pk", "stage", "merged_into")), CaseTransition.objects.count())
    answer = api("calltaker").post(f"/api/grid/cases/{first['id']}/merge/", {"into": into}, format="json")
    assert answer.status_code == 409 and answer.json()["error"] == "merge_refused"
    assert (list(Case.objects.values_list("pk", "stage", "merged_into")), CaseTransition.objects.count()) == before


def test_only_the_centre_merges(api, spot):
    first = report(api("inspector"), spot)
    second = report(api("inspector"), north(spot, 10))
    answer = api("inspector").post(f"/api/grid/cases/{second['id']}/merge/", {"into": first["id"]}, format="json")
    assert answer.status_code == 403
    assert api("calltaker").post(f"/api/grid/cases/{second['id']}/merge/", {}, format="json").json()["field"] == "into"
