"""The hotline caller (name, phone, whether they want a call-back) goes with a report as ``reporter_contact``: kept
on the case for the call-back (回访) and the merge notice, shown to the centre in the case's detail, refused with
a 400 naming the key when it is not a caller."""

import json

import pytest

from grid.models import Case
from tests.grid.test_cases_api import counts, jpeg, report_body

pytestmark = pytest.mark.django_db


def test_a_hotline_report_keeps_its_caller_for_the_call_back(api, spot):
    caller = {"name": " 王女士 ", "phone": "138 0013 8000", "callback": True}
    body = report_body(spot, channel="hotline", reporter_contact=json.dumps(caller), photo=jpeg())
    body["location"] = json.dumps(body["location"])
    answer = api("gridclerk").post("/api/grid/cases/", body, format="multipart")
    assert answer.status_code == 201, answer.content
    case = Case.objects.get(pk=answer.json()["id"])
    assert case.reporter_contact == {"name": "王女士", "phone": "138 0013 8000", "callback": True}
    assert "phone" not in json.dumps(answer.json()["properties"])  # the published feature carries no phone
    assert api("gridclerk").get(f"/api/grid/cases/{case.pk}/").json()["caller"]["phone"] == "138 0013 8000"
    assert "caller" not in api("depthandler").get(f"/api/grid/cases/{case.pk}/").json()


@pytest.mark.parametrize(
    ("caller", "field"),
    [
        ({"phone": "call me maybe"}, "reporter_contact.phone"),
        ({"phone": "1" * 25}, "reporter_contact.phone"),
        ({"name": "王" * 51}, "reporter_contact.name"),
        ({"name": 42}, "reporter_contact.name"),
        ({"callback": "yes"}, "reporter_contact.callback"),
        ({"email": "a@b.cn"}, "reporter_contact.email"),
        ("王女士", "reporter_contact"),
    ],
)
def test_a_bad_caller_is_a_400_naming_the_key_and_files_nothing(api, spot, caller, field):
    before = counts()
    body = report_body(spot, channel="hotline", reporter_contact=caller)
    answer = api("gridclerk").post("/api/grid/cases/", body, format="json")
    assert answer.status_code == 400 and answer.json()["field"] == field, answer.content
    assert counts() == before
