"""Celery tasks of the reminder calls: thin, idempotent; Beat's schedule is in the 0002 migration."""

from datetime import date

from celery import shared_task


@shared_task
def plan_reminder_calls(day: str | None = None) -> str:
    """Beat runs this each evening: rows for tomorrow's appointments (``day``, YYYY-MM-DD, to plan another).

    Safe to run twice: rows that exist are left alone.
    """
    from reminders.planning import plan_reminders, tomorrow

    plan = plan_reminders(date.fromisoformat(day) if day else tomorrow())
    return f"{plan.day}: {plan.created} new row(s), {len(plan.queued)} to call, {len(plan.skipped)} skipped"
