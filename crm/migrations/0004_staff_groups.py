"""Staff groups: advisors keep customers and vehicles; managers also delete and edit the profile."""

from django.db import migrations

from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER, grant

ADVISOR = [
    "view_customer", "add_customer", "change_customer",
    "view_customerphone", "add_customerphone", "change_customerphone", "delete_customerphone",
    "view_vehicle", "add_vehicle", "change_vehicle",
    "view_consentchange",
    "view_dealershipprofile",
]  # fmt: skip
MANAGER = ADVISOR + ["delete_customer", "delete_vehicle", "change_dealershipprofile"]


def create_groups(apps, schema_editor):
    grant(apps, SERVICE_ADVISOR, "crm", ADVISOR)
    grant(apps, SERVICE_MANAGER, "crm", MANAGER)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0003_dealership_profile_row"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
