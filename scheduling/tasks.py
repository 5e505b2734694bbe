"""Celery tasks of the scheduling app: thin, idempotent, given IDs."""

from celery import shared_task

from scheduling.calendar.errors import CalendarTransientError


@shared_task(
    autoretry_for=(CalendarTransientError,),
    retry_backoff=5,  # 5 s, 10 s, 20 s... capped below
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def sync_appointment_to_calendar(appointment_id: int) -> str:
    """Create, update or delete the appointment's calendar event to match the appointment now."""
    from scheduling.calendar.sync import sync_appointment

    return sync_appointment(appointment_id)
