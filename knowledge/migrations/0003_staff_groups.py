"""Advisors keep the FAQs; managers also keep documents and categories. Passages are derived: view only."""

from django.db import migrations

from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER, grant

ADVISOR = [
    "view_faq", "add_faq", "change_faq",
    "view_document", "view_category", "view_passage",
]  # fmt: skip
MANAGER = [
    *ADVISOR,
    "delete_faq",
    "add_document", "change_document", "delete_document",
    "add_category", "change_category", "delete_category",
]  # fmt: skip


def create_groups(apps, schema_editor):
    grant(apps, SERVICE_ADVISOR, "knowledge", ADVISOR)
    grant(apps, SERVICE_MANAGER, "knowledge", MANAGER)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0002_embed_pending_schedule"),
        ("crm", "0004_staff_groups"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
