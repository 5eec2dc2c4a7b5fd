"""`manage.py import_inp FILE --network CODE [--georef EPSG:xxxx | --offset-x X --offset-y Y --scale S]`."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core import uploads
from core.errors import InputError
from core.models import Organisation
from pipelines_mgmt import services
from pipelines_mgmt.importers import Georef
from pipelines_mgmt.models import Node, Pipe, Utility, Valve

# Who owns an imported network when --owner is not given (the demo city's utilities).
DEFAULT_OWNER = {Utility.WATER: "SZ-WATER-GROUP", Utility.GAS: "SZ-GAS"}


def owner_of(opts) -> Organisation:
    """The organisation named by --owner, else the utility's default owner (the network import commands')."""
    owner_code = opts["owner"] or DEFAULT_OWNER.get(opts["utility"])
    owner = Organisation.objects.filter(code=owner_code).first() if owner_code else None
    if owner is None:
        raise CommandError(f"unknown owner organisation {owner_code!r}; give --owner CODE")
    return owner


@contextmanager
def progress_bar() -> Iterator[Callable[[int, int], None]]:
    """A `progress(done, total)` for an import service, drawn as a tqdm bar (not on a terminal: none)."""
    with tqdm(desc="writing", unit="row", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


class Command(BaseCommand):
    help = "Import an EPANET .inp model as a new pipe network (one transaction: all of it or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--network", required=True, help="code of the new network (letters, digits, -)")
        parser.add_argument("--name", help="display name (default: the code)")
        parser.add_argument("--utility", choices=Utility.values, default=Utility.WATER)
        parser.add_argument("--owner", help="organisation code of the owner")
        parser.add_argument("--georef", help="the CRS of the model's coordinates, e.g. EPSG:4547")
        parser.add_argument("--offset-x", type=float, help="metric-CRS x of the model's origin")
        parser.add_argument("--offset-y", type=float, help="metric-CRS y of the model's origin")
        parser.add_argument("--scale", type=float, default=1.0, help="metres per model unit (default 1)")
        parser.add_argument(
            "--valve-layer",
            choices=["strategic", "random"],
            help="generate isolation valves with WNTR's generate_valve_layer (the .inp format has none)",
        )
        parser.add_argument("--valve-n", type=int, default=1, help="strategic: N-n rule; random: number of valves")
        parser.add_argument("--seed", type=int, default=123, help="seed of the generated valve layer")

    def handle(self, *args, **opts):
        started = time.perf_counter()
        georef = self._georef(opts)
        owner = owner_of(opts)
        try:
            with uploads.local_file(opts["file"]) as file, progress_bar() as progress:
                network = services.import_epanet(
                    None,
                    file,
                    code=opts["network"],
                    name=opts["name"] or opts["network"],
                    utility=opts["utility"],
                    owner=owner,
                    georef=georef,
                    valves=(opts["valve_layer"], opts["valve_n"], opts["seed"]) if opts["valve_layer"] else None,
                    progress=progress,
                )
        except InputError as exc:
            raise CommandError(f"{exc}; nothing was imported") from exc
        counts = {
            "nodes": Node.objects.filter(network=network).count(),
            "pipes": Pipe.objects.filter(network=network).count(),
            "valves": Valve.objects.filter(pipe__network=network).count(),
        }
        self.stdout.write(
            self.style.SUCCESS(f"imported {network.code}: {counts} in {time.perf_counter() - started:.2f} s")
        )

    @staticmethod
    def _georef(opts) -> Georef:
        offsets = (opts["offset_x"], opts["offset_y"])
        if opts["georef"]:
            if any(value is not None for value in offsets):
                raise CommandError("give either --georef or --offset-x/--offset-y, not both")
            text = opts["georef"].strip().upper()
            if not text.startswith("EPSG:") or not text[5:].isdigit():
                raise CommandError(f"--georef must look like EPSG:4547, not {opts['georef']!r}")
            return Georef(epsg=int(text[5:]))
        if None in offsets:
            raise CommandError(
                "the model's coordinates need a georeference: --georef EPSG:xxxx or --offset-x and --offset-y"
            )
        if opts["scale"] <= 0:
            raise CommandError("--scale must be positive")
        return Georef(offset_x=offsets[0], offset_y=offsets[1], scale=opts["scale"])
