"""Staff groups: advisors read calls and work the callback list; managers may also delete calls.

Calls and turns are records written only by the phone line: nobody adds or edits them.
"""

from django.db import migrations

from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER, grant

ADVISOR = ["view_call", "view_turn", "view_callbackrequest", "change_callbackrequest"]
MANAGER = [*ADVISOR, "delete_call"]


def create_groups(apps, schema_editor):
    grant(apps, SERVICE_ADVISOR, "voice", ADVISOR)
    grant(apps, SERVICE_MANAGER, "voice", MANAGER)


class Migration(migrations.Migration):
    dependencies = [
        ("voice", "0001_initial"),
        ("crm", "0004_staff_groups"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
