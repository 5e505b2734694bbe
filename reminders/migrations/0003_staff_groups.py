"""Staff groups: advisors and managers see reminder calls and their history, and may call one now or skip it.

Rows and events are written by planning, dispatching and the calls themselves: nobody adds or deletes them.
"""

from django.db import migrations

from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER, grant

ADVISOR = ["view_remindercall", "change_remindercall", "view_reminderevent"]
MANAGER = ADVISOR


def create_groups(apps, schema_editor):
    grant(apps, SERVICE_ADVISOR, "reminders", ADVISOR)
    grant(apps, SERVICE_MANAGER, "reminders", MANAGER)


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0002_reminder_schedule"),
        ("crm", "0004_staff_groups"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
