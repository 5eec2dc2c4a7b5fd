"""Demo city figures: generation and database load time per scale, and what each scale holds.

Run after `bin/cityops setup`:  .venv/bin/python bench/bench_demo_city.py [--scales small city metro]
Loads into its own database `cityops_bench` (created and migrated by bench_events.prepare_database).
"""

import argparse
import time

from benchdb import prepare_database


def main(scales: list[str]) -> None:
    import django

    django.setup()
    from django.db import connection

    from core.management.commands.load_demo_city import load_demo_city

    for scale in scales:
        started = time.perf_counter()
        stats = load_demo_city(scale, replace=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT sum(ST_Length(geom::geography)) / 1000 FROM geo_road")
            road_km = cursor.fetchone()[0]
            cursor.execute("SELECT ST_Area(geom::geography) / 1e6 FROM core_adminarea WHERE level = 'city'")
            km2 = cursor.fetchone()[0]
        print(
            f"{scale:>6}: {km2:6.1f} km², {stats['areas']:5d} areas,"
            f" {stats['roads']:6d} road segments ({road_km:,.0f} km),"
            f" {stats['addresses']:6d} addresses, {stats['stations']:4d} stations;"
            f" generate {stats['generate_s']:.2f} s, load {stats['load_s']:.2f} s,"
            f" total {time.perf_counter() - started:.2f} s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", nargs="+", default=["small", "city", "metro"])
    args = parser.parse_args()
    prepare_database()
    main(args.scales)
