"""The role groups are part of the product, not of the demo: every installation has them."""

from django.db import migrations

ROLES = ["operator", "call_taker", "grid_dispatcher", "inspector", "department_handler", "planner", "leader", "admin"]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
