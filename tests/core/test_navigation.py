"""The main menu links only to consoles that are mounted and that the user's roles may open."""

import pytest
from django.contrib import admin
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from core.navigation import CONSOLES, GROUPS


def _page(request):
    return HttpResponse("console")


# Only two consoles are mounted here, whatever the real site serves.
urlpatterns = [
    path("wall/", _page),
    path("planner/", _page),
    path("api/docs/", _page, name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("frontend.urls")),
]


def _menu_links(client: Client) -> set[str]:
    html = client.get("/").content.decode()
    return {console_path for console_path, *_ in CONSOLES if f'href="{console_path}"' in html}


@pytest.mark.django_db
@pytest.mark.urls("tests.core.test_navigation")
@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("operator", {"/wall/", "/planner/"}),
        ("calltaker", {"/wall/"}),
        ("planner", {"/planner/"}),
        ("inspector", set()),
    ],
)
def test_menu_shows_mounted_consoles_for_the_users_roles(user_for, username, expected):
    client = Client()
    client.force_login(user_for(username))
    assert _menu_links(client) == expected


@pytest.mark.django_db
def test_groups_of_several_consoles_are_drop_downs_and_a_lone_console_a_plain_link(user_for):
    client = Client()
    client.force_login(user_for("operator"))
    menu = client.get("/").context["menu"]
    groups = {group: [path for path, _label in links] for group, links in menu if group}
    assert groups[GROUPS["command"]][:2] == ["/wall/", "/dispatch/"]
    assert {"/transport/", "/replay/", "/fences/"} <= set(groups[GROUPS["fleet"]])
    assert groups[GROUPS["city"]] == ["/grid/", "/grid/wall/"]
    # the operator's only analysis console stands alone, as a plain link
    assert [[path for path, _label in links] for group, links in menu if group is None] == [["/planner/"]]
    html = client.get("/").content.decode()
    assert html.count('<details class="navgroup">') == 3
