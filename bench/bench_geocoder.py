"""Geocoding and reverse geocoding per second over a city-scale address table, and top-1 accuracy at that scale.

Run after `bin/cityops setup`:
  .venv/bin/python bench/bench_geocoder.py [--threads 4] [--seconds 15] [--forms 2000]

Uses its own database `cityops_bench_geocoder` on the project's server. The table: the metro demo city's door
plates (~73,000, with its districts, sub-districts and communities) plus 0-7 buildings (栋) behind each, ~330,000
addresses, their elements filled by `gis.services.fill_address_elements` as the demo load does — and unit grids of
0.001° (~100 m) squares in every community, since every candidate's grid is looked up. Built once; later runs reuse
it.

Address forms are drawn from the table (seeded): with and without province/city/district, sub-district and
community, Chinese numerals, full-width digits, 路/道 confusion, building + unit + room (expected: the building
row), one wrong character (a homophone) and one missing character. Accuracy is top-1 against the address each form
was made from. Then --threads threads call the selectors (`gis.geocoder.geocode` / `reverse`, each thread on its
own connection) for --seconds each; the CPU of this process and of the threads' PostgreSQL backends is read from
/proc, so the rate can be put against 2 cores whatever else the machine runs. Target (issue 20): ≥ 500 geocodes/s
on 2 cores.
"""

import argparse
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path

import benchdb

benchdb.use_database("cityops_bench_geocoder")
TICK = os.sysconf("SC_CLK_TCK")
MAX_BUILDINGS = 7
HOMOPHONES = dict(
    zip(
        "厦乡兴青湖联皇鹏秋振绣顺隆明观贝枝丰石澳祥云岭广布新宏城吉竹溪粤水技香上源翠葵马龙井前坪宝瑞康彩沙华福田花梅林南东门",
        "夏香星清胡连黄朋求震秀舜龙名官背支风时奥详芸领光步心红成及住西月睡及乡尚元脆魁玛隆景钱平保锐慷采纱化富甜化没琳楠冬们",
        strict=True,
    )
)
CN_DIGITS = "零一二三四五六七八九"


def prepare() -> None:
    benchdb.prepare_database()
    import django

    django.setup()


def build_table() -> None:
    """The metro city's areas and door plates, and 0-7 buildings behind each door plate."""
    from django.contrib.gis.geos import GEOSGeometry, Point

    from core.models import AdminArea
    from data import democity
    from gis.models import Address
    from gis.services import fill_address_elements

    if Address.objects.exists():
        return
    started = time.perf_counter()
    city = democity.generate("metro")
    areas: dict[str, AdminArea] = {}
    for area in city.areas:  # parents come before their children
        areas[area.code] = AdminArea.objects.create(
            code=area.code,
            name=area.name,
            level=area.level,
            parent=areas.get(area.parent_code),
            geom=GEOSGeometry(memoryview(area.geometry.wkb), srid=4326),
        )
    rng = random.Random(20)  # noqa: S311 - synthetic buildings
    rows = []
    for a in city.addresses:
        district = areas[a.district_code]
        rows.append(Address(road_name=a.road_name, number=a.number, label=a.label, district=district,
                            geom=Point(a.point.x, a.point.y, srid=4326)))  # fmt: skip
        for building in range(1, rng.randint(0, MAX_BUILDINGS) + 1):
            rows.append(
                Address(
                    road_name=a.road_name, number=a.number, building=str(building), label=f"{a.label}{building}栋",
                    district=district,
                    geom=Point(a.point.x + rng.uniform(-3e-4, 3e-4), a.point.y + rng.uniform(-3e-4, 3e-4), srid=4326),
                )
            )  # fmt: skip
    Address.objects.bulk_create(rows, batch_size=5000)
    fill_address_elements()
    print(f"address table built: {len(rows):,} addresses in {time.perf_counter() - started:.0f} s")


_SQUARE_GRIDS_SQL = """
INSERT INTO grid_unitgrid (code, community_id, street_id, district_id, geom, area_m2, land_use)
SELECT c.code || lpad((row_number() OVER (PARTITION BY c.id ORDER BY sq.i, sq.j))::text, 3, '0'),
       c.id, s.id, s.parent_id, sq.geom, ST_Area(sq.geom::geography), ''
FROM core_adminarea c JOIN core_adminarea s ON s.id = c.parent_id, ST_SquareGrid(0.001, c.geom) sq
WHERE c.level = 'community' AND ST_Intersects(ST_Centroid(sq.geom), c.geom)
"""


def build_grids() -> None:
    """Unit grids: the ~100 m squares whose centre lies in a community (a real city's grids follow streets and
    blocks; for the look-up's cost only their number and size matter)."""
    from django.db import connection

    from grid.models import UnitGrid

    if UnitGrid.objects.exists():
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_SQUARE_GRIDS_SQL)
        print(f"unit grids built: {cursor.rowcount:,} in {time.perf_counter() - started:.0f} s")


def chinese(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    if n < 100:
        return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")
    return "".join(CN_DIGITS[int(d)] for d in str(n))  # 三零五: how a number past 99 is often said


def make_forms(count: int) -> list[tuple[str, str, int]]:
    """(kind, text, expected address id) drawn from the table."""
    from gis.models import Address

    rng = random.Random(7)  # noqa: S311 - a sample of forms
    ids = list(Address.objects.values_list("id", flat=True))
    picked = Address.objects.select_related("district", "street", "community").in_bulk(rng.sample(ids, count))
    forms = []
    for n, a in enumerate(picked.values()):
        key, road = a.road_key, a.road_name
        suffix, house = road[len(key) :], f"{a.number}号" + (f"{a.building}栋" if a.building else "")
        d, s, c = a.district.name, a.street.name if a.street else "", a.community.name if a.community else ""
        wrong_at = next((i for i, ch in enumerate(key) if ch in HOMOPHONES), None)
        kinds = {
            "full": f"广东省深圳市{d}{s}{c}{road}{house}",
            "city": f"深圳市{d}{road}{house}",
            "bare": f"{road}{house}",
            "chinese_numeral": f"{d}{road}{chinese(a.number)}号"
            + (f"{chinese(int(a.building))}栋" if a.building else ""),
            "fullwidth": f"{road}{house}".translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            "road_dao": f"{d}{key}{'道' if suffix == '路' else '路'}{house}",
            "unit_room": f"{road}{house}{1 + n % 4}单元{100 * (1 + n % 20) + 1 + n % 6}室" if a.building else None,
            "typo_wrong": f"{d}{key[:wrong_at]}{HOMOPHONES[key[wrong_at]]}{key[wrong_at + 1 :]}{suffix}{house}"
            if wrong_at is not None else None,
            "typo_missing": f"{d}{key[0]}{key[2:]}{suffix}{house}" if len(key) > 2 else None,
        }  # fmt: skip
        kind = list(kinds)[n % len(kinds)]
        if kinds[kind] is None:
            kind = "city"
        forms.append((kind, kinds[kind], a.pk))
    return forms


def accuracy(forms) -> None:
    from gis.geocoder import geocode

    by_kind = Counter()
    for kind, text, expected in forms:
        candidates = geocode(text, 1)["candidates"]
        by_kind[kind, bool(candidates) and candidates[0]["id"] == expected] += 1
    right = sum(n for (_, hit), n in by_kind.items() if hit)
    kinds = sorted({kind for kind, _ in by_kind})
    print(f"top-1 accuracy at scale: {right / len(forms):.1%} of {len(forms)} forms")
    print("  " + ", ".join(f"{k} {by_kind[k, True]}/{by_kind[k, True] + by_kind[k, False]}" for k in kinds))


def cpu_seconds(pids) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def run(name: str, call, inputs: list, threads: int, seconds: float) -> None:
    """`call(input)` from `threads` threads for `seconds`; prints the rate and the CPU per call."""
    from django.db import connection, connections

    backends, counts, ready = [], [0] * threads, threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(k: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backends.append(cursor.fetchone()[0])
        ready.wait()
        i = k
        while not stop.is_set():
            call(inputs[i % len(inputs)])
            i += threads
            counts[k] += 1
        connections.close_all()

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    ready.wait()
    pids = [os.getpid(), *backends]
    cpu_before, started = cpu_seconds(pids), time.perf_counter()
    time.sleep(seconds)
    cpu_after, elapsed = cpu_seconds(pids), time.perf_counter() - started
    stop.set()
    for t in pool:
        t.join()
    calls = sum(counts)
    cpu_per_call = (cpu_after - cpu_before) / calls
    print(
        f"{name}: {calls / elapsed:,.0f}/s with {threads} threads ({calls:,} in {elapsed:.1f} s);"
        f" CPU {cpu_per_call * 1000:.2f} ms per call (client + PostgreSQL) → {2 / cpu_per_call:,.0f}/s on 2 cores"
    )


def main(threads: int, seconds: float, n_forms: int) -> None:
    prepare()
    build_table()
    build_grids()
    from django.db import connection

    from gis.geocoder import geocode, reverse

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT road_key) FROM geo_address")
        rows, roads = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM grid_unitgrid")
        grids = cursor.fetchone()[0]
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM geo_address) x"
        )
        bbox = cursor.fetchone()
    print(f"address table: {rows:,} addresses on {roads:,} roads; {grids:,} unit grids")
    forms = make_forms(n_forms)
    accuracy(forms)
    rng = random.Random(3)  # noqa: S311 - test points
    points = [(rng.uniform(bbox[0], bbox[2]), rng.uniform(bbox[1], bbox[3])) for _ in range(5000)]
    run("geocode (all forms)", lambda form: geocode(form[1], 5), forms, threads, seconds)
    typos = [f for f in forms if f[0].startswith("typo")]
    run("geocode (typos only: trigram path)", lambda form: geocode(form[1], 5), typos, threads, seconds)
    run("reverse", lambda p: reverse(*p), points, threads, seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--forms", type=int, default=2000)
    args = parser.parse_args()
    main(args.threads, args.seconds, args.forms)
