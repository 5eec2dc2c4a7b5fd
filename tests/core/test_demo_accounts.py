"""The run command prints every app's demo accounts, so a visitor can sign in to every console."""

from io import StringIO

import pytest
from django.core.management import call_command

from core.management.commands.list_demo_accounts import demo_accounts


@pytest.mark.django_db
def test_every_apps_demo_accounts_are_listed(demo_city):
    out = StringIO()
    call_command("list_demo_accounts", stdout=out)
    listed = {line.split()[0] for line in out.getvalue().splitlines()}
    assert {"operator", "gridclerk", "dispatcher119"} <= listed
    assert listed == {username for username, *_ in demo_accounts()}
