"""The staff roles and the permissions each one has.

Migrations call ``grant`` so that the groups exist on every database; later
apps add their own models' permissions to the same groups in their migrations.
"""

from django.contrib.auth.management import create_permissions

SERVICE_ADVISOR = "Service advisor"
SERVICE_MANAGER = "Service manager"


def grant(apps, group_name: str, app_label: str, codenames: list[str]) -> None:
    """Give ``group_name`` these permissions of ``app_label``, creating group and permissions if needed."""
    # Permissions are normally created after all migrations ran (post_migrate);
    # a fresh database needs them now.
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=group_name)
    permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    missing = set(codenames) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"unknown permissions for {app_label}: {sorted(missing)}")
    group.permissions.add(*permissions)
