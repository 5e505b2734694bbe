"""Reads with rules: a call with its conversation, the messages waiting for a callback, whether the agent can run,
where a transfer rings."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from crm.phones import phone_digits, try_normalize_phone
from crm.selectors import MIN_PHONE_FRAGMENT_DIGITS
from scheduling.selectors import shop_is_open
from voice.models import Call, CallbackRequest, CallbackStatus, Turn

# What the phone agent needs to answer a call; without any of them calls go to the fallback.
PHONE_AGENT_SETTINGS = ("DEEPGRAM_API_KEY", "OPENAI_API_KEY")


def call_with_conversation(call_id: int) -> Call | None:
    """The call with its customer, its turns in order (``call.turns.all()``) and its callback requests, in
    a fixed number of queries; None when there is no such call."""
    return (
        Call.objects.select_related("customer")
        .prefetch_related(
            Prefetch("turns", queryset=Turn.objects.order_by("position")),
            Prefetch("callbacks", queryset=CallbackRequest.objects.select_related("handled_by").order_by("created_at")),
        )
        .filter(pk=call_id)
        .first()
    )


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
