"""Beat's reminder schedule: plan tomorrow's calls each evening, dispatch due calls every minute, repair stuck
ones every 5 minutes.

Safe to run again: each task is looked up by name and only created when missing, so a time or an interval
that staff changed in the admin (Periodic tasks) is never overwritten.
"""

from datetime import time

from django.conf import settings
from django.db import migrations

PLAN = "reminders: plan tomorrow's reminder calls"
DISPATCH = "reminders: dispatch due reminder calls"
REPAIR = "reminders: repair stuck reminder calls"

INTERVAL_TASKS = [  # name, task, every (minutes)
    (DISPATCH, "reminders.tasks.dispatch_reminder_calls", 1),
    (REPAIR, "reminders.tasks.repair_stuck_reminder_calls", 5),
]


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")

    if not PeriodicTask.objects.filter(name=PLAN).exists():
        # The dealership's wall clock, not UTC: 17:00 stays 17:00 across a DST change.
        at = time.fromisoformat(settings.REMINDER_PLAN_AT)
        evening, _ = CrontabSchedule.objects.get_or_create(
            minute=str(at.minute), hour=str(at.hour), day_of_week="*", day_of_month="*", month_of_year="*",
            timezone=settings.TIME_ZONE,
        )  # fmt: skip
        PeriodicTask.objects.create(name=PLAN, task="reminders.tasks.plan_reminder_calls", crontab=evening)
    for name, task, minutes in INTERVAL_TASKS:
        every, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})


def unschedule(apps, schema_editor):
    names = [PLAN, *(name for name, _, _ in INTERVAL_TASKS)]
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0001_reminder_calls"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule, unschedule)]
