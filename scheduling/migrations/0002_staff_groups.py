"""Staff groups: advisors book and change appointments; managers also keep the menu, bays and hours.

Nobody deletes appointments: they are cancelled, which keeps their history and
removes them from the calendar mirror.
"""

from django.db import migrations

from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER, grant

SHOP = ["servicetype", "bay", "openinghours", "openingbreak", "closure"]
ADVISOR = [
    "view_appointment", "add_appointment", "change_appointment",
    "view_appointmentevent",
    *(f"view_{model}" for model in SHOP),
]  # fmt: skip
MANAGER = [
    *ADVISOR,
    *(f"{action}_{model}" for model in SHOP for action in ("add", "change", "delete")),
]


def create_groups(apps, schema_editor):
    grant(apps, SERVICE_ADVISOR, "scheduling", ADVISOR)
    grant(apps, SERVICE_MANAGER, "scheduling", MANAGER)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_initial"),
        ("crm", "0004_staff_groups"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
