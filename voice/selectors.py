"""Reads with rules: a call with its conversation and records, what a call achieved, the messages waiting for a
callback, whether the agent can run, where a transfer rings."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from agent.tools.calls import TRANSFER
from crm.phones import phone_digits, try_normalize_phone
from crm.selectors import MIN_PHONE_FRAGMENT_DIGITS
from scheduling.selectors import shop_is_open
from voice.models import (
    Call,
    CallbackRequest,
    Direction,
    Purpose,
    CallbackStatus,
    CallChange,
    CallResult,
    ChangeKind,
    Outcome,
    Speaker,
    ToolInvocation,
    ToolKind,
    Turn,
)

# The agent's knowledge-base tool: a call where it found an answer "answered" the caller.
KNOWLEDGE_TOOL = "search_knowledge"
# Appointment changes decide a call's result in this order: a booking outweighs a move, and so on.
APPOINTMENT_RESULTS = [
    (ChangeKind.BOOKED, CallResult.BOOKED),
    (ChangeKind.MOVED, CallResult.MOVED),
    (ChangeKind.CANCELLED, CallResult.CANCELLED),
    (ChangeKind.CONFIRMED, CallResult.CONFIRMED),
]

# A customer who calls within this long after a reminder call (answered, missed or left on their voicemail) is
# taken to be calling about that reminder's appointment.
REMINDER_CALLBACK_WINDOW = timedelta(days=2)

# What the phone agent needs to answer a call; without any of them calls go to the fallback. A model is not
# among them: without OPENAI_API_KEY the offline agent answers (agent.factory).
PHONE_AGENT_SETTINGS = ("DEEPGRAM_API_KEY",)


def _conversation() -> list[Prefetch]:
    return [
        Prefetch("turns", queryset=Turn.objects.order_by("position")),
        Prefetch("callbacks", queryset=CallbackRequest.objects.select_related("handled_by").order_by("created_at")),
    ]


def _changes_with_targets() -> QuerySet[CallChange]:
    """Changes with what they link to, ready to be named and linked without further queries."""
    return CallChange.objects.select_related("appointment__customer", "customer", "vehicle", "callback").order_by(
        "id"
    )


def call_with_conversation(call_id: int) -> Call | None:
    """The call with its customer, its turns in order (``call.turns.all()``) and its callback requests, in
    a fixed number of queries; None when there is no such call."""
    return Call.objects.select_related("customer").prefetch_related(*_conversation()).filter(pk=call_id).first()


def call_with_records(call_id: int) -> Call | None:
    """The call's page: ``call_with_conversation`` plus its tool calls in order (``call.tool_invocations.all()``)
    and what it changed (``call.changes.all()``, with the appointment, customer, vehicle or callback each
    names), in a fixed number of queries; None when there is no such call."""
    return (
        Call.objects.select_related("customer")
        .prefetch_related(
            *_conversation(),
            Prefetch("tool_invocations", queryset=ToolInvocation.objects.order_by("position")),
            Prefetch("changes", queryset=_changes_with_targets()),
        )
        .filter(pk=call_id)
        .first()
    )


def calls_with_changes() -> QuerySet[Call]:
    """Calls, newest first, each with what it changed (``call.changes.all()``), for lists of a customer's calls."""
    return Call.objects.prefetch_related(Prefetch("changes", queryset=_changes_with_targets())).order_by(
        "-started_at"
    )


# --------------------------------------------------------------------------- what a call achieved


def call_result(call: Call) -> str:
    """What the call achieved, from its records (never from the model), the first that applies: the customer
    opted out of our calls (staff must see that above all); an appointment booked, moved, cancelled or confirmed
    (in that order); a voicemail left; put through to a person; a message taken; a question answered from the
    knowledge base; else nothing done. ``call`` from ``call_with_records``."""
    kinds = {change.kind for change in call.changes.all()}
    if ChangeKind.OPTED_OUT in kinds:
        return CallResult.OPTED_OUT
    for kind, result in APPOINTMENT_RESULTS:
        if kind in kinds:
            return result
    if call.outcome == Outcome.VOICEMAIL:
        return CallResult.VOICEMAIL
    if call.outcome == Outcome.TRANSFERRED:
        return CallResult.TRANSFERRED
    if call.outcome == Outcome.MESSAGE_TAKEN or ChangeKind.MESSAGE_TAKEN in kinds:
        return CallResult.MESSAGE_TAKEN
    if any(tool.name == KNOWLEDGE_TOOL and tool.ok for tool in call.tool_invocations.all()):
        return CallResult.ANSWERED
    return CallResult.NOTHING_DONE


def _at(moment) -> str:
    return f"{timezone.localtime(moment):%a %b %-d at %-I:%M %p}"


def describe_change(change: CallChange) -> str:
    """One short sentence for a change, e.g. "Booked an appointment for Tue Dec 1 at 9:00 AM."."""
    appointment = change.appointment
    when = f" for {_at(appointment.starts_at)}" if appointment is not None else ""
    on = f" on {_at(appointment.starts_at)}" if appointment is not None else ""
    match change.kind:
        case ChangeKind.BOOKED:
            return f"Booked an appointment{when}."
        case ChangeKind.MOVED:
            return f"Moved an appointment to {_at(appointment.starts_at)}." if appointment else "Moved an appointment."
        case ChangeKind.CANCELLED:
            return f"Cancelled the appointment{on}."
        case ChangeKind.CONFIRMED:
            return f"Confirmed the appointment{on}."
        case ChangeKind.CUSTOMER_CREATED:
            return f"Added {change.customer} as a new customer." if change.customer else "Added a new customer."
        case ChangeKind.VEHICLE_ADDED:
            return f"Added the {change.vehicle} to the customer's vehicles." if change.vehicle else "Added a vehicle."
        case ChangeKind.MESSAGE_TAKEN:
            return "Took a message for an advisor to call back."
        case ChangeKind.OPTED_OUT:
            return "Put the customer on do-not-call, as they asked."
    return f"{change.get_kind_display().capitalize()}."


def call_actions(call: Call) -> list[str]:
    """Short sentences of what the agent's tools did: each change, questions answered, writes refused, a
    hand-over. ``call`` from ``call_with_records``."""
    actions = [describe_change(change) for change in call.changes.all()]
    tools = list(call.tool_invocations.all())
    if any(tool.name == KNOWLEDGE_TOOL and tool.ok for tool in tools):
        actions.append("Answered a question from the dealership's FAQs.")
    for tool in tools:
        if tool.kind == ToolKind.WRITE and not tool.ok and not tool.cancelled:
            reason = tool.error.strip().rstrip(".")
            actions.append(f"Could not {tool.name.replace('_', ' ')}" + (f" ({reason})." if reason else "."))
    if any(tool.name == TRANSFER and tool.ok for tool in tools):
        actions.append("Handed the caller over to a person.")
    return actions


def call_summary_lines(call: Call) -> list[tuple[str, str]]:
    """The conversation as (speaker, text): what the caller said and what of the agent's words they heard."""
    lines = []
    for turn in call.turns.all():
        if turn.speaker == Speaker.CALLER:
            text = turn.text
        elif turn.speaker == Speaker.AGENT:
            text = turn.heard_text if turn.interrupted else turn.text
        else:
            continue
        if text.strip():
            lines.append((turn.speaker, text.strip()))
    return lines


def customer_changed_by(call_id: int) -> int | None:
    """The customer the call's changes concern (e.g. one it created or booked for), for a call with none of
    its own; None when its changes name nobody."""
    change = (
        CallChange.objects.filter(call_id=call_id)
        .filter(Q(customer__isnull=False) | Q(appointment__isnull=False))
        .select_related("appointment")
        .order_by("id")
        .first()
    )
    return (change.customer_id or change.appointment.customer_id) if change else None


def call_handover_summary(call_sid: str) -> str:
    """What the advisor taking over this call is told ("" for a call we do not know)."""
    return Call.objects.filter(call_sid=call_sid).values_list("handover_summary", flat=True).first() or ""


# --------------------------------------------------------------------------- callbacks


def open_callbacks() -> QuerySet[CallbackRequest]:
    """Messages nobody has called back yet, the longest waiting first."""
    return (
        CallbackRequest.objects.filter(status=CallbackStatus.OPEN)
        .select_related("call", "customer")
        .order_by("created_at", "id")
    )


def phone_agent_missing_settings() -> list[str]:
    """The settings the phone agent needs that are empty (so calls go to the fallback); [] when it can run."""
    return [name for name in PHONE_AGENT_SETTINGS if not (getattr(settings, name, "") or "").strip()]


def number_to_ring(transfer_number: str) -> str:
    """Where a caller handed to a person is put through: the transfer number while the department is open;
    outside its hours nobody would answer, so "" (the caller leaves a message instead)."""
    return transfer_number if transfer_number and shop_is_open() else ""


def call_number_search_q(term: str) -> Q | None:
    """Calls whose own numbers (from or to) match ``term`` in any spelling, or contain a run of 4+ of its digits.

    Calls from unknown callers have no customer, so searching customers' phones alone would miss them.
    None when the term does not look like a phone number.
    """
    term = (term or "").strip()
    q = Q()
    number = try_normalize_phone(term)
    if number:
        q |= Q(from_number=number) | Q(to_number=number)
    digits = phone_digits(term)
    if len(digits) >= MIN_PHONE_FRAGMENT_DIGITS:
        q |= Q(from_number__contains=digits) | Q(to_number__contains=digits)
    return q or None


def open_callbacks_for(customer_id: int) -> QuerySet[CallbackRequest]:
    """A customer's messages still waiting for a callback, oldest first (the agent is told about them)."""
    return CallbackRequest.objects.filter(customer_id=customer_id, status=CallbackStatus.OPEN).order_by("created_at")[:5]


def open_requests_for(customer_id: int | None) -> tuple[str, ...]:
    """Those messages as the agent reads them before the first word: "Dec 3: please call about the brakes"."""
    if customer_id is None:
        return ()
    return tuple(
        f"{timezone.localtime(callback.created_at):%b %-d}: {callback.message or 'a callback request'}"[:200]
        for callback in open_callbacks_for(customer_id)
    )


# --------------------------------------------------------------------------- reminder calls


def recent_reminder_appointment(customer_id: int | None, *, now: datetime | None = None) -> int | None:
    """The appointment of the latest reminder call placed to this customer within REMINDER_CALLBACK_WINDOW
    (whatever became of the call), or None."""
    if customer_id is None:
        return None
    since = (now or timezone.now()) - REMINDER_CALLBACK_WINDOW
    return (
        Call.objects.filter(customer_id=customer_id, direction=Direction.OUTBOUND, purpose=Purpose.REMINDER,
                            appointment__isnull=False, started_at__gte=since)  # fmt: skip
        .order_by("-started_at", "-pk")
        .values_list("appointment_id", flat=True)
        .first()
    )
