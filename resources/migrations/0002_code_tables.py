"""Load the shipped code tables (supplies, team skills, expert fields); codes already present are kept."""

from django.db import migrations

from resources.codes import load_code_tables


def load(apps, schema_editor):
    load_code_tables(apps.get_model("resources", "SupplyItem"), apps.get_model("resources", "Specialty"))


class Migration(migrations.Migration):
    dependencies = [("resources", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
