"""Versioned case configuration through /api/grid/config/: a published change of time limits, a category's settings
or routing applies to cases filed afterwards only; bad input is refused naming the field; only the administrator
writes."""

import pytest

from core.models import AdminArea, AuditEntry, Organisation
from grid.config import ROW_FIELDS
from grid.models import Case, Category, CategoryLimits, ConfigVersion, RoutingRule
from grid.services import case_limits, stage_limit
from tests.grid.test_callbacks import verified_case
from tests.grid.test_duplicates import north

pytestmark = pytest.mark.django_db

CODE = "06010"  # 暴露垃圾: sanitation, 1 working day to handle in the CSV


def report(api, spot) -> Case:
    body = {"category_code": CODE, "location": {"type": "Point", "coordinates": [spot.x, spot.y]}}
    response = api("inspector").post("/api/grid/cases/", body, format="json")
    assert response.status_code == 201, response.content
    return Case.objects.get(pk=response.json()["id"])


def act(api, case: Case, user: str, action: str, **data):
    response = api(user).post(f"/api/grid/cases/{case.pk}/actions/{action}/", data, format="json")
    assert response.status_code == 200, response.content
    return Case.objects.get(pk=case.pk)


def publish(api, captured, note="test"):
    with captured(execute=True):
        response = api("admin").post("/api/grid/config/publish/", {"note": note}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def state():
    """Everything the configuration API may write."""
    return (
        list(ConfigVersion.objects.values_list("pk", "number", "note").order_by("pk")),
        list(CategoryLimits.objects.values_list("pk", *ROW_FIELDS).order_by("pk")),
        sorted(RoutingRule.objects.values_list("pk", "category_id", "department_type", "district_id", "organisation")),
        AuditEntry.objects.count(),
    )


def test_published_limits_apply_to_cases_filed_afterwards_only(api, spot, django_capture_on_commit_callbacks):
    before = report(api, spot)
    admin = api("admin")
    listed = admin.get("/api/grid/config/categories/").json()
    row = next(c for c in listed["categories"] if c["code"] == CODE)
    assert listed["draft"] is None and row["draft"] is None
    old_days = row["limits"]["handling_limit"]

    edited = admin.patch(f"/api/grid/config/categories/{CODE}/", {"handling_limit": old_days + 3}, format="json")
    assert edited.status_code == 200, edited.content
    # a draft changes nothing yet: a case filed now still gets the old limit
    draft_time = report(api, spot)
    assert stage_limit(case_limits(draft_time), "handling").amount == old_days
    row = next(c for c in admin.get("/api/grid/config/categories/").json()["categories"] if c["code"] == CODE)
    assert row["draft"]["handling_limit"] == old_days + 3 and row["limits"]["handling_limit"] == old_days

    published = publish(api, django_capture_on_commit_callbacks, note="暴露垃圾 放宽")
    assert published["number"] == 2  # version 1 is the baseline the draft started from
    after = report(api, spot)
    assert after.config_version.number == 2 and draft_time.config_version.number == 1
    before.refresh_from_db()
    assert before.config_version.number == 1  # given the baseline when the first draft was opened

    # dispatch both: the handling clock runs on each case's own version
    old_case = act(api, act(api, before, "leader", "file"), "griddispatcher", "dispatch")
    new_case = act(api, act(api, after, "leader", "file"), "griddispatcher", "dispatch")
    assert new_case.clock == old_case.clock == "handling"
    assert new_case.clock_seconds == pytest.approx(old_case.clock_seconds * (old_days + 3) / old_days)
    assert AuditEntry.objects.filter(
        action="grid.config.publish", target_id=str(ConfigVersion.objects.get(number=2).pk)
    )


def test_new_rule_routes_new_cases_and_old_cases_keep_their_department(api, spot, django_capture_on_commit_callbacks):
    old = act(api, report(api, spot), "leader", "file")
    admin = api("admin")
    usual = old.category.department_type
    target = Organisation.objects.exclude(responsibility__department_type=usual).order_by("code").first()
    district = old.district
    added = admin.post(
        "/api/grid/config/rules/",
        {"category_code": CODE, "district_id": district.pk, "organisation_id": target.pk},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert added.json()["category"]["code"] == CODE and added.json()["organisation"]["id"] == target.pk
    publish(api, django_capture_on_commit_callbacks)

    new = act(api, report(api, spot), "leader", "file")
    assert act(api, new, "griddispatcher", "dispatch").department_id == target.pk
    kept = act(api, old, "griddispatcher", "dispatch")
    assert kept.department_id is not None and kept.department_id != target.pk

    # changing the rule's organisation and then removing it: the diff of each published version says exactly that
    rule_id = added.json()["id"]
    draft_rule = admin.get("/api/grid/config/rules/?version=draft")
    assert draft_rule.status_code == 400 and draft_rule.json()["field"] == "version"  # no draft yet
    admin.patch(f"/api/grid/config/categories/{CODE}/", {"dispatch_hours": 0.5}, format="json")
    rules = admin.get("/api/grid/config/rules/?version=draft").json()
    draft_id = next(r["id"] for r in rules if r["category"] and r["category"]["code"] == CODE)
    assert draft_id != rule_id  # the draft has its own copy; version 2 stays as published
    other = Organisation.objects.exclude(pk__in=[target.pk, kept.department_id]).order_by("code").first()
    changed = admin.patch(f"/api/grid/config/rules/{draft_id}/", {"organisation_id": other.pk}, format="json")
    assert changed.status_code == 200 and changed.json()["organisation"]["id"] == other.pk
    diff = admin.get("/api/grid/config/diff/?from=2&to=draft").json()
    assert diff["rules"] == [
        {
            "change": "changed",
            "category": {"code": CODE, "name": old.category.name},
            "department_type": None,
            "district": {"id": district.pk, "code": district.code, "name": district.name},
            "from": {"id": target.pk, "code": target.code, "name": target.name},
            "to": {"id": other.pk, "code": other.code, "name": other.name},
        }
    ]
    assert [(c["code"], c["field"], c["to"]) for c in diff["limits"]] == [(CODE, "dispatch_hours", 0.5)]
    assert admin.delete(f"/api/grid/config/rules/{draft_id}/").status_code == 204
    publish(api, django_capture_on_commit_callbacks)
    removed = admin.get("/api/grid/config/diff/?from=2&to=3").json()["rules"]
    assert [(r["change"], r["from"]["id"], r["to"]) for r in removed] == [("removed", target.pk, None)]

    history = admin.get("/api/grid/config/versions/").json()
    assert [v["number"] for v in history] == [3, 2, 1]
    assert (
        history[0]["published_by"] and history[0]["changes"] == admin.get("/api/grid/config/diff/?from=2&to=3").json()
    )


def test_diff_lists_exactly_the_changes(api, django_capture_on_commit_callbacks):
    admin = api("admin")
    admin.patch(
        "/api/grid/config/categories/06010/", {"handling_limit": 4, "handling_unit": "working_hours"}, format="json"
    )
    admin.patch("/api/grid/config/categories/01001/", {"verification_hours": 1.5}, format="json")
    gas_districts = RoutingRule.objects.filter(version__number=1, department_type="gas", district__isnull=False)
    district = AdminArea.objects.filter(level="district").exclude(pk__in=gas_districts.values("district"))[0]
    org = Organisation.objects.order_by("code").first()
    body = {"department_type": "gas", "district_id": district.pk, "organisation_id": org.pk}
    assert admin.post("/api/grid/config/rules/", body, format="json").status_code == 201
    diff = admin.get("/api/grid/config/diff/?from=1&to=draft").json()
    base = CategoryLimits.objects.filter(version__number=1)
    old = {(row.category.code, f): getattr(row, f) for row in base.filter(category__code__in=["06010", "01001"])
           for f in ("handling_limit", "handling_unit", "verification_hours")}  # fmt: skip
    expected = [
        ("01001", "verification_hours", old[("01001", "verification_hours")], 1.5),
        ("06010", "handling_limit", old[("06010", "handling_limit")], 4.0),
        ("06010", "handling_unit", old[("06010", "handling_unit")], "working_hours"),
    ]
    expected = [e for e in expected if e[2] != e[3]]
    assert [(c["code"], c["field"], c["from"], c["to"]) for c in diff["limits"]] == expected
    assert [(r["change"], r["department_type"], r["to"]["id"]) for r in diff["rules"]] == [("added", "gas", org.pk)]
    assert admin.get("/api/grid/config/diff/?from=1&to=1").json() == {"limits": [], "rules": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"handling_limit": 0}, "handling_limit"),
        ({"handling_limit": -2}, "handling_limit"),
        ({"handling_limit": "abc"}, "handling_limit"),
        ({"handling_limit": 500}, "handling_limit"),  # 500 working days
        ({"dispatch_hours": 1000}, "dispatch_hours"),
        ({"confirmation_hours": True}, "confirmation_hours"),
        ({"handling_unit": "weeks"}, "handling_unit"),
        ({"handling_unit": ["working_days"]}, "handling_unit"),
        ({"verification_hours": "nan"}, "verification_hours"),
        ({"colour": 3}, "colour"),
        ({"department_type": "bakery"}, "department_type"),
        ({"department_type": ["gas"]}, "department_type"),
        ({"department_type": ""}, "department_type"),
        ({"callback_required": "true"}, "callback_required"),
        ({"callback_required": 1}, "callback_required"),
        ({"callback_required": None}, "callback_required"),
        ({"active": "false"}, "active"),
        ({"active": 0}, "active"),
        ({"duplicate_radius_m": 0}, "duplicate_radius_m"),
        ({"duplicate_radius_m": 1001}, "duplicate_radius_m"),
        ({"duplicate_radius_m": True}, "duplicate_radius_m"),
        ({"duplicate_radius_m": "50 m"}, "duplicate_radius_m"),
        ({"duplicate_window_hours": -1}, "duplicate_window_hours"),
        ({"duplicate_window_hours": 721}, "duplicate_window_hours"),
        ({"duplicate_window_hours": "inf"}, "duplicate_window_hours"),
        ({"dispatch_hours": 2, "active": "no"}, "active"),  # the good field is not kept either
    ],
)
def test_bad_limits_are_refused_naming_the_field_and_change_nothing(api, body, field):
    admin = api("admin")
    assert admin.patch("/api/grid/config/categories/06010/", {"dispatch_hours": 0.5}, format="json").status_code == 200
    before = state()
    response = admin.patch("/api/grid/config/categories/06010/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"organisation_id": 1}, "category_code"),  # neither category nor type
        ({"category_code": "06010", "department_type": "gas", "organisation_id": 1}, "category_code"),
        ({"category_code": "99999", "organisation_id": 1}, "category_code"),
        ({"department_type": "bakery", "organisation_id": 1}, "department_type"),
        ({"department_type": "gas"}, "organisation_id"),
        ({"department_type": "gas", "organisation_id": 987654}, "organisation_id"),
        ({"department_type": "gas", "organisation_id": "x", "district_id": 1}, "district_id"),
        ({"department_type": "gas", "organisation_id": 10**30}, "organisation_id"),
    ],
)
def test_bad_rules_are_refused_naming_the_field_and_change_nothing(api, body, field):
    admin = api("admin")
    assert admin.patch("/api/grid/config/categories/06010/", {"dispatch_hours": 0.5}, format="json").status_code == 200
    before = state()
    response = admin.post("/api/grid/config/rules/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert state() == before


def test_a_second_rule_for_the_same_key_is_refused(api):
    admin = api("admin")
    org = Organisation.objects.order_by("code").first()
    body = {"category_code": "06010", "organisation_id": org.pk}
    assert admin.post("/api/grid/config/rules/", body, format="json").status_code == 201
    before = state()
    again = admin.post("/api/grid/config/rules/", body, format="json")
    assert again.status_code == 400 and again.json()["field"] == "category_code"
    assert state() == before


def test_publishing_an_unchanged_draft_is_refused(api):
    admin = api("admin")
    admin.patch("/api/grid/config/categories/06010/", {"dispatch_hours": 0.5}, format="json")
    same = CategoryLimits.objects.get(version__number=1, category__code="06010").dispatch_hours
    admin.patch("/api/grid/config/categories/06010/", {"dispatch_hours": same}, format="json")
    before = state()
    response = admin.post("/api/grid/config/publish/", {"note": "nothing"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "draft"
    assert state() == before


@pytest.mark.parametrize("user", ["griddispatcher", "leader", "inspector"])
def test_only_the_administrator_writes(api, user):
    client = api(user)
    org = Organisation.objects.order_by("code").first()
    before = state()
    writes = [
        client.patch("/api/grid/config/categories/06010/", {"handling_limit": 3}, format="json"),
        client.post("/api/grid/config/rules/", {"department_type": "gas", "organisation_id": org.pk}, format="json"),
        client.post("/api/grid/config/publish/", {"note": "x"}, format="json"),
        client.delete("/api/grid/config/draft/"),
    ]
    assert [w.status_code for w in writes] == [403] * 4
    assert state() == before
    reads = client.get("/api/grid/config/versions/").status_code
    assert reads == (403 if user == "inspector" else 200)


def test_once_versioned_the_django_admin_no_longer_edits_limits_or_responsibilities(api, user_for):
    from django.test import Client

    browser = Client()
    browser.force_login(user_for("admin"))
    category = Category.objects.get(code=CODE)
    form = browser.get(f"/admin/grid/category/{category.pk}/change/")
    assert form.status_code == 200 and b'name="handling_limit"' in form.content
    assert b'name="callback_required"' in form.content
    assert b'name="form-0-active"' in browser.get("/admin/grid/category/").content  # the list's 'active' box
    assert api("admin").post("/api/grid/config/draft/").status_code == 201
    form = browser.get(f"/admin/grid/category/{category.pk}/change/")
    assert form.status_code == 200 and b'name="handling_limit"' not in form.content
    assert b'name="callback_required"' not in form.content and b'name="department_type"' not in form.content
    assert b'name="form-0-active"' not in browser.get("/admin/grid/category/").content
    assert browser.get("/admin/grid/responsibility/add/").status_code == 403


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/grid/config/diff/?from=%C2%B2&to=1", "from"),
        ("/api/grid/config/diff/?from=1&to=99999999999", "to"),
        ("/api/grid/config/rules/?version=draft", "version"),
    ],
)
def test_bad_version_references_are_refused_naming_the_parameter(api, url, field):
    admin = api("admin")
    assert admin.post("/api/grid/config/draft/").status_code == 201  # version 1 and a draft exist
    assert admin.delete("/api/grid/config/draft/").status_code == 204
    response = admin.get(url)
    assert response.status_code == 400 and response.json()["field"] == field


def test_a_rule_id_out_of_range_is_refused(api):
    admin = api("admin")
    assert admin.post("/api/grid/config/draft/").status_code == 201
    response = admin.delete(f"/api/grid/config/rules/{10**25}/")
    assert response.status_code == 400 and response.json()["field"] == "rule"


def test_a_bad_setting_opens_no_draft(api):
    admin = api("admin")
    before = state()
    response = admin.patch("/api/grid/config/categories/06010/", {"active": "yes"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "active"
    assert state() == before and not ConfigVersion.objects.exists()  # not even the baseline


SETTINGS = {
    "department_type": "gas",
    "callback_required": True,
    "duplicate_radius_m": 1000,  # the largest allowed
    "duplicate_window_hours": 720,
    "active": False,
}


def test_settings_are_in_the_draft_the_diff_and_the_category_after_publishing(
    api, spot, django_capture_on_commit_callbacks
):
    admin = api("admin")
    category = Category.objects.get(code=CODE)
    old = {f: getattr(category, f) for f in SETTINGS}
    assert old["department_type"] == "sanitation" and old["active"] and not old["callback_required"]
    nearby = report(api, north(spot, 200))
    duplicates = f"/api/grid/cases/duplicates/?category_code={CODE}&lon={spot.x}&lat={spot.y}"
    assert api("calltaker").get(duplicates).json()["features"] == []  # 200 m: beyond the 50 m of the category

    edited = admin.patch(f"/api/grid/config/categories/{CODE}/", SETTINGS, format="json")
    assert edited.status_code == 200, edited.content
    assert {f: edited.json()[f] for f in SETTINGS} == SETTINGS
    row = next(c for c in admin.get("/api/grid/config/categories/").json()["categories"] if c["code"] == CODE)
    assert {f: row["limits"][f] for f in SETTINGS} == old  # new cases still get these until published
    assert {f: row["draft"][f] for f in SETTINGS} == SETTINGS
    diff = admin.get("/api/grid/config/diff/?from=1&to=draft").json()
    assert [(c["code"], c["field"], c["from"], c["to"]) for c in diff["limits"]] == [
        (CODE, f, old[f], SETTINGS[f]) for f in ROW_FIELDS if f in SETTINGS
    ]
    category.refresh_from_db()
    assert {f: getattr(category, f) for f in SETTINGS} == old  # the draft is not written back

    publish(api, django_capture_on_commit_callbacks)
    category.refresh_from_db()
    assert {f: getattr(category, f) for f in SETTINGS} == SETTINGS
    audit = AuditEntry.objects.get(action="grid.config.publish")
    assert "0 limit(s), 5 setting(s), 0 rule(s)" in audit.summary
    # intake follows the newest version: no new report under an inactive category, ...
    body = {"category_code": CODE, "lon": spot.x, "lat": spot.y}
    refused = api("inspector").post("/api/grid/cases/", body, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "category_code"
    assert api("calltaker").get(f"/api/grid/categories/?q={CODE}").json() == []
    # ... but the configuration screen lists it, so it can be re-activated
    row = next(c for c in admin.get("/api/grid/config/categories/").json()["categories"] if c["code"] == CODE)
    assert row["limits"]["active"] is False and row["draft"] is None
    admin.patch(f"/api/grid/config/categories/{CODE}/", {"active": True}, format="json")
    publish(api, django_capture_on_commit_callbacks)
    assert report(api, spot).config_version.number == 3
    # ... and the duplicate check uses the published radius (1000 m)
    found = api("calltaker").get(duplicates).json()["features"]
    assert nearby.pk in [f["id"] for f in found]


def test_a_published_call_back_rule_applies_to_cases_filed_afterwards_only(
    api, spot, django_capture_on_commit_callbacks
):
    before = verified_case(api, spot, reporter="inspector", category=CODE)  # an inspector's report: no call-back
    admin = api("admin")
    assert (
        admin.patch(f"/api/grid/config/categories/{CODE}/", {"callback_required": True}, format="json").status_code
        == 200
    )
    publish(api, django_capture_on_commit_callbacks)
    after = verified_case(api, spot, reporter="inspector", category=CODE)

    refused = api("leader").post(f"/api/grid/cases/{after}/actions/close/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["error"] == "callback_required"
    assert api("leader").get(f"/api/grid/cases/{after}/").json()["properties"]["needs_callback"] is True
    closed = api("leader").post(f"/api/grid/cases/{before}/actions/close/", {}, format="json")
    assert closed.status_code == 200, closed.content  # filed under version 1, without the call-back rule


def test_a_published_department_type_routes_cases_filed_afterwards_only(api, spot, django_capture_on_commit_callbacks):
    before = act(api, report(api, spot), "leader", "file")
    admin = api("admin")
    assert (
        admin.patch(f"/api/grid/config/categories/{CODE}/", {"department_type": "gas"}, format="json").status_code
        == 200
    )
    publish(api, django_capture_on_commit_callbacks)
    after = act(api, report(api, spot), "leader", "file")

    # dispatched without naming a department: the responsible one of each case's own version
    assert act(api, after, "griddispatcher", "dispatch").department.code == "SZ-GAS"
    assert act(api, before, "griddispatcher", "dispatch").department.code == "SZ-URBAN"  # sanitation in version 1
