"""`manage.py run_import KIND FILE [field=value ...] [--no-wait]`: queue an import for the background workers
(`manage.py procrastinate worker`, run by bin/cityops) and follow it with a progress bar; Ctrl-C cancels it."""

import contextlib
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core import jobs, uploads
from core.errors import InputError, Refusal

POLL_S = 0.1


class Command(BaseCommand):
    help = "Import a file as a background job and show its progress."

    def add_arguments(self, parser):
        kinds = jobs.IMPORT_KINDS.values()  # registered by the apps that own them
        parser.add_argument("kind", choices=[kind.name for kind in kinds])
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "fields",
            nargs="*",
            metavar="field=value",
            help="the import's options, as in the import screen: "
            + "; ".join(f"{kind.name} {' '.join(f'{field.name}=' for field in kind.fields)}" for kind in kinds),
        )
        parser.add_argument("--no-wait", action="store_true", help="queue it, print its number and return")

    def handle(self, *args, kind, file, fields, no_wait, **options):
        pairs = [field.partition("=") for field in fields]
        if any(not sep for _, sep, _ in pairs):
            raise CommandError("options are given as field=value")
        try:
            with uploads.local_file(file) as upload:
                job = jobs.start_import(kind, None, upload, {name: value for name, _, value in pairs})
        except InputError as exc:
            raise CommandError(f"{exc.field}: {exc.detail}") from None
        self.stdout.write(f"job {job.pk}: {job.title}")
        if no_wait:
            return
        described = self._follow(job.pk)
        if described["state"] != "succeeded":
            raise CommandError(f"job {job.pk} {described['state']}: {described['error'] or 'nothing was imported'}")
        self.stdout.write(self.style.SUCCESS(f"job {job.pk} done: {described['result']}"))

    def _follow(self, job_id: int) -> dict:
        """A bar that follows the job's row until the job ends; the first Ctrl-C asks the job to stop."""
        with tqdm(file=self.stdout, unit="", dynamic_ncols=True, mininterval=0) as bar:
            while True:
                try:
                    described = jobs.describe(jobs.followed().get(pk=job_id))
                    bar.total = described["total"]
                    bar.set_description_str(described["stage_label"], refresh=False)
                    bar.n = described["done"]
                    bar.refresh()
                    if described["finished"]:
                        return described
                    time.sleep(POLL_S)
                except KeyboardInterrupt:
                    self.stderr.write("cancelling: the import stops at its next step and writes nothing")
                    with contextlib.suppress(Refusal):  # it ended meanwhile: the next poll shows how
                        jobs.cancel(jobs.followed().get(pk=job_id))
