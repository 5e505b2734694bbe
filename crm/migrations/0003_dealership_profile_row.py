"""The dealership profile is a single row; create it so every page can rely on it."""

from django.conf import settings
from django.db import migrations


def create_profile(apps, schema_editor):
    DealershipProfile = apps.get_model("crm", "DealershipProfile")
    DealershipProfile.objects.get_or_create(
        pk=1,
        defaults={
            "name": "Service Department",
            "timezone": settings.TIME_ZONE,
            "greeting": (
                "Thanks for calling the service department. I'm the automated assistant, and this call is "
                "recorded. How can I help you today?"
            ),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_initial")]
    operations = [migrations.RunPython(create_profile, migrations.RunPython.noop)]
