"""Twilio's webhooks: a call comes in, its status changes, a transfer is answered or ends, a message is left,
a reminder call is answered, a machine is detected on it.

Every view first checks X-Twilio-Signature against our public URL
(PUBLIC_BASE_URL + the path and query string as received) and the POST
parameters: anything unsigned or wrongly signed gets 403 and changes nothing.
Malformed input gets a 400 that says what is wrong. The views are thin: the
rules are in voice.services, the TwiML in voice.callflow.
"""

from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime
from functools import wraps

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.phones import format_phone, mask_phone
from operations.logging import call_context
from voice import callflow, services
from voice.models import Outcome
from voice.providers.twilio import form_signature_is_valid
from voice.security import public_url
from voice.selectors import call_handover_summary, phone_agent_missing_settings
from voice.session import answering_machine, call_events
from voice.session.context import reminder_voicemail

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
DIAL_ANSWERED = {"completed", "answered"}
DIAL_NOT_ANSWERED = {"busy", "no-answer", "failed", "canceled"}
_is_url = URLValidator(schemes=["https", "http"])


class BadWebhook(Exception):
    """The request is signed but its parameters are not what Twilio sends; the message says which."""


def twilio_webhook(view):
    """POST only, no CSRF token (Twilio has none), a valid Twilio signature, and 400 for bad input."""

    @wraps(view)
    def checked(request):
        url = public_url(request.get_full_path())
        if not form_signature_is_valid(url, request.POST, request.headers.get(SIGNATURE_HEADER)):
            log.warning("Refused a request to %s without a valid Twilio signature", request.path)
            return HttpResponseForbidden("Missing or invalid Twilio signature.", content_type="text/plain")
        # Signed by Twilio: what is logged while answering belongs to this call (operations.logging).
        with call_context(request.POST.get("CallSid", "").strip()):
            try:
                return view(request)
            except BadWebhook as error:
                return HttpResponseBadRequest(str(error), content_type="text/plain")
            except services.CallError as error:
                return HttpResponseBadRequest(error.message, content_type="text/plain")

    return csrf_exempt(require_POST(checked))


def _twiml(twiml: str) -> HttpResponse:
    return HttpResponse(twiml, content_type="text/xml; charset=utf-8")


def _duration(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().isdigit():
        raise BadWebhook("CallDuration must be a whole number of seconds.")
    return int(raw)


def _timestamp(raw: str | None):
    """Twilio's Timestamp (RFC 2822), or None when absent or unreadable (then the time of arrival counts)."""
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def _call_sid(post) -> str:
    call_sid = post.get("CallSid", "").strip()
    if not call_sid:
        raise BadWebhook("CallSid is missing.")
    return call_sid  # its form is checked by the services


def _caller_number(post) -> str:
    """The other party's number: From on an inbound call, To on one we placed."""
    outbound = post.get("Direction", "").lower().startswith("outbound")
    return post.get("To", "") if outbound else post.get("From", "")


@twilio_webhook
def incoming(request):
    """A call comes in: record it, then connect it to the agent's media stream (or the fallback)."""
    post = request.POST
    call = services.call_register_inbound(
        call_sid=_call_sid(post), from_number=post.get("From", ""), to_number=post.get("To", "")
    )
    missing = phone_agent_missing_settings()
    if missing:
        reason = f"The phone agent is not configured ({', '.join(missing)} empty)."
        services.call_note_fallback(call_sid=call.call_sid, reason=reason)
        log.warning("Incoming call from %s: %s", mask_phone(call.from_number), reason)
        return _twiml(callflow.fallback_twiml())
    log.info("Incoming call from %s: connecting it to the agent's media stream", mask_phone(call.from_number))
    return _twiml(callflow.stream_twiml(call.call_sid))


@twilio_webhook
def status(request):
    """Twilio's status callback: ringing, in progress, ended (and how long it lasted)."""
    post = request.POST
    call_status = post.get("CallStatus", "")
    if not call_status:
        raise BadWebhook("CallStatus is missing.")
    services.call_apply_status(
        call_sid=_call_sid(post),
        status=call_status,
        duration_seconds=_duration(post.get("CallDuration")),
        direction=post.get("Direction", ""),
        from_number=post.get("From", ""),
        to_number=post.get("To", ""),
        at=_timestamp(post.get("Timestamp")),
    )
    return HttpResponse(status=204)


@twilio_webhook
def fallback(request):
    """Twilio's fallback URL: our main webhook failed. Apologise and hand the caller to a person."""
    post = request.POST
    call_sid, direction = _call_sid(post), post.get("Direction", "")
    error_code = "".join(ch for ch in post.get("ErrorCode", "") if ch.isdigit())[:10]
    reason = "Twilio used the fallback URL" + (f" (error {error_code})." if error_code else ".")
    try:
        if not direction.lower().startswith("outbound"):
            services.call_register_inbound(
                call_sid=call_sid, from_number=post.get("From", ""), to_number=post.get("To", "")
            )
        services.call_note_fallback(call_sid=call_sid, reason=reason, direction=direction)
        twiml = callflow.fallback_twiml()
    except DatabaseError:
        # The database may be why the main webhook failed: still answer the caller politely.
        log.exception("Fallback for call %s could not reach the database", call_sid)
        twiml = callflow.goodbye_twiml(callflow.CANNOT_TAKE_CALLS)
    return _twiml(twiml)


@twilio_webhook
def transfer_result(request):
    """The <Dial> of a transfer ended: answered means done; otherwise take a message."""
    post = request.POST
    call_sid, dial_status = _call_sid(post), post.get("DialCallStatus", "")
    target = request.GET.get("to", "")
    if dial_status in DIAL_ANSWERED:
        services.call_finish(
            call_sid=call_sid, outcome=Outcome.TRANSFERRED, reason="Transferred to a person", transfer_target=target
        )
        return _twiml(callflow.end_twiml())
    if dial_status not in DIAL_NOT_ANSWERED:
        raise BadWebhook("DialCallStatus is missing or unknown.")
    who = format_phone(target) if target else "the service team"
    services.call_add_system_note(
        call_sid=call_sid, text=f"Transfer to {who} not answered ({dial_status}); taking a message."
    )
    return _twiml(callflow.take_message_twiml(callflow.NOBODY_AVAILABLE))


@twilio_webhook
def whisper(request):
    """The advisor answered a transfer (the <Number url> of its <Dial>): tell them about the caller first.

    The URL carries the CallSid handed over (``?call=CA...``): Twilio's own parameters here describe the
    advisor's leg. Whatever goes wrong, the advisor hears a neutral line and is connected: never an error.
    """
    handed_over = request.GET.get("call", "").strip()
    with call_context(handed_over):  # the caller's call, not the advisor's leg
        try:
            words = call_handover_summary(handed_over) if handed_over else ""
        except DatabaseError:
            log.exception("Whisper for call %s could not reach the database", handed_over)
            words = ""
    return _twiml(callflow.whisper_twiml(words or callflow.NEUTRAL_WHISPER))


@twilio_webhook
def message(request):
    """The <Record> ended: the message becomes a callback request; thank the caller and hang up."""
    post = request.POST
    call_sid = _call_sid(post)
    recording_url = post.get("RecordingUrl", "").strip()
    if recording_url:
        try:
            _is_url(recording_url)
        except ValidationError:
            raise BadWebhook("RecordingUrl is not a URL.") from None
    services.callback_request_create(phone=_caller_number(post), call_sid=call_sid, recording_url=recording_url)
    services.call_finish(call_sid=call_sid, outcome=Outcome.MESSAGE_TAKEN, reason="The caller left a message")
    return _twiml(callflow.goodbye_twiml(callflow.MESSAGE_RECEIVED))


@twilio_webhook
def message_transcript(request):
    """Twilio's transcribeCallback: the text of a recorded message goes onto its callback request."""
    post = request.POST
    recording_url = post.get("RecordingUrl", "").strip()
    if not recording_url:
        raise BadWebhook("RecordingUrl is missing.")
    try:
        _is_url(recording_url)
    except ValidationError:
        raise BadWebhook("RecordingUrl is not a URL.") from None
    if post.get("TranscriptionStatus", "completed") == "completed":
        text = post.get("TranscriptionText", "").strip()
    else:
        text = "(Twilio could not transcribe this message: listen to the recording.)"
    call_sid = post.get("CallSid", "") or None
    services.callback_request_set_transcript(
        recording_url=recording_url, message=text, call_sid=call_sid, phone=_caller_number(post)
    )
    return HttpResponse(status=204)


@twilio_webhook
def reminder_answer(request):
    """The customer picked up a reminder call: record it as a reminder, then connect it to the agent's media
    stream, exactly as an inbound call (answering-machine detection is asynchronous: the conversation starts at
    once, and a machine's result comes to ``machine_detection`` during it).

    The dispatcher puts ``?reminder=<id>`` on this URL; voice does not read reminders, and the call's row (made
    by the dispatcher with its appointment) says all the session needs.
    """
    post = request.POST
    call = services.call_register_reminder_answer(
        call_sid=_call_sid(post), to_number=post.get("To", ""), from_number=post.get("From", "")
    )
    missing = phone_agent_missing_settings()
    if missing:
        # Nobody to talk with: the reminder is said in Twilio's voice, with the number to call back.
        reason = f"The phone agent is not configured ({', '.join(missing)} empty)."
        services.call_note_fallback(call_sid=call.call_sid, reason=reason, direction="outbound-api")
        return _twiml(callflow.goodbye_twiml(reminder_voicemail(call.call_sid)))
    return _twiml(callflow.stream_twiml(call.call_sid))


@twilio_webhook
def machine_detection(request):
    """Twilio's asynchronous answering-machine result (AnsweredBy) for a call we placed: stored on the call, and
    passed to the call's live session (on whichever server holds its stream), which leaves the voicemail or hangs
    up. If the session cannot be reached, Twilio is told directly what to do."""
    post = request.POST
    answered_by = post.get("AnsweredBy", "").strip()
    if not answered_by:
        raise BadWebhook("AnsweredBy is missing.")
    call = services.call_set_answered_by(call_sid=_call_sid(post), answered_by=answered_by)
    told = call_events.tell_session(call.call_sid, {"type": call_events.MACHINE_DETECTION,
                                                    "answered_by": call.answered_by})  # fmt: skip
    if not told:
        answering_machine.act_without_session(call.call_sid, call.answered_by)
    return HttpResponse(status=204)
