"""The fuzzy road search walks a GiST trigram index nearest first (`search_text <-> text`) instead of collecting
every road over the similarity floor through the GIN index and ranking them: a query with an ordinal or a common
character (云二路) passed ~1,000 of 2,562 roads over the floor, ~17 ms each; the nearest eight through GiST take
~1 ms (bench/bench_geocoder.py)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('geo', '0007_address_roads'),
    ]

    operations = [
        migrations.RunSQL(
            """
            DROP INDEX geo_address_road_search_trgm;
            CREATE INDEX geo_address_road_search_trgm ON geo_address_road USING gist (search_text gist_trgm_ops);
            """,
            """
            DROP INDEX geo_address_road_search_trgm;
            CREATE INDEX geo_address_road_search_trgm ON geo_address_road USING gin (search_text gin_trgm_ops);
            """,
        ),
    ]
