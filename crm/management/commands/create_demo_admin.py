"""Create (or reset) the demo superuser and print how to sign in."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the demo admin user named by DEMO_ADMIN_USERNAME. Its password is DEMO_ADMIN_PASSWORD, "
        "or one generated on first use and kept in VAR_DIR/demo_admin_password."
    )

    def handle(self, *args, **options):
        username = settings.DEMO_ADMIN_USERNAME
        password = settings.DEMO_ADMIN_PASSWORD or self._generated_password()
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            User.objects.create_superuser(username=username, email="", password=password)
            self.stdout.write(f"Created admin user {username!r}.")
        elif not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"Reset the password of admin user {username!r}.")
        self.stdout.write(f"Admin login: {username} / {password}")

    def _generated_password(self) -> str:
        path = settings.VAR_DIR / "demo_admin_password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(12))
            path.chmod(0o600)
        return path.read_text().strip()
