"""`manage.py load_demo_city --scale small|city|metro`: the seeded synthetic city every module builds on.

Each installed app may ship a `demo` module with `load_demo(city, context) -> dict` (its additions
to the shared context) and `clear_demo()`; they run in INSTALLED_APPS order (clearing in reverse).
A demo module may also have `load_live(context) -> dict`: the city's present moment (incidents in
progress, a repair order, units en route, an alarm, drawn symbols), made through the apps' services.
"""

import time
from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.models import AdminArea
from data import democity


def demo_modules():
    modules = []
    for config in apps.get_app_configs():
        try:
            modules.append(import_module(f"{config.name}.demo"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
    return modules


def load_demo_city(scale: str = "small", seed: int | None = None, replace: bool = False, live: bool = False) -> dict:
    """Generate and load the demo city in one transaction, then its live state if asked; returns counts, timings."""
    started = time.perf_counter()
    city = democity.generate(scale) if seed is None else democity.generate(scale, seed)
    generated = time.perf_counter()
    modules = demo_modules()
    with transaction.atomic():
        if AdminArea.objects.exists():
            if not replace:
                raise CommandError("a city is already loaded; use --replace to replace it or --if-empty to skip")
            for module in reversed(modules):
                module.clear_demo()
        context: dict = {"scale": scale, "seed": seed}
        for module in modules:
            if hasattr(module, "load_demo"):
                context.update(module.load_demo(city, context))
    if live:
        load_live()
    return {
        "areas": len(city.areas),
        "roads": len(city.roads),
        "addresses": len(city.addresses),
        "stations": len(city.stations),
        "generate_s": round(generated - started, 2),
        "load_s": round(time.perf_counter() - generated, 2),
    }


def load_live() -> dict:
    """Each app's live state in app order, each in its own transaction, so that what the services do after
    commit (an incident opening its repair order) happens as in production before the next app looks."""
    context: dict = {}
    for module in demo_modules():
        if hasattr(module, "load_live"):
            with transaction.atomic():
                context.update(module.load_live(context))
    return context


class Command(BaseCommand):
    help = "Load the deterministic synthetic demo city (Shenzhen) and one demo account per role."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=democity.SCALES, default="city")
        parser.add_argument("--seed", type=int, help="another deterministic city (default: the demo seed)")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--replace", action="store_true", help="replace the city already loaded")
        group.add_argument("--if-empty", action="store_true", help="do nothing if a city is already loaded")
        parser.add_argument("--no-live", action="store_true", help="without incidents, alarms or drawings in progress")

    def handle(self, *args, scale, seed, replace, if_empty, no_live, **options):
        if if_empty and AdminArea.objects.exists():
            self.stdout.write("demo city already loaded; nothing to do")
            return
        stats = load_demo_city(scale, seed, replace, live=not no_live)
        self.stdout.write(self.style.SUCCESS(f"demo city '{scale}' loaded: {stats}"))
