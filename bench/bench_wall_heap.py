"""Command wall soak: its JS heap after minutes at full update rate against its size at start.

Run after `bin/cityops setup`:  .venv/bin/python bench/bench_wall_heap.py [--minutes 10] [--vehicles 1000]

A real uvicorn serves the wall from its own database `cityops_bench` (created, migrated and given the small
demo city here); Debian's Chromium shows /wall/ at 1920×1080 as the demo operator. This process drives the
wall at the rate a busy city would: every second a position for each of `--vehicles` moving units (the
demo fleet plus synthetic units, sent on the channel layer the way the GPS ingest does), and `--events`
incident events per second through the event log (created, updated with units, closed after
`--incident-life` seconds, so that about events × life / 3 incidents are open at any time), plus alarms
when the platform has an alarms topic.

The heap is read over CDP after a forced garbage collection (HeapProfiler.collectGarbage, then
Runtime.getHeapUsage): once when the wall is warm (all units drawn, incidents at their steady count),
every minute, and at the end. DOM nodes and JS event listeners (Performance.getMetrics) are printed beside
it: a leak of elements or listeners shows there first. Target: under 20% heap growth.
"""

import argparse
import math
import sys
import threading
import time

import benchdb
import numpy as np
from benchdb import BASE_URL, ROOT, setup_demo_city

TARGET_GROWTH = 0.20
STATUSES = ["available", "available", "en_route", "on_scene"]


class Load:
    """The update stream, on its own thread: positions every second, incident and alarm events in between."""

    def __init__(self, vehicles: int, events_per_s: float, incident_life_s: float):
        from django.db.models import Max

        from core.models import AdminArea
        from dispatch.models import Vehicle

        self.events_per_s = events_per_s
        self.incident_life_s = incident_life_s
        self.stop = threading.Event()
        self.sent_positions = 0
        self.sent_events = 0
        real = list(Vehicle.objects.select_related("agency").values_list("pk", "call_sign", "kind", "agency__agency"))
        next_id = (Vehicle.objects.aggregate(m=Max("pk"))["m"] or 0) + 1_000_000
        kinds = [("110", "police_car"), ("119", "fire_engine"), ("120", "ambulance"), ("122", "traffic_car")]
        while len(real) < vehicles:
            agency, kind = kinds[len(real) % 4]
            real.append((next_id, f"SIM-{next_id}", kind, agency))
            next_id += 1
        self.rng = np.random.default_rng(7)
        # Units and incidents spread over the demo city, where the wall's map is looking.
        self.extent = AdminArea.objects.get(level=AdminArea.Level.CITY).geom.extent
        self.units = [
            {
                "id": pk,
                "call_sign": call_sign,
                "kind": kind,
                "agency": agency or "",
                "x": self.extent[0] + self.rng.random() * (self.extent[2] - self.extent[0]),
                "y": self.extent[1] + self.rng.random() * (self.extent[3] - self.extent[1]),
                "heading": int(self.rng.integers(360)),
            }
            for pk, call_sign, kind, agency in real[:vehicles]
        ]

    def positions(self) -> list[dict]:
        from django.utils import timezone

        now = timezone.now().isoformat()
        features = []
        for unit in self.units:
            unit["heading"] = (unit["heading"] + int(self.rng.integers(-20, 21))) % 360
            rad = math.radians(unit["heading"])
            unit["x"] = min(self.extent[2], max(self.extent[0], unit["x"] + 0.0001 * math.sin(rad)))
            unit["y"] = min(self.extent[3], max(self.extent[1], unit["y"] + 0.0001 * math.cos(rad)))
            features.append(
                {
                    "type": "Feature",
                    "id": unit["id"],
                    "geometry": {"type": "Point", "coordinates": [unit["x"], unit["y"]]},
                    "properties": {
                        "call_sign": unit["call_sign"],
                        "kind": unit["kind"],
                        "agency": unit["agency"],
                        "agency_id": None,
                        "status": STATUSES[int(self.rng.integers(len(STATUSES)))],
                        "speed_kmh": 40.0,
                        "heading": unit["heading"],
                        "fix_time": now,
                    },
                }
            )
        return features

    def incident(self, number: int, status: str) -> dict:
        rng = np.random.default_rng(number)
        agencies = [str(a) for a in rng.choice([110, 119, 120, 122], int(rng.integers(1, 4)), replace=False)]
        unit = self.units[number % len(self.units)]
        x0, y0, x1, y1 = self.extent
        x, y = x0 + rng.random() * (x1 - x0), y0 + rng.random() * (y1 - y0)
        return {
            "type": "Feature",
            "id": 10_000_000 + number,
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {
                "id": 10_000_000 + number,
                "number": f"BENCH-{number:07d}",
                "type_code": "bench",
                "type_label": "压测警情",
                "agencies": agencies,
                "priority": int(rng.integers(1, 5)),
                "status": status,
                "address": f"压测路 {number} 号",
                "description": "",
                "caller_number": "",
                "district": None,
                "times": {"call_received": None, "created": None},
                "assignments": []
                if status == "received"
                else [
                    {
                        "id": number,
                        "vehicle_id": unit["id"],
                        "call_sign": unit["call_sign"],
                        "kind": unit["kind"],
                        "agency": unit["agency"],
                        "status": "en_route",
                        "eta_s": 300,
                    }
                ],
            },
        }

    def run(self) -> None:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer
        from django.contrib.gis.geos import Point
        from django.db import connection

        from core.events import publish
        from core.realtime import TOPIC_ROLES, VEHICLE_GROUP
        from dispatch.tracks import vehicles_message

        layer = get_channel_layer()
        alarms = "alarms" in TOPIC_ROLES
        open_incidents: list[tuple[float, int]] = []
        number = 0
        next_positions = time.monotonic()
        gap = 1.0 / self.events_per_s
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if now >= next_positions:
                    async_to_sync(layer.group_send)(VEHICLE_GROUP, vehicles_message(self.positions()))
                    self.sent_positions += len(self.units)
                    next_positions += 1.0
                # One event per gap, in turn: a new incident, an update with a unit, a closure when due.
                if open_incidents and now - open_incidents[0][0] > self.incident_life_s:
                    _, closing = open_incidents.pop(0)
                    data, kind = self.incident(closing, "closed"), "incident.closed"
                elif number % 2 and open_incidents:
                    data, kind = self.incident(open_incidents[-1][1], "dispatched"), "incident.updated"
                    number += 1
                else:
                    number += 1
                    open_incidents.append((now, number))
                    data, kind = self.incident(number, "received"), "incident.created"
                publish("incidents", kind, data, geom=Point(*data["geometry"]["coordinates"], srid=4326))
                self.sent_events += 1
                if alarms and number % 10 == 0:
                    unit = self.units[number % len(self.units)]
                    alarm = {
                        "type": "Feature",
                        "id": number,
                        "geometry": {"type": "Point", "coordinates": [unit["x"], unit["y"]]},
                        "properties": {
                            "id": number,
                            "call_sign": unit["call_sign"],
                            "kind": "speeding",
                            "kind_label": "超速",
                            "message": "bench",
                            "at": None,
                            "cleared_at": None,
                        },
                    }
                    publish("alarms", "alarm.raised", alarm)
                    self.sent_events += 1
                time.sleep(max(0.0, gap - (time.monotonic() - now)))
        finally:
            connection.close()


def measure(cdp) -> dict:
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {"heap": heap["usedSize"], "nodes": metrics.get("Nodes", 0), "listeners": metrics.get("JSEventListeners", 0)}


def show(label: str, sample: dict) -> None:
    print(
        f"{label:>14}: JS heap {sample['heap'] / 1e6:7.2f} MB, DOM nodes {sample['nodes']:6.0f},"
        f" JS event listeners {sample['listeners']:5.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--vehicles", type=int, default=1000, help="moving units, one position each per second")
    parser.add_argument("--events", type=float, default=5, help="incident events per second")
    parser.add_argument("--incident-life", type=float, default=60, help="seconds before a bench incident closes")
    parser.add_argument("--warmup", type=float, default=90, help="seconds of load before the start figure")
    args = parser.parse_args()

    setup_demo_city("small")
    from django.conf import settings

    from core.models import Event

    Event.objects.all().delete()

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

    port = benchdb.free_port()
    server = benchdb.start(
        [sys.executable, "-m", "uvicorn", "cityops.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        port,
        log=ROOT / "var" / "log" / "bench-wall-asgi.log",
    )
    base = f"http://127.0.0.1:{port}"
    load = Load(args.vehicles, args.events, args.incident_life)
    feeder = threading.Thread(target=load.run, daemon=True)
    print(f"database {BASE_URL.rsplit('/', 1)[0]}/cityops_bench, wall at {base}/wall/ (1920×1080)")
    print(
        f"load: {len(load.units)} units × 1 position/s, {args.events:g} incident events/s"
        f" (life {args.incident_life:g} s), soak {args.minutes:g} min after {args.warmup:g} s warm-up",
        flush=True,
    )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080}).new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/login/")
            page.fill("#id_username", "operator")
            page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
            page.click("form.login-card button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/wall/")
            page.wait_for_function("document.body.dataset.mapReady === '1'", timeout=120_000)
            page.wait_for_function("document.querySelector('#live-pill').dataset.state === 'live'", timeout=60_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            show("page ready", measure(cdp))

            feeder.start()
            time.sleep(args.warmup)
            start = measure(cdp)
            show("start (warm)", start)
            drawn = page.evaluate("[window.cityopsWall.vehicles.size, window.cityopsWall.incidents.size]")
            print(f"{'':>14}  units held {drawn[0]}, open incidents held {drawn[1]}", flush=True)
            began = time.monotonic()
            minute = 1
            while (elapsed := time.monotonic() - began) < args.minutes * 60:
                time.sleep(min(60 * minute - elapsed, args.minutes * 60 - elapsed, 60))
                if time.monotonic() - began >= 60 * minute - 0.5 and minute < args.minutes:
                    show(f"minute {minute}", measure(cdp))
                    minute += 1
            end = measure(cdp)
            show("end", end)
            drawn = page.evaluate("[window.cityopsWall.vehicles.size, window.cityopsWall.incidents.size]")
            state = page.evaluate("document.querySelector('#live-pill').dataset.state")
            browser.close()
    finally:
        load.stop.set()
        server.terminate()
        server.wait(timeout=10)

    growth = (end["heap"] - start["heap"]) / start["heap"]
    minutes = args.minutes
    print(f"{'':>14}  units held {drawn[0]}, open incidents held {drawn[1]}, feed {state}")
    print(f"sent: {load.sent_positions:,} positions, {load.sent_events:,} events in {minutes:g} min + warm-up")
    print(
        f"JS heap growth over {minutes:g} min: {growth * 100:+.1f}%"
        f" ({start['heap'] / 1e6:.2f} → {end['heap'] / 1e6:.2f} MB; target < {TARGET_GROWTH * 100:.0f}%)"
        f" — {'PASS' if growth < TARGET_GROWTH else 'FAIL'}"
    )
    print(
        f"DOM nodes {start['nodes']:.0f} → {end['nodes']:.0f},"
        f" listeners {start['listeners']:.0f} → {end['listeners']:.0f}"
    )
    if errors:
        print(f"page errors: {errors[:5]}")


if __name__ == "__main__":
    main()
