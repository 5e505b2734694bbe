"""Every write to calls, turns, the agent's tool calls and callback requests.

Twilio's webhooks, the call session (through ``database_sync_to_async``), Celery
tasks and the admin call these; none of them writes these models directly.
Twilio retries webhooks and sends status callbacks out of order, so every write
here is idempotent and keyed by the CallSid; a CallSid we have not seen yet gets
a minimal call row rather than being lost.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from agent.summary import summarize
from crm import services as crm_services
from crm.errors import ServiceError
from crm.models import Customer, Vehicle
from crm.phones import mask_phone, try_normalize_phone
from crm.selectors import customer_find_by_phone
from scheduling.models import Appointment
from voice import selectors, tasks
from voice.models import (
    AnsweredBy,
    Call,
    CallbackRequest,
    CallbackStatus,
    CallChange,
    CallResult,
    CallStatus,
    ChangeKind,
    Direction,
    Outcome,
    Purpose,
    Speaker,
    ToolInvocation,
    ToolKind,
    Turn,
)

if TYPE_CHECKING:
    from agent import records as agent_records

log = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset(
    {CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.FAILED, CallStatus.NO_ANSWER, CallStatus.CANCELED}
)
# How far along a call is; a status callback never moves a call back down this scale.
_STATUS_RANK = {CallStatus.QUEUED: 0, CallStatus.RINGING: 1, CallStatus.IN_PROGRESS: 2}
_TERMINAL_RANK = 3

TIMING_FIELDS = ("agent_first_token_ms", "tts_first_byte_ms", "first_frame_ms", "first_mark_ms", "server_ms")
# A stage latency above this (ten minutes) is a clock error, not a measurement.
MAX_TIMING_MS = 600_000

_CALL_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
_NUMBER_FIELD_LENGTH = 32


class CallError(ServiceError):
    """A call record cannot be written as asked."""


class UnknownCallStatus(CallError):
    """Twilio reported a call status we do not know."""


def _check_call_sid(call_sid: str) -> str:
    if not isinstance(call_sid, str) or not _CALL_SID.match(call_sid):
        raise CallError("That is not a Twilio call SID.", code="bad_call_sid")
    return call_sid


def _number(raw: str | None) -> str:
    """A number as Twilio gave it ("+16025550100", "anonymous"), cut to the column's size."""
    return (raw or "").strip()[:_NUMBER_FIELD_LENGTH]


def _direction(raw: str | None) -> str:
    """Our direction for Twilio's Direction parameter ("inbound", "outbound-api", "outbound-dial")."""
    return Direction.OUTBOUND if (raw or "").lower().startswith("outbound") else Direction.INBOUND


def _rank(status: str) -> int:
    return _TERMINAL_RANK if status in TERMINAL_STATUSES else _STATUS_RANK[status]


def _locked_call(call_sid: str, *, direction: str = "", **defaults) -> Call:
    """The call row for ``call_sid``, locked until the transaction ends; created (minimal) when unknown.

    Must run inside transaction.atomic().
    """
    _check_call_sid(call_sid)
    call, _ = Call.objects.select_for_update().get_or_create(
        call_sid=call_sid,
        defaults={"started_at": timezone.now(), "direction": _direction(direction), **defaults},
    )
    return call


# --------------------------------------------------------------------------- calls


@transaction.atomic
def call_register_inbound(*, call_sid: str, from_number: str, to_number: str) -> Call:
    """Record a call Twilio just put through to us; the caller is looked up by number.

    Twilio retries the webhook, so a second registration returns the same call
    (and fills in what an earlier status callback could not know).
    """
    from_number, to_number = _number(from_number), _number(to_number)
    customer = customer_find_by_phone(from_number)  # "anonymous" or a malformed number -> None
    call = _locked_call(
        call_sid,
        direction=Direction.INBOUND,
        from_number=from_number,
        to_number=to_number,
        customer=customer,
        purpose=Purpose.CUSTOMER_CALL,
    )
    changed = []
    for field, value in (("from_number", from_number), ("to_number", to_number)):
        if value and not getattr(call, field):
            setattr(call, field, value)
            changed.append(field)
    if call.customer_id is None and customer is not None:
        call.customer = customer
        changed.append("customer")
    if changed:
        call.save(update_fields=[*changed, "updated_at"])
    known = customer is not None and call.customer_id == customer.pk
    if known and (customer.last_contact_at is None or customer.last_contact_at < call.started_at):
        crm_services.customer_record_contact(customer=customer, at=call.started_at)
    log.info(
        "Inbound call %s from %s (%s)",
        call_sid,
        mask_phone(from_number) or "no number",
        "known customer" if call.customer_id else "unknown caller",
    )
    return call


@transaction.atomic
def call_register_outbound(
    *, call_sid: str, to_number: str, from_number: str, purpose: str, customer: Customer | None = None,
    appointment_id: int | None = None,
) -> Call:
    """Record a call we placed (a reminder, about ``appointment_id``), as soon as Twilio gave it a CallSid.
    Idempotent."""
    if purpose not in Purpose.values:
        raise CallError(f"Unknown call purpose “{purpose}”.", code="bad_purpose")
    to_number, from_number = _number(to_number), _number(from_number)
    call = _locked_call(
        call_sid,
        direction=Direction.OUTBOUND,
        from_number=from_number,
        to_number=to_number,
        customer=customer,
        purpose=purpose,
        status=CallStatus.QUEUED,
    )
    changed = []
    for field, value in (("from_number", from_number), ("to_number", to_number)):
        if value and not getattr(call, field):
            setattr(call, field, value)
            changed.append(field)
    if call.direction != Direction.OUTBOUND:  # a status callback came first and did not say
        call.direction = Direction.OUTBOUND
        changed.append("direction")
    if call.purpose != purpose:
        call.purpose = purpose
        changed.append("purpose")
    if customer is not None and call.customer_id is None:
        call.customer = customer
        changed.append("customer")
    if appointment_id is not None and call.appointment_id is None:
        call.appointment_id = appointment_id
        changed.append("appointment")
    if changed:
        call.save(update_fields=[*changed, "updated_at"])
    return call


@transaction.atomic
def call_register_reminder_answer(*, call_sid: str, to_number: str, from_number: str) -> Call:
    """The customer picked up a reminder call (Twilio fetched its answer URL): the call is an outbound reminder.

    The dispatcher normally registered the call, with its appointment, when Twilio gave it a CallSid; if that
    write was lost, the call is registered here with the customer found by the number dialled (the appointment
    then stays unknown: voice does not read the reminders' own tables).
    """
    customer = customer_find_by_phone(_number(to_number))
    return call_register_outbound(call_sid=call_sid, to_number=to_number, from_number=from_number,
                                  purpose=Purpose.REMINDER, customer=customer)  # fmt: skip


@transaction.atomic
def call_set_answered_by(*, call_sid: str, answered_by: str) -> Call:
    """Store Twilio's answering-machine detection for a call we placed. The first result stays (Twilio sends one;
    a retried webhook changes nothing). A value Twilio adds later is kept as "unknown" rather than refused."""
    if answered_by not in AnsweredBy.values:
        log.warning("Call %s: unknown AnsweredBy %r stored as unknown", call_sid, answered_by[:40])
        answered_by = AnsweredBy.UNKNOWN
    call = _locked_call(call_sid, direction=Direction.OUTBOUND)
    if not call.answered_by:
        call.answered_by = answered_by
        call.save(update_fields=["answered_by", "updated_at"])
    return call


@transaction.atomic
def call_apply_status(
    *,
    call_sid: str,
    status: str,
    duration_seconds: int | None = None,
    direction: str = "",
    from_number: str = "",
    to_number: str = "",
    at: datetime | None = None,
) -> Call:
    """Apply Twilio's status callback (CallStatus, CallDuration, Direction, From, To, Timestamp).

    Callbacks arrive out of order: a call never moves back (queued < ringing <
    in-progress < any end), and the first end status stays. Ending sets ended_at
    once. A CallSid we do not know yet gets a minimal call.
    """
    if status not in CallStatus.values:
        raise UnknownCallStatus(f"Unknown call status “{status}”.", code="bad_status")
    if duration_seconds is not None and (not isinstance(duration_seconds, int) or duration_seconds < 0):
        raise CallError("A call's duration is a whole number of seconds.", code="bad_duration")
    call = _locked_call(
        call_sid,
        direction=direction,
        from_number=_number(from_number),
        to_number=_number(to_number),
        status=status,
    )
    changed = set()
    if _rank(status) > _rank(call.status):
        call.status = status
        changed.add("status")
    if call.status in TERMINAL_STATUSES and call.ended_at is None:
        call.ended_at = at or timezone.now()
        changed.add("ended_at")
    if duration_seconds is not None and call.duration_seconds is None:
        call.duration_seconds = duration_seconds
        changed.add("duration_seconds")
    if changed:
        call.save(update_fields=[*sorted(changed), "updated_at"])
    return call


@transaction.atomic
def call_mark_stream_started(*, call_sid: str, stream_sid: str) -> Call:
    """The media stream is up: the call is answered and in progress (unless it already ended)."""
    call = _locked_call(call_sid)
    changed = set()
    if stream_sid and call.stream_sid != stream_sid:
        call.stream_sid = stream_sid[:64]
        changed.add("stream_sid")
    if call.answered_at is None:
        call.answered_at = timezone.now()
        changed.add("answered_at")
    if call.status not in TERMINAL_STATUSES and call.status != CallStatus.IN_PROGRESS:
        call.status = CallStatus.IN_PROGRESS
        changed.add("status")
    if changed:
        call.save(update_fields=[*sorted(changed), "updated_at"])
    if call.direction == Direction.OUTBOUND and call.customer_id and "answered_at" in changed:
        crm_services.customer_record_contact(customer=call.customer, at=call.answered_at)
    return call


@transaction.atomic
def call_finish(
    *,
    call_sid: str,
    outcome: str,
    reason: str = "",
    error: str = "",
    transfer_target: str = "",
    summary: str = "",
) -> Call:
    """Say how the conversation ended. The first outcome written wins; later calls only fill an empty error
    or summary (e.g. the session's summary after the webhook recorded a transfer).

    Writing the outcome enqueues the call's summary (``voice.tasks.summarize_call``) once the transaction
    commits. Every way a call ends comes through here: the session, the transfer-result and message webhooks,
    and ``calls_settle_unfinished`` for calls that ended on Twilio's side (a caller who hung up in the
    fallback, an outbound call nobody answered). Twilio's status callback alone does not enqueue it: it can
    come before the outcome that decides the result (a message left after the fallback's apology).
    """
    if outcome not in Outcome.values or outcome == Outcome.IN_PROGRESS:
        raise CallError(f"Unknown call outcome “{outcome}”.", code="bad_outcome")
    call = _locked_call(call_sid)
    changed = set()
    if call.outcome == Outcome.IN_PROGRESS:
        call.outcome = outcome
        changed.add("outcome")
        call_id = call.pk
        # robust: a broker that is down (or a summary that fails) never undoes or breaks the call's ending.
        transaction.on_commit(lambda: tasks.summarize_call.delay(call_id), robust=True)
        if reason:
            call.end_reason = reason[:200]
            changed.add("end_reason")
        if transfer_target:
            call.transfer_target = _number(transfer_target)
            changed.add("transfer_target")
    if error and not call.error:
        call.error = error
        changed.add("error")
    if summary and not call.summary:
        call.summary = summary
        changed.add("summary")
    if call.ended_at is None:
        call.ended_at = timezone.now()
        changed.add("ended_at")
    if changed:
        call.save(update_fields=[*sorted(changed), "updated_at"])
    return call


# Twilio's final status can arrive a moment before the session or a webhook writes how the call ended (the
# agent hangs up through the REST API, then records "completed"); only a call that stayed without an outcome
# this long after it ended is settled from its status.
SETTLE_AFTER = timedelta(minutes=2)
_OUTCOME_OF_UNFINISHED = {
    CallStatus.FAILED: Outcome.ERROR,
    CallStatus.BUSY: Outcome.NO_RESPONSE,  # an outbound call nobody took
    CallStatus.NO_ANSWER: Outcome.NO_RESPONSE,
}  # completed and canceled: the caller hung up


def calls_settle_unfinished(*, now: datetime | None = None) -> int:
    """Give an outcome to calls that ended on Twilio's side with none recorded: typically a caller who hung up
    while a transfer rang or before leaving a message. Returns how many were settled."""
    cutoff = (now or timezone.now()) - SETTLE_AFTER
    unfinished = Call.objects.filter(outcome=Outcome.IN_PROGRESS, status__in=TERMINAL_STATUSES, ended_at__lt=cutoff)
    settled = 0
    for call_sid, status in list(unfinished.values_list("call_sid", "status")):
        reason = f"Ended on Twilio's side ({status}) before an outcome was recorded"
        outcome = _OUTCOME_OF_UNFINISHED.get(status, Outcome.CALLER_HUNG_UP)
        call = call_finish(call_sid=call_sid, outcome=outcome, reason=reason)  # the first outcome written wins
        settled += call.end_reason == reason
    return settled


@transaction.atomic
def call_note_fallback(*, call_sid: str, reason: str, direction: str = "") -> Call:
    """The phone agent could not take this call (not configured, or Twilio used the fallback URL).

    The reason goes into the call's error (the first one stays) and the
    conversation gets a system line saying so.
    """
    call = _locked_call(call_sid, direction=direction)
    if not call.error:
        call.error = reason
        call.save(update_fields=["error", "updated_at"])
    note = f"Fallback: {reason}"
    if not call.turns.filter(speaker=Speaker.SYSTEM, text=note).exists():  # Twilio retried the webhook
        _append_turn(call, speaker=Speaker.SYSTEM, text=note)
        log.warning("Call %s went to the fallback: %s", call_sid, reason)
    return call


@transaction.atomic
def call_add_system_note(*, call_sid: str, text: str) -> Turn:
    """Something that happened on the line (a transfer not answered, a reconnect), as a system turn."""
    call = _locked_call(call_sid)
    return _append_turn(call, speaker=Speaker.SYSTEM, text=text)


# --------------------------------------------------------------------------- turns


def _timing(name: str, value, *, digits: int | None = None) -> int | float | None:
    """A duration in milliseconds (whole ones unless ``digits``), or None when missing, negative, absurd or not a
    number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0 or number > MAX_TIMING_MS:
        log.info("Dropped an implausible %s of %r", name, value)
        return None
    return round(number, digits)


def _append_turn(call: Call, *, speaker: str, text: str, started_at=None, ended_at=None, **fields) -> Turn:
    """Add a turn at the next position; the caller holds the call row's lock."""
    last = call.turns.order_by("-position").values_list("position", flat=True).first()
    now = timezone.now()
    return Turn.objects.create(
        call=call,
        position=(last or 0) + 1,
        speaker=speaker,
        text=text,
        started_at=started_at or now,
        ended_at=ended_at or started_at or now,
        **fields,
    )


@transaction.atomic
def turn_record(
    *,
    call_sid: str,
    speaker: str,
    text: str,
    heard_text: str = "",
    interrupted: bool = False,
    preemptive: bool = False,
    started_at: datetime,
    ended_at: datetime,
    timings: dict | None = None,
    tools: Sequence[tuple[agent_records.ToolInvocation, bool]] = (),
) -> Turn:
    """Save one finished turn of the conversation at the call's next position.

    ``preemptive`` (agent turns): the reply began before the caller's final transcript. ``timings`` (agent turns) maps agent_first_token_ms, tts_first_byte_ms,
    first_frame_ms and first_mark_ms to milliseconds; implausible values are
    stored as unknown. ``tools`` (agent turns) are the tool calls of that reply
    as (invocation, whether the caller heard the answer after it), saved with
    the turn in order, with what they changed. Safe when two writers record
    turns of one call at once; a retry of a saved turn (same speaker, start and
    text) returns it and saves only what it lacked.
    """
    if speaker not in Speaker.values:
        raise CallError(f"Unknown speaker “{speaker}”.", code="bad_speaker")
    if tools and speaker != Speaker.AGENT:
        raise CallError("Only the agent's turns have tool calls.", code="tools_not_agent")
    for moment in (started_at, ended_at):
        if not isinstance(moment, datetime) or timezone.is_naive(moment):
            raise CallError("A turn's start and end must be aware datetimes.", code="naive_time")
    unknown = set(timings or {}) - set(TIMING_FIELDS)
    if unknown:
        raise CallError(f"Unknown turn timings: {', '.join(sorted(unknown))}.", code="bad_timing")
    measured = {name: _timing(name, (timings or {}).get(name)) for name in TIMING_FIELDS}
    call = _locked_call(call_sid)
    turn = call.turns.filter(speaker=speaker, started_at=started_at, text=text or "").first()
    if turn is None:
        turn = _append_turn(
            call,
            speaker=speaker,
            text=text or "",
            heard_text=heard_text or "",
            interrupted=bool(interrupted),
            preemptive=bool(preemptive) and speaker == Speaker.AGENT,
            started_at=started_at,
            ended_at=max(ended_at, started_at),
            **measured,
        )
    _save_invocations(call, turn, tools)
    return turn


# --------------------------------------------------------------------------- the agent's tool calls


@transaction.atomic
def tool_invocation_record(
    *, call_sid: str, invocation: agent_records.ToolInvocation, heard: bool = False
) -> ToolInvocation:
    """Save a tool call that finished after the agent turn it belongs to was saved (a write the caller talked
    over). It goes with the call's latest agent turn that had begun when the tool started, or with none.
    A retry returns the invocation saved the first time."""
    call = _locked_call(call_sid)
    turn = (
        call.turns.filter(speaker=Speaker.AGENT, started_at__lte=invocation.started_at)
        .order_by("-position")
        .first()
    )
    (saved,) = _save_invocations(call, turn, [(invocation, heard)])
    return saved


class _RecordEncoder(DjangoJSONEncoder):
    """Dates and times in ISO 8601, decimals and UUIDs as text, anything else as its str()."""

    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _jsonable(value) -> dict:
    """What a tool got or returned, as a JSON object (dates, decimals and the like as text)."""
    if value is None:
        return {}
    loaded = json.loads(json.dumps(value, cls=_RecordEncoder))
    return loaded if isinstance(loaded, dict) else {"value": loaded}


def _save_invocations(
    call: Call, turn: Turn | None, pairs: Sequence[tuple[agent_records.ToolInvocation, bool]]
) -> list[ToolInvocation]:
    """Save (invocation, heard) pairs at the call's next positions, with their changes; the caller holds the
    call row's lock. An invocation already saved (the same tool call id and start) is returned, not saved again.
    """
    if not pairs:
        return []
    for invocation, _ in pairs:
        if not isinstance(invocation.started_at, datetime) or timezone.is_naive(invocation.started_at):
            raise CallError("A tool call's start must be an aware datetime.", code="naive_time")
    ids = {invocation.call.id[:100] for invocation, _ in pairs}
    saved = {(row.tool_call_id, row.started_at): row
             for row in call.tool_invocations.filter(tool_call_id__in=ids)}  # fmt: skip
    last = call.tool_invocations.order_by("-position").values_list("position", flat=True).first() or 0
    rows, new = [], []
    for invocation, heard in pairs:
        key = (invocation.call.id[:100], invocation.started_at)
        if key in saved:
            rows.append(saved[key])
            continue
        kind = str(invocation.kind)
        arguments = invocation.call.arguments
        last += 1
        row = ToolInvocation(
            call=call,
            turn=turn,
            position=last,
            tool_call_id=key[0],
            name=invocation.call.name[:64],
            kind=kind if kind in ToolKind.values else ToolKind.READ,
            round=max(0, min(int(invocation.round or 1), 32767)),
            arguments=_jsonable(arguments) if arguments is not None else {"unreadable": invocation.call.raw_arguments},
            result=_jsonable(invocation.result.data),
            ok=bool(invocation.result.ok),
            error=invocation.error,
            duration_ms=_timing("tool duration", invocation.duration_ms, digits=2),
            heard=bool(heard),
            cancelled=bool(invocation.cancelled),
            started_at=invocation.started_at,
        )
        saved[key] = row
        rows.append(row)
        new.append((row, invocation))
    ToolInvocation.objects.bulk_create([row for row, _ in new])
    changes = [
        CallChange(
            call=call,
            invocation=row,
            kind=str(change.kind),
            appointment_id=change.appointment_id,
            customer_id=change.customer_id,
            vehicle_id=change.vehicle_id,
            callback_id=change.callback_id,
        )
        for row, invocation in new
        for change in invocation.result.changes
    ]
    unknown = [change for change in changes if change.kind not in ChangeKind.values]
    for change in unknown:
        log.warning("Call %s: dropped a change of unknown kind %r", call.call_sid, change.kind)
    changes = [change for change in changes if change.kind in ChangeKind.values]
    _unlink_missing(changes)
    CallChange.objects.bulk_create(changes)
    return rows


_CHANGE_TARGETS = (
    ("appointment_id", Appointment),
    ("customer_id", Customer),
    ("vehicle_id", Vehicle),
    ("callback_id", CallbackRequest),
)


def _unlink_missing(changes: list[CallChange]) -> None:
    """A change still says what happened when what it names is gone (deleted meanwhile): its link is left blank
    rather than failing the whole turn at commit."""
    for field, model in _CHANGE_TARGETS:
        wanted = {getattr(change, field) for change in changes} - {None}
        if not wanted:
            continue
        found = set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        for change in changes:
            if getattr(change, field) not in found:
                setattr(change, field, None)


# --------------------------------------------------------------------------- hand-over and summary


@transaction.atomic
@transaction.atomic
def call_identify_customer(*, call_sid: str, customer_id: int) -> Call:
    """The caller turned out to be this customer (proved during the call, or just created): the call is theirs.

    A call already tied to a customer by its number keeps that customer.
    """
    call = _locked_call(call_sid)
    if call.customer_id is None:
        call.customer = Customer.objects.get(pk=customer_id)
        call.save(update_fields=["customer", "updated_at"])
    return call


@transaction.atomic
def call_set_handover_summary(*, call_sid: str, summary: str) -> Call:
    """What the advisor is told when the caller is handed over (the whisper; on a message, the callback's note).
    The latest hand-over's words stand; empty words change nothing."""
    call = _locked_call(call_sid)
    summary = " ".join((summary or "").split())
    if summary and call.handover_summary != summary:
        call.handover_summary = summary
        call.save(update_fields=["handover_summary", "updated_at"])
    return call


def call_summarize(*, call_id: int) -> Call | None:
    """Write the call's result (from its records) and its summary (two sentences; kept when it already has
    one), and note the contact on the customer. Safe to run again: the result is worked out afresh, the model
    is asked only while the summary is empty. None when there is no such call.

    The model is asked outside any transaction: nothing stays locked while it writes.
    """
    call = selectors.call_with_records(call_id)
    if call is None:
        return None
    result = selectors.call_result(call)
    summary = call.summary
    if not summary:
        summary = summarize(lines=selectors.call_summary_lines(call), actions=selectors.call_actions(call))
    return call_record_summary(call_id=call_id, summary=summary, result=result)


@transaction.atomic
def call_record_summary(*, call_id: int, summary: str, result: str) -> Call:
    """Store the call's summary (the first one stays) and result, and move the customer's last contact up to
    the end of the call if it was a conversation (an inbound call, or an outbound one that was answered)."""
    if result not in CallResult.values or result == CallResult.PENDING:
        raise CallError(f"Unknown call result “{result}”.", code="bad_result")
    call = Call.objects.select_for_update().get(pk=call_id)
    changed = set()
    if summary and not call.summary:
        call.summary = summary
        changed.add("summary")
    if call.result != result:
        call.result = result
        changed.add("result")
    if changed:
        call.save(update_fields=[*sorted(changed), "updated_at"])
    talked = call.direction == Direction.INBOUND or call.answered_at is not None
    customer_id = call.customer_id or selectors.customer_changed_by(call.pk)
    if talked and customer_id is not None:
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        at = call.ended_at or timezone.now()
        if customer.last_contact_at is None or customer.last_contact_at < at:
            crm_services.customer_record_contact(customer=customer, at=at)
    return call


# --------------------------------------------------------------------------- callback requests


def _callback_phone(phone: str, call: Call | None) -> str:
    """The number to call back: as given, else the caller's side of the call; in E.164 when it is a number."""
    raw = (phone or "").strip()
    if not raw and call is not None:
        raw = call.to_number if call.direction == Direction.OUTBOUND else call.from_number
    return try_normalize_phone(raw) or _number(raw)


@transaction.atomic
def callback_request_create(
    *, phone: str, call_sid: str | None = None, message: str = "", recording_url: str = "",
    customer_id: int | None = None,
) -> CallbackRequest:
    """A message for a person to call back. The customer is ``customer_id`` (who the agent verified the caller to
    be), else the call's, else whoever has that phone; the call's hand-over summary (what the agent said about
    the caller before a message was taken) goes with it.

    Idempotent for one recording of one call (Twilio may post the same recording twice).
    """
    call = _locked_call(call_sid) if call_sid else None
    phone = _callback_phone(phone, call)
    if not phone:
        raise CallError("A callback request needs a number to call back.", code="no_phone")
    if recording_url:
        existing = CallbackRequest.objects.filter(recording_url=recording_url)
        existing = existing.filter(call=call) if call is not None else existing
        found = existing.select_for_update().first()
        if found is not None:
            if message and not found.message:
                found.message = message
                found.save(update_fields=["message"])
            return found
    if customer_id is not None:
        customer = Customer.objects.filter(pk=customer_id).first()
    else:
        customer = call.customer if call is not None and call.customer_id else customer_find_by_phone(phone)
    callback = CallbackRequest.objects.create(
        call=call,
        customer=customer,
        phone=phone,
        message=message,
        recording_url=recording_url,
        # A message left after a hand-over carries what the agent would have told the advisor.
        handover_summary=call.handover_summary if call is not None else "",
    )
    log.info("Callback request %s for %s", callback.pk, mask_phone(phone))
    return callback


@transaction.atomic
def callback_request_set_transcript(
    *,
    recording_url: str = "",
    callback: CallbackRequest | None = None,
    message: str,
    call_sid: str | None = None,
    phone: str = "",
) -> CallbackRequest:
    """Put the text of a message on its callback request: Twilio's transcript (found by the recording's URL),
    or staff's correction (``callback=``). Transcripts can come before the recording's own webhook: then the
    request is made now, and that webhook finds it."""
    if callback is not None:
        found = CallbackRequest.objects.select_for_update().get(pk=callback.pk)
    elif recording_url:
        found = CallbackRequest.objects.select_for_update().filter(recording_url=recording_url).first()
        if found is None:
            found = callback_request_create(
                phone=phone, call_sid=call_sid, recording_url=recording_url, message=message
            )
    else:
        raise CallError("Which message is this transcript for?", code="no_recording")
    # A transcript never blanks a message; staff editing the request (``callback=``) may.
    if (message or callback is not None) and found.message != message:
        found.message = message
        found.save(update_fields=["message"])
    return found


@transaction.atomic
def callback_request_mark_done(*, callback: CallbackRequest, user: AbstractBaseUser | None) -> CallbackRequest:
    """Somebody called back. Marking a done request again changes nothing."""
    callback = CallbackRequest.objects.select_for_update().get(pk=callback.pk)
    if callback.status == CallbackStatus.DONE:
        return callback
    callback.status = CallbackStatus.DONE
    callback.handled_by = user if user is not None and user.is_authenticated else None
    callback.handled_at = timezone.now()
    callback.save(update_fields=["status", "handled_by", "handled_at"])
    return callback
