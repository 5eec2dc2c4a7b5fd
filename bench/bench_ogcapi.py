"""OGC API - Features items/s: CityOps against pygeoapi serving the same PostGIS table, in the same run.

Run:  .venv/bin/python bench/bench_ogcapi.py [--scale city] [--layer roads] [--limit 1000] [--rounds 5]

Both are real HTTP servers on loopback with one worker, on the bench database `cityops_bench`
(bench/benchdb.py, loaded with the demo city if empty):
- CityOps: `uvicorn cityops.asgi:application` as bin/cityops starts it, signed in as the planner through the
  login form (session cookie), so every page pays for session, user and role look-ups as a browser's does;
- pygeoapi 0.21 (bench/peers/pygeoapi-requirements.txt, installed by this script into var/peers/pygeoapi/venv,
  never into .venv) with its PostgreSQL provider on the layer's table, id and property columns; under both of
  its production servers (Starlette + uvicorn, Flask + gunicorn), and the faster one is the peer figure.
One client, a keep-alive HTTP/1.1 connection per server, pages through the whole layer following `next`
links, with and without a CQL2 filter, parsing every page (a client has to, to find the next link). Each
pass checks that both return the same features (ids). Rounds alternate between the servers; medians.
Goal (issue 3): CityOps at least as fast as pygeoapi; aim for 2×. Printed too: how the CityOps server gets its
database connections (without a pool, under ASGI, each page opens a new one; pygeoapi's SQLAlchemy engine pools).
"""

import argparse
import json
import os
import platform
import statistics
import time
from urllib.parse import urlencode

from benchdb import setup_demo_city
from peers import servers

FILTERS = {"all": None, "cql2": "road_class IN ('arterial','secondary') AND lanes >= 4"}
GEOJSON = {"Accept": "application/geo+json"}


def page_through(client: servers.KeepAlive, first_url: str) -> tuple[list, int, int]:
    """(feature ids, pages, bytes) of a whole layer, following `next` links from `first_url`."""
    ids, pages, size, url = [], 0, 0, first_url
    while url:
        status, _, body = client.get(url, GEOJSON)
        assert status == 200, (status, body[:300])
        page = json.loads(body)
        ids.extend(feature["id"] for feature in page["features"])
        pages += 1
        size += len(body)
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return ids, pages, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="city", choices=["small", "city", "metro"])
    parser.add_argument("--layer", default="roads")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--peer-servers", nargs="+", default=list(servers.PYGEOAPI_SERVERS))
    args = parser.parse_args()

    setup_demo_city(args.scale, pool=True)
    from django.conf import settings
    from django.db import connection

    from gis import layers

    layer = layers.get(args.layer)
    plain = layer and all(prop.path == name for name, prop in layer.properties.items())
    if not plain or layer.base_filter or layer.annotations:
        raise SystemExit(f"{args.layer}: pygeoapi can serve only a whole table with plain columns (e.g. roads)")
    meta = layer.model._meta
    columns = [meta.get_field(prop.path).column for prop in layer.properties.values()]
    id_column, geom_column = meta.get_field(layer.id_field).column, meta.get_field(layer.geometry_field).column
    connection.close()

    def peer_config(port: int) -> dict:
        db = settings.DATABASES["default"]
        return servers.pygeoapi_config(port, db, layer.id, meta.db_table, id_column, geom_column, columns)

    running: list[servers.Server] = []
    contenders: dict[str, servers.KeepAlive] = {}
    try:
        running.append(servers.start_cityops())
        contenders["CityOps"] = servers.KeepAlive(running[-1].port)
        servers.sign_in(contenders["CityOps"], "planner", settings.CITYOPS_DEMO_PASSWORD)
        for name in args.peer_servers:
            running.append(servers.start_pygeoapi(name, peer_config))
            contenders[f"pygeoapi {name}"] = servers.KeepAlive(running[-1].port)

        def first_url(contender: str, cql: str | None) -> str:
            params = {"limit": args.limit}
            if cql and contender == "CityOps":
                params |= {"filter": cql, "filter-lang": "cql2-text"}
            elif cql:
                params["filter"] = cql  # pygeoapi refuses filter-lang=cql2-text; its default parser (ECQL) takes it
            prefix = "/ogcapi" if contender == "CityOps" else ""
            return f"{prefix}/collections/{layer.id}/items?{urlencode(params)}"

        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"# OGC API bench: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}")
        print(
            f"layer {layer.id} (table {meta.db_table}), limit={args.limit}, {args.rounds} rounds, medians; "
            f"each server: 1 worker on 127.0.0.1, keep-alive client"
        )
        print(f"CityOps database connections: {servers.database_connections(settings)}")
        print("CQL2 text goes to both as the same `filter` text; CityOps with filter-lang=cql2-text, pygeoapi")
        print("without filter-lang (0.21 accepts only cql-text/cql-json there and parses the text as ECQL)")
        for label, cql in FILTERS.items():
            runs: dict[str, list[float]] = {name: [] for name in contenders}
            shape: dict[str, tuple[int, int, int]] = {}
            reference = None
            for round_ in range(args.rounds + 1):  # round 0 warms each server up and is not counted
                for name, client in contenders.items():
                    started = time.perf_counter()
                    ids, pages, size = page_through(client, first_url(name, cql))
                    seconds = time.perf_counter() - started
                    reference = reference or sorted(ids)
                    assert len(ids) == len(reference) and sorted(ids) == reference, f"{name}: other features"
                    shape[name] = (len(ids), pages, size)
                    if round_:
                        runs[name].append(seconds)
            print(f"\n{label}: {cql or 'no filter'}")
            rates = {}
            for name, seconds in runs.items():
                features, pages, size = shape[name]
                median = statistics.median(seconds)
                rates[name] = features / median
                print(
                    f"  {name:28s} {features:6d} features in {pages:3d} pages, {size / 2**20:6.1f} MiB: "
                    f"{features / median:8.0f} features/s  {pages / median:6.1f} pages/s  "
                    f"(min {features / max(seconds):.0f}, max {features / min(seconds):.0f})"
                )
            peers = {name: rate for name, rate in rates.items() if name != "CityOps"}
            best = max(peers, key=peers.get)
            ratio = rates["CityOps"] / peers[best]
            print(f"  ratio CityOps / {best} (the faster peer) = {ratio:.2f}×  (goal ≥ 1, aim 2)")
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        for server in running:
            server.stop()


if __name__ == "__main__":
    main()
