"""Load the shipped incident code table and response plans; codes already present (admin-edited) are kept."""

from django.db import migrations

from dispatch.plans import load_code_table

# The unit kinds as of this migration (Vehicle.Kind may grow later; the CSV is checked against these).
UNIT_KINDS = {
    "police_car", "fire_engine", "ladder", "rescue", "ambulance", "traffic_motorcycle", "traffic_car", "bus",
    "coach", "dangerous_goods", "cash_van",
}  # fmt: skip


def load(apps, schema_editor):
    load_code_table(
        apps.get_model("dispatch", "IncidentType"), apps.get_model("dispatch", "ResponsePlanItem"), UNIT_KINDS
    )


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0003_incidents")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
