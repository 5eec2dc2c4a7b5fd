"""Addresses loaded before 0006 get their elements (in a migration of its own: rows updated in the transaction that
added the foreign keys would leave trigger events pending, and PostgreSQL then refuses the deferred index builds)."""

from django.db import migrations


def fill_existing_addresses(apps, schema_editor):
    """Addresses loaded before the elements existed get them now (new ones get them where they are loaded)."""
    from gis.services import fill_address_elements

    if apps.get_model("geo", "Address").objects.exists():
        fill_address_elements()


class Migration(migrations.Migration):
    dependencies = [("geo", "0006_address_elements")]

    operations = [migrations.RunPython(fill_existing_addresses, migrations.RunPython.noop)]
