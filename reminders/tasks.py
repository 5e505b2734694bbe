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


@shared_task
def dispatch_reminder_calls() -> str:
    """Beat runs this every minute: claim the due rows that may ring now and place each call in a task of its
    own. Safe to run twice at once: a row is claimed by one run only."""
    from django.db import transaction

    from reminders.dispatch import dispatch_due

    claimed = dispatch_due()
    for reminder_id in claimed:
        transaction.on_commit(lambda reminder_id=reminder_id: place_reminder_call.delay(reminder_id))
    return f"{len(claimed)} call(s) to place"


@shared_task
def place_reminder_call(reminder_id: int) -> str:
    """Place one claimed row's call. Delivered twice, it places one call: only a row still dialing without a
    CallSid is called, and it stays locked until its CallSid is stored."""
    from reminders.dispatch import place

    return f"reminder {reminder_id}: {place(reminder_id)}"


@shared_task
def repair_stuck_reminder_calls() -> str:
    """Beat runs this every 5 minutes: rows stuck in dialing (or in progress past any call's end) get Twilio's
    word on their call; one Twilio never placed goes back to the queue, so nothing is dialled blindly."""
    from reminders.dispatch import repair_stuck

    outcomes = repair_stuck()
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing stuck"
