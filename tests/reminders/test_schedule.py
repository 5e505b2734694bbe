"""Beat's reminder schedule, as the 0002 migration writes it: each task once, whatever runs it again, and
the evening planning at REMINDER_PLAN_AT on the dealership's own clock."""

import importlib
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from dealership.celery import app as celery_app

pytestmark = pytest.mark.django_db

migration = importlib.import_module("reminders.migrations.0002_reminder_schedule")
TASKS = {
    migration.PLAN: "reminders.tasks.plan_reminder_calls",
    migration.DISPATCH: "reminders.tasks.dispatch_reminder_calls",
    migration.REPAIR: "reminders.tasks.repair_stuck_reminder_calls",
}


def schedule():
    migration.schedule(apps, None)


def reminder_tasks() -> dict[str, PeriodicTask]:
    return {task.name: task for task in PeriodicTask.objects.filter(name__in=TASKS)}


def test_migrating_wrote_the_three_tasks():
    assert {name: task.task for name, task in reminder_tasks().items()} == TASKS


def test_running_it_twice_creates_each_task_once():
    PeriodicTask.objects.filter(name__in=TASKS).delete()
    schedule()
    schedule()
    assert sorted(PeriodicTask.objects.filter(name__in=TASKS).values_list("name", flat=True)) == sorted(TASKS)
    assert PeriodicTask.objects.filter(task__startswith="reminders.").count() == 3


def test_the_planning_runs_daily_at_plan_at_in_the_dealerships_zone(reminder_settings):
    reminder_settings.TIME_ZONE = "America/Denver"
    reminder_settings.REMINDER_PLAN_AT = "18:30"
    PeriodicTask.objects.filter(name__in=TASKS).delete()
    schedule()
    crontab = reminder_tasks()[migration.PLAN].crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month, crontab.month_of_year) == (
        "30", "18", "*", "*", "*"
    )
    assert crontab.timezone == ZoneInfo("America/Denver")
    assert reminder_tasks()[migration.PLAN].interval is None


def test_the_dispatcher_runs_every_minute_and_the_repair_every_five():
    tasks = reminder_tasks()
    dispatch, repair = tasks[migration.DISPATCH].interval, tasks[migration.REPAIR].interval
    assert (dispatch.every, dispatch.period, repair.every, repair.period) == (1, "minutes", 5, "minutes")
    assert tasks[migration.DISPATCH].crontab is None


def test_what_staff_edited_in_the_admin_stays(reminder_settings):
    plan = reminder_tasks()[migration.PLAN]
    later, _ = CrontabSchedule.objects.get_or_create(minute="15", hour="19", timezone="America/Phoenix")
    plan.crontab = later
    plan.enabled = False
    plan.save()
    reminder_settings.REMINDER_PLAN_AT = "16:00"
    schedule()
    plan.refresh_from_db()
    assert (plan.crontab_id, plan.enabled) == (later.pk, False)
    assert not CrontabSchedule.objects.filter(hour="16").exists()


def test_unscheduling_removes_only_the_reminder_tasks():
    others = PeriodicTask.objects.exclude(name__in=TASKS).count()
    migration.unschedule(apps, None)
    assert not reminder_tasks()
    assert PeriodicTask.objects.count() == others


def test_the_planning_task_is_a_registered_celery_task():
    celery_app.loader.import_default_modules()
    assert TASKS[migration.PLAN] in celery_app.tasks


def test_the_planning_task_plans_the_day_it_is_given_once(appointments, plan_day):
    from reminders.models import ReminderCall
    from reminders.tasks import plan_reminder_calls

    plan_reminder_calls.delay(plan_day.isoformat())
    plan_reminder_calls.delay(plan_day.isoformat())  # delivered twice
    assert ReminderCall.objects.filter(appointment__in=vars(appointments).values()).count() == 5
    assert ReminderCall.objects.count() == 5
