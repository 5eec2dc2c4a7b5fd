from django.db import migrations


def load(apps, schema_editor):
    from grid.categories import load_categories

    load_categories(apps.get_model("grid", "ComponentClass"), apps.get_model("grid", "Category"))


class Migration(migrations.Migration):
    dependencies = [("grid", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE grid_case_number_seq; CREATE SEQUENCE grid_component_serial_seq;",
            "DROP SEQUENCE grid_case_number_seq; DROP SEQUENCE grid_component_serial_seq;",
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
