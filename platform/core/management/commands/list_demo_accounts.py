"""Prints the demo accounts that exist in this database (the run command shows them)."""

from django.core.management.base import BaseCommand

from core.management.commands.load_demo_city import demo_modules
from core.models import User


def demo_accounts() -> list[tuple]:
    """(username, role, organisation code, full name) of every app's demo module that declares accounts."""
    accounts = []
    for module in demo_modules():
        accounts += getattr(module, "DEMO_ACCOUNTS", None) or getattr(module, "ACCOUNTS", [])
    return accounts


class Command(BaseCommand):
    help = "List the demo accounts present in the database."

    def handle(self, *args, **options):
        accounts = demo_accounts()
        present = set(User.objects.filter(username__in=[a[0] for a in accounts]).values_list("username", flat=True))
        for username, role, _org_code, full_name in accounts:
            if username in present:
                self.stdout.write(f"    {username:<16} {role:<20} {full_name}")
