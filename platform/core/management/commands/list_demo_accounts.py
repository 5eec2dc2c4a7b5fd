"""Prints the demo accounts that exist in this database (the run command shows them)."""

from django.core.management.base import BaseCommand

from core.demo import DEMO_ACCOUNTS
from core.models import User


class Command(BaseCommand):
    help = "List the demo accounts (one per role) present in the database."

    def handle(self, *args, **options):
        present = set(
            User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS]).values_list("username", flat=True)
        )
        for username, role, _org_code, full_name in DEMO_ACCOUNTS:
            if username in present:
                self.stdout.write(f"    {username:<16} {role:<20} {full_name}")
