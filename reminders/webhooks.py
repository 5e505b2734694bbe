"""Twilio's status callback for the reminder calls we place (``/reminders/status/?reminder=<id>``).

Signature-checked exactly as voice's webhooks (the same decorator: the public URL with its query string, and
the POST parameters); unsigned requests get 403 and change nothing. The callback updates the voice call's
record as voice's own status webhook would, then the reminder row (reminders.dispatch holds the rules).
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from django.http import HttpResponse

from reminders.dispatch import TWILIO_STATUSES, apply_call_status
from voice import services as voice_services
from voice.models import CallStatus
from voice.webhooks import BadWebhook, twilio_webhook

# "initiated" is an event of calls we place; voice's call record knows it as still queued.
_VOICE_STATUS = {"initiated": CallStatus.QUEUED, "answered": CallStatus.IN_PROGRESS}


def _reminder_id(raw: str | None) -> int:
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadWebhook("The reminder id is missing or not a number.")
    return int(raw)


def _duration(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise BadWebhook("CallDuration must be a whole number of seconds.")
    return int(raw)


def _timestamp(raw: str | None):
    """Twilio's Timestamp (RFC 2822), or None when absent or unreadable (then the time of arrival counts)."""
    try:
        moment = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


@twilio_webhook
def status(request):
    """A reminder call was initiated, rang, was answered or ended (and how)."""
    reminder_id = _reminder_id(request.GET.get("reminder"))
    post = request.POST
    call_sid = post.get("CallSid", "").strip()
    if not call_sid:
        raise BadWebhook("CallSid is missing.")
    call_status = post.get("CallStatus", "").strip()
    if call_status not in TWILIO_STATUSES:
        raise BadWebhook("CallStatus is missing or unknown.")
    voice_services.call_apply_status(
        call_sid=call_sid, status=_VOICE_STATUS.get(call_status, call_status),
        duration_seconds=_duration(post.get("CallDuration")), direction=post.get("Direction", "outbound-api"),
        from_number=post.get("From", ""), to_number=post.get("To", ""), at=_timestamp(post.get("Timestamp")),
    )  # fmt: skip
    apply_call_status(reminder_id, call_sid=call_sid, status=call_status, answered_by=post.get("AnsweredBy", ""))
    return HttpResponse(status=204)
