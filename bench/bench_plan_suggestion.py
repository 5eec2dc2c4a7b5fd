"""Response-plan suggestion and activation for one incident with 1,000 plans stored.

Run:  .venv/bin/python bench/bench_plan_suggestion.py [--plans 1000] [--incidents 30]

On the bench database with the small demo city: stores `--plans` current plans (every incident type, city-wide,
per district, with drawn zones and hours of the day, four levels each) through the same service as the API, then
for each of `--incidents` gas-leak calls beside a gas main (each opens its pipeline repair order, so the facts
include the isolation's customers, and the population raster is read) times:
  suggestion  emergency.selectors.suggestion: the candidate query, the choice, the facts, the grading;
  activation  emergency.services.activate: the activation row, level history, checklist, run card, agencies,
              timeline and the live event, in one transaction.
Target (issue 18): suggestion + activation under 100 ms. Everything created is deleted at the end.
"""

import argparse
import os
import platform
import statistics
import time

import benchdb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=30)
    args = parser.parse_args()
    benchdb.setup_demo_city("small")

    from datetime import time as clock

    from django.contrib.gis.geos import MultiPolygon

    from core import hooks
    from core.models import AdminArea, User
    from dispatch import services as dispatch_services
    from dispatch.models import Incident, IncidentType
    from emergency import selectors, services
    from emergency.demo import GAS
    from emergency.models import Activation, ResponsePlan
    from pipelines_mgmt.models import Pipe, Utility

    print(f"# plan suggestion bench: Python {platform.python_version()}, {os.cpu_count()} CPUs")
    admin = User.objects.get(username="admin")
    operator = User.objects.get(username="operator")
    calltaker = User.objects.get(username="calltaker")
    types = list(IncidentType.objects.order_by("code"))
    districts = list(AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).order_by("code"))
    started = time.perf_counter()
    for n in range(args.plans):
        incident_type, district = types[n % len(types)], districts[n % len(districts)]
        scope = n % 4  # city-wide, district, district at night, a drawn zone in the district
        zone = MultiPolygon(district.geom.envelope.buffer(-0.002), srid=4326) if scope == 3 else None
        services.save_plan(
            admin,
            code=f"bench-{n:05d}",
            name=f"压测预案 {n}",
            incident_type=incident_type,
            levels=GAS if incident_type.code == "119-GAS-LEAK" else [{"level": 4}, {"level": 3}],
            district=district if scope else None,
            zone=zone,
            hours=(clock(20), clock(8)) if scope == 2 else None,
            rank=n % 7,
        )
    print(f"stored {args.plans} plans in {time.perf_counter() - started:.1f} s "
          f"({ResponsePlan.objects.filter(current=True).count()} current in all)")  # fmt: skip

    gas = IncidentType.objects.get(code="119-GAS-LEAK")
    city = AdminArea.objects.get(level=AdminArea.Level.CITY).geom.buffer(-0.002)  # calls well inside the boundary
    gas_mains = Pipe.objects.filter(network__utility=Utility.GAS, link_type=Pipe.LinkType.PIPE, geom__within=city)
    pipes = list(gas_mains.order_by("pk"))
    suggest_ms, activate_ms, both_ms, created = [], [], [], []
    opened = []
    hooks.incident_opened.connect(opened.append)  # to see that each call's repair order opened
    for n in range(args.incidents):
        middle = pipes[(n * 37) % len(pipes)].geom.interpolate_normalized(0.5)
        middle.x += 0.0001
        incident = dispatch_services.create_incident(calltaker, incident_type=gas, point=middle, confirm_new=True)
        created.append(incident.pk)
        t0 = time.perf_counter()
        suggestion = selectors.suggestion(incident)
        t1 = time.perf_counter()
        plan = ResponsePlan.objects.get(pk=suggestion["plan"]["id"])
        services.activate(operator, incident, plan=plan, level=suggestion["level"], reason="bench")
        t2 = time.perf_counter()
        suggest_ms.append((t1 - t0) * 1000)
        activate_ms.append((t2 - t1) * 1000)
        both_ms.append((t2 - t0) * 1000)
        if n == 0:
            print(f"first suggestion: plan {suggestion['plan']['code']} v{suggestion['plan']['version']}, "
                  f"level {suggestion['level']}, facts {suggestion['facts']}")  # fmt: skip

    def line(name: str, values: list[float]) -> str:
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        return f"{name:<22} p50 {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms   max {values[-1]:6.1f} ms"

    print(f"{args.incidents} incidents, {len(opened)} repair orders' hooks seen")
    print(line("suggestion", suggest_ms))
    print(line("activation", activate_ms))
    print(line("suggestion+activation", both_ms))
    print("target: suggestion + activation < 100 ms")

    Activation.objects.filter(plan__code__startswith="bench-").delete()
    Incident.objects.filter(pk__in=created).delete()
    ResponsePlan.objects.filter(code__startswith="bench-").delete()


if __name__ == "__main__":
    main()
