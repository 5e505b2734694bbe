"""Celery tasks of the voice channel: thin, idempotent."""

from celery import shared_task

from operations.logging import call_context


@shared_task
def settle_unfinished_calls() -> str:
    """Beat runs this every five minutes: calls that ended on Twilio's side with no outcome get one."""
    from voice.services import calls_settle_unfinished

    return f"settled {calls_settle_unfinished()} call(s)"


@shared_task
def summarize_call(call_id: int) -> str:
    """A call ended (enqueued by voice.services.call_finish): write its result and summary from its records.

    Re-reads the call; running it twice asks the model at most once (a summary, once written, stays).
    """
    from voice.models import Call
    from voice.services import call_summarize

    call_sid = Call.objects.filter(pk=call_id).values_list("call_sid", flat=True).first()
    with call_context(call_sid):  # the model's and the SDKs' lines while summarizing belong to the call
        call = call_summarize(call_id=call_id)
    return f"call {call_id}: no such call" if call is None else f"call {call_id}: {call.result}"
