"""A copy of the freshly loaded small demo city inside the test database.

A transactional test ends with a flush of every table; loading the city again takes seconds, copying it back from
this snapshot a fraction of one. The copy keeps every primary key, so what a server process under test cached
(categories, road and pipe graphs) still names the same rows.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

SCHEMA = "test_demo_snapshot"
_copied: dict[str, str] = {}  # table → its quoted column list, for the tables that had rows


def _tables() -> list[str]:
    """The tables a flush empties: every model table."""
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def take() -> None:
    """Copy every model table as it is now (call right after the city is loaded and committed)."""
    q = connection.ops.quote_name
    _copied.clear()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in _tables():
            cursor.execute(f"CREATE TABLE {SCHEMA}.{q(table)} AS TABLE {q(table)}")
            if cursor.rowcount:
                cursor.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                    " AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
                    [table],
                )
                _copied[table] = ", ".join(q(name) for (name,) in cursor.fetchall())


def taken() -> bool:
    return bool(_copied)


def restore() -> None:
    """Put every model table back as it was when the snapshot was taken, in one transaction."""
    from gis import tiles

    q = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        # the flush's post_migrate already wrote content types and permissions again, under new ids; DELETE, as
        # the tables are (nearly) empty: TRUNCATE would give each of them new files
        for table in _tables():
            cursor.execute(f"DELETE FROM {q(table)}")  # noqa: S608
        for table, columns in _copied.items():  # names from the database's own catalogue, quoted
            cursor.execute(f"INSERT INTO {q(table)} ({columns}) SELECT {columns} FROM {SCHEMA}.{q(table)}")  # noqa: S608
        # the city's rows went in without signals, as load_demo_city's do: retire every cached map tile
        transaction.on_commit(lambda: tiles.bump(*tiles.all_tables()))
    ContentType.objects.clear_cache()
