import django.contrib.gis.db.models.fields
import django.contrib.gis.geos
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import core.models


def profile_for_loaded_city(apps, schema_editor):
    """A database that already holds a city (loaded before profiles existed) gets its profile from that city:
    its boundary, the projected CRS the deployment was set to, and the view that shows it whole."""
    from core.city import home_view

    AdminArea = apps.get_model("core", "AdminArea")
    CityProfile = apps.get_model("core", "CityProfile")
    city = AdminArea.objects.filter(level="city").order_by("code").first()
    if city is None:
        return
    lon, lat, zoom = home_view(city.geom.extent)
    CityProfile.objects.create(
        name=city.name,
        boundary=city,
        projected_srid=settings.CITYOPS_METRIC_SRID,
        country="CN",  # before profiles, CityOps only ran Chinese cities (its CGCS2000 metric CRS)
        home_center=django.contrib.gis.geos.Point(lon, lat, srid=4326),
        home_zoom=zoom,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_audit_source"),
    ]

    operations = [
        migrations.CreateModel(
            name="CityProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64, verbose_name="name")),
                (
                    "projected_srid",
                    models.PositiveIntegerField(
                        validators=[core.models.validate_projected_srid],
                        help_text="Metric work in this city, e.g. 4547 for CGCS2000 3° zone 114°E.",
                        verbose_name="projected CRS (EPSG code)",
                    ),
                ),
                (
                    "country",
                    models.CharField(
                        help_text="ISO 3166-1 alpha-2; picks the OSM road speed defaults.",
                        max_length=2,
                        verbose_name="country code",
                    ),
                ),
                (
                    "home_center",
                    django.contrib.gis.db.models.fields.PointField(srid=4326, verbose_name="map home centre"),
                ),
                ("home_zoom", models.FloatField(verbose_name="map home zoom")),
                (
                    "base_layer_url",
                    models.CharField(
                        blank=True,
                        help_text="Optional Web Mercator tile URL template (XYZ, or WMTS with {z}, {x} and {y} in place "
                        "of TileMatrix, TileCol and TileRow), e.g. an intranet Tianditu service; the self-served base "
                        "map stays the default.",
                        max_length=500,
                        validators=[core.models.validate_tile_url],
                        verbose_name="external base layer URL",
                    ),
                ),
                (
                    "base_layer_attribution",
                    models.CharField(blank=True, max_length=200, verbose_name="external base layer attribution"),
                ),
                (
                    "boundary",
                    models.OneToOneField(
                        help_text="The city-level administrative area; incidents outside it are refused.",
                        limit_choices_to={"level": "city"},
                        on_delete=django.db.models.deletion.PROTECT,
                        to="core.adminarea",
                        verbose_name="boundary",
                    ),
                ),
            ],
            options={
                "verbose_name": "city profile",
                "verbose_name_plural": "city profile",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("home_zoom__gte", 0), ("home_zoom__lte", 22)),
                        name="core_cityprofile_zoom_range",
                    )
                ],
            },
        ),
        migrations.RunPython(profile_for_loaded_city, migrations.RunPython.noop),
    ]
