"""Load the demo dealership: every app's demo data, in dependency order. Safe to run again."""

import importlib

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Load a believable demo dealership (deterministic; running it again adds nothing new)."

    def handle(self, *args, **options):
        # Each app may ship a `demo` module with load(stdout=...). Apps are
        # visited in INSTALLED_APPS order, which follows their dependencies.
        for app_config in apps.get_app_configs():
            try:
                demo = importlib.import_module(f"{app_config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app_config.name}.demo":
                    raise
                continue
            with transaction.atomic():
                demo.load(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
