"""Hot read statements run as server-side prepared statements with one generic plan.

Django's psycopg cursors bind parameters on the client and never prepare, so PostgreSQL plans every execution: for
the geocoder's candidate query the planning took ~1 ms of a ~1.3 ms statement, and a geocode cost 4.8 ms of CPU
where a prepared one costs 2 ms (bench/bench_geocoder.py). A statement run through `fetch_all` is prepared once per
connection (psycopg keeps the cache, a new connection prepares again) and planned once: the connections run with
plan_cache_mode=force_generic_plan (settings.py), which only prepared statements consult — Django's own queries are
never prepared. Only for statements whose plan does not depend on the values bound (index look-ups by key)."""

import psycopg
from django.db import connection


def fetch_all(sql: str, params: dict) -> list[tuple]:
    """The rows of `sql` (psycopg placeholders, %(name)s) run as a prepared statement on Django's connection."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()
