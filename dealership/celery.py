"""The Celery app. Broker and schedule come from Django settings (CELERY_*); logging is Django's (LOGGING)."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

app = Celery("dealership")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def log_as_django_does(**kwargs) -> None:
    """Workers and beat log through settings.LOGGING, as the server does: same format (LOG_FORMAT), the CallSid on a
    call's lines, phone numbers masked. Connected, this replaces Celery's own set-up, which would take over the
    root logger with its format (``--loglevel`` then has no effect: LOG_LEVEL says)."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
