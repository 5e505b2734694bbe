"""Service managers see login lockouts and their history in the admin, and clear a lockout by deleting it.

The rows are django-axes' own, written by logins: nobody adds or edits them. The group is the staff role of
that name (crm.roles.SERVICE_MANAGER); operations imports no app, so the name is spelled here and the group is
created if this runs first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SERVICE_MANAGER = "Service manager"
MANAGER = ["view_accessattempt", "delete_accessattempt", "view_accessfailurelog", "view_accesslog"]


def grant_lockouts(apps, schema_editor):
    # Permissions are created after every migration has run (post_migrate); a fresh database needs them now.
    axes = apps.get_app_config("axes")
    axes.models_module = True
    create_permissions(axes, apps=apps, verbosity=0)
    axes.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(Permission.objects.filter(content_type__app_label="axes", codename__in=MANAGER))
    if len(permissions) != len(MANAGER):
        found = {permission.codename for permission in permissions}
        raise RuntimeError(f"django-axes has no permissions {sorted(set(MANAGER) - found)}")
    group, _ = Group.objects.get_or_create(name=SERVICE_MANAGER)
    group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant_lockouts, migrations.RunPython.noop)]
