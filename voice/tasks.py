"""Celery tasks of the voice channel: thin, idempotent."""

from celery import shared_task


@shared_task
def settle_unfinished_calls() -> str:
    """Beat runs this every five minutes: calls that ended on Twilio's side with no outcome get one."""
    from voice.services import calls_settle_unfinished

    return f"settled {calls_settle_unfinished()} call(s)"
