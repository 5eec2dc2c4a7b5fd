"""`manage.py import_duty_roster roster.csv`: the roster API's import from the command line (all rows or none)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import InputError, Refusal
from duty import services


class Command(BaseCommand):
    help = "Import a duty roster CSV (desk,date,shift,username,role); bad rows are listed and nothing is stored."

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path)

    def handle(self, *args, csv: Path, **options):
        try:
            result = services.import_roster(None, services.decode_roster(csv.read_bytes()))
        except Refusal as exc:
            lines = [f"line {e['line']}: {e['field']}: {e['detail']}" for e in exc.extra.get("errors", [])]
            raise CommandError("\n".join([exc.detail, *lines])) from None
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from None
        self.stdout.write(self.style.SUCCESS(f"imported {result['rows']} roster rows for {result['shifts']} shifts"))
