"""OGC API - Features items throughput of CityOps (features/s and pages/s), paging a whole layer with and without
a CQL2 filter.

Run:  .venv/bin/python bench/bench_ogcapi.py [--scale city] [--layer roads] [--limit 1000] [--rounds 3]

The issue asks for a comparison with pygeoapi serving the same PostGIS table in the same run. pygeoapi is not
installed on this machine (and may not be installed here), so that peer comparison is BLOCKED: this script
prints CityOps' own figures and says so. Requests go through the whole Django stack in-process (test client).
"""

import argparse
import importlib.util
import os
import platform
import statistics
import time
from urllib.parse import urlsplit

from benchdb import prepare_database

FILTERS = {"all": None, "cql2": "road_class IN ('arterial','secondary') AND lanes >= 4"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="city", choices=["small", "city", "metro"])
    parser.add_argument("--layer", default="roads")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    prepare_database()
    os.environ.setdefault("CITYOPS_DB_CONN_MAX_AGE", "600")  # persistent connections, as a deployment runs
    import django

    django.setup()
    from django.test import Client

    from core.management.commands.load_demo_city import load_demo_city
    from core.models import AdminArea, User

    if not AdminArea.objects.exists():
        print(f"loading the {args.scale} demo city into cityops_bench …")
        load_demo_city(args.scale)
    client = Client()
    client.force_login(User.objects.get(username="planner"))
    machine = f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    print(f"# OGC API bench: {machine}, layer {args.layer}")

    def page_through(cql: str | None) -> tuple[int, int]:
        params = {"limit": args.limit}
        if cql:
            params["filter"] = cql
        url, features, pages = f"/ogcapi/collections/{args.layer}/items", 0, 0
        while url:
            response = client.get(url, params)
            assert response.status_code == 200, response.content[:300]
            body = response.json()
            features += body["numberReturned"]
            pages += 1
            nxt = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
            url, params = (None, None) if nxt is None else (urlsplit(nxt).path + "?" + urlsplit(nxt).query, None)
        return features, pages

    for name, cql in FILTERS.items():
        page_through(cql)
        runs = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            features, pages = page_through(cql)
            runs.append(time.perf_counter() - started)
        seconds = statistics.median(runs)
        print(
            f"{name:5s}: {features} features in {pages} pages of ≤{args.limit}: "
            f"{features / seconds:9.0f} features/s, {pages / seconds:6.1f} pages/s"
        )
    if importlib.util.find_spec("pygeoapi") is None:
        print("peer: pygeoapi is not installed here (and may not be installed) → the pygeoapi comparison is BLOCKED")


if __name__ == "__main__":
    main()
