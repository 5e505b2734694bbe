"""Dispatching reminder calls: claim the rows that are due, place each call exactly once, follow it to its end.

One attempt of a row:

    queued --claim--> dialing (attempts + 1; committed before Twilio is asked)
    dialing --place--> asked (committed), then the CallSid (stored the moment Twilio gives it)
    then Twilio's status callbacks (reminders.webhooks) or the repair:
    in_progress -> completed | voicemail, or no answer | busy | failed -> queued for a retry, or final.

No appointment gets two calls for one reminder, by three rules:

1. Rows are claimed with ``select_for_update(skip_locked=True)``, one dispatcher at a time (a transaction-level
   advisory lock, so the live-call cap holds too): a row is claimed once.
2. ``place`` acts only on a claimed row nobody has asked Twilio about: dialing, no CallSid, its attempt still
   pending (``next_attempt_at``). It clears ``next_attempt_at`` under the row lock and commits BEFORE asking
   Twilio, then stores the CallSid in a transaction of its own: a task delivered twice, or again after its
   worker died, finds the row already asked for and does nothing.
3. A row asked for but left without a CallSid (a worker killed mid-create, a create whose answer was lost) is
   never dialled again before Twilio has been asked what happened: Twilio's status callbacks carry the
   reminder id and bring the CallSid back by themselves, and the repair lists Twilio's calls to the number.
   Only when Twilio has none does the row go back to the queue.
"""

from __future__ import annotations

import logging
import math
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from crm.models import ConsentSource
from crm.phones import mask_phone, try_normalize_phone
from operations.logging import call_context
from reminders.models import ReminderCall, ReminderEvent, ReminderResult, ReminderStatus, SkipReason
from reminders.planning import plan_missing, skip_reason
from reminders.ratelimit import CallRateLimiter
from reminders.transitions import reminder_transition
from reminders.window import customer_zone, eve_window, next_opening
from scheduling.actors import Actor
from scheduling.models import Appointment, AppointmentEvent
from scheduling.selectors import dealership_zone
from voice.models import AnsweredBy, CallChange, ChangeKind, Purpose
from voice.models import Call as VoiceCall
from voice.providers.twilio import CallInfo, TwilioCalls, TwilioError
from voice.security import public_url
from voice.services import call_register_outbound

log = logging.getLogger(__name__)

LIVE_STATUSES = (ReminderStatus.DIALING, ReminderStatus.IN_PROGRESS)
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
ANSWERED = {"in-progress", "answered"}
NOT_YET_ANSWERED = {"queued", "initiated", "ringing"}
UNANSWERED = {"no-answer": ReminderStatus.NO_ANSWER, "busy": ReminderStatus.BUSY,
              "failed": ReminderStatus.FAILED, "canceled": ReminderStatus.FAILED}  # fmt: skip
TWILIO_STATUSES = NOT_YET_ANSWERED | ANSWERED | {"completed"} | set(UNANSWERED)

# How long a place task waits for a free call slot before it gives its row back to the queue.
RATE_WAIT_SECONDS = 60
# Due rows looked at per run beyond the free places: rows outside the window or no longer to be called are
# settled (deferred, skipped) on the way, so they do not hold up the queue.
SCAN_AHEAD = 50
# Twilio's and our clocks differ a little: a call created this long before the claim still counts as its own.
CLOCK_SLACK = timedelta(minutes=1)
# Held (per transaction) by the claiming dispatcher: counting the live calls and claiming is one step.
DISPATCH_LOCK_KEY = zlib.crc32(b"reminders.dispatch.claim")


def _move(reminder: ReminderCall, to_status: str, *, note: str, call_sid: str | None = None,
          **fields) -> ReminderCall:  # fmt: skip
    """``reminder_transition``, also storing ``call_sid`` on the row when given (the service writes the CallSid
    on its event only). The row must be locked by the caller, so a transaction is open: no savepoint needed."""
    with transaction.atomic(savepoint=False):
        if call_sid is not None and reminder.call_sid != call_sid:
            reminder.call_sid = call_sid
            reminder.save(update_fields=["call_sid", "updated_at"])
        return reminder_transition(reminder, to_status=to_status, actor=Actor.system(), note=note,
                                   call_sid=reminder.call_sid, **fields)  # fmt: skip


_clients = threading.local()


def _twilio() -> TwilioCalls:
    """This thread's Twilio client for the current settings: its HTTP connection is kept between calls (a
    new client per call would open a new connection each time)."""
    key = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, getattr(settings, "TWILIO_API_BASE_URL", ""))
    if getattr(_clients, "key", None) != key:
        _clients.key, _clients.twilio = key, TwilioCalls()
    return _clients.twilio


def _locked(reminder_id: int, *, skip_locked: bool, **filters) -> ReminderCall | None:
    rows = ReminderCall.objects.select_for_update(skip_locked=skip_locked, of=("self",))
    return rows.select_related("appointment__customer").filter(pk=reminder_id, **filters).first()


# --------------------------------------------------------------------------- may we call now?


@dataclass(frozen=True)
class Verdict:
    """Whether a row may be dialled at a moment: ``skip`` (a SkipReason), ``wait_until``, or dial ``phone``."""

    phone: str = ""
    zone: ZoneInfo | None = None
    skip: str = ""
    wait_until: datetime | None = None

    @property
    def dial(self) -> bool:
        return not self.skip and self.wait_until is None


def _planned_day(reminder: ReminderCall, appointment: Appointment) -> date:
    """The appointment's day when the reminder was planned: as recorded, or (a row from before that was
    recorded) the day before the first move made since, if any."""
    if reminder.planned_for is not None:
        return reminder.planned_for
    zone = dealership_zone()
    if appointment.updated_at < reminder.created_at:  # untouched since planning: nothing to look up
        return appointment.starts_at.astimezone(zone).date()
    first_move = (AppointmentEvent.objects.filter(appointment=appointment, at__gte=reminder.created_at,
                                                  action=AppointmentEvent.Action.RESCHEDULED)
                  .order_by("at", "pk").values_list("changes", flat=True).first())  # fmt: skip
    before = ((first_move or {}).get("starts_at") or [None])[0]
    if before:
        try:
            return datetime.fromisoformat(before).astimezone(zone).date()
        except (TypeError, ValueError):
            pass
    return appointment.starts_at.astimezone(zone).date()


def verdict(reminder: ReminderCall, now: datetime) -> Verdict:
    """May ``reminder`` ring at ``now``? The planning rules again (the customer's wishes first), then whether
    the appointment is still on the day it was planned for, then the calling window on the customer's clock:
    inside it, dial; before it, wait for it to open; past the eve's window, too late."""
    appointment = reminder.appointment
    customer = appointment.customer
    phone = try_normalize_phone(customer.phone or "") or ""
    reason = skip_reason(status=appointment.status, phone=phone, do_not_call=customer.do_not_call,
                         consents=customer.reminder_calls)  # fmt: skip
    if reason:
        return Verdict(phone=phone, skip=reason)
    if appointment.starts_at.astimezone(dealership_zone()).date() != _planned_day(reminder, appointment):
        return Verdict(phone=phone, skip=SkipReason.MOVED)
    zone = customer_zone(phone)
    opening = next_opening(now, zone)
    if opening >= eve_window(appointment.starts_at, zone).closes:
        return Verdict(phone=phone, zone=zone, skip=SkipReason.WINDOW_CLOSED)
    if opening > now:
        return Verdict(phone=phone, zone=zone, wait_until=opening)
    return Verdict(phone=phone, zone=zone)


def _settle_undialable(reminder: ReminderCall, found: Verdict, *, give_back_attempt: bool = False) -> None:
    """A row that may not ring now: skipped with the reason, or back in the queue until the window opens."""
    attempts = reminder.attempts - 1 if give_back_attempt else reminder.attempts
    if found.skip:
        _move(reminder, ReminderStatus.SKIPPED, note=SkipReason(found.skip).label, skip_reason=found.skip,
              next_attempt_at=None, attempts=attempts, dialing_since=None)  # fmt: skip
    else:
        local = found.wait_until.astimezone(found.zone)
        _move(reminder, ReminderStatus.QUEUED, note=f"waits for the calling window ({local:%H:%M} {found.zone.key})",
              next_attempt_at=found.wait_until, attempts=attempts, dialing_since=None)  # fmt: skip


# --------------------------------------------------------------------------- claiming


def not_ready_reason() -> str:
    """Why no call can be placed at all ("" when everything is there): nothing is claimed then."""
    if not _twilio().is_configured():
        return "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)"
    if not (getattr(settings, "TWILIO_PHONE_NUMBER", "") or "").strip():
        return "TWILIO_PHONE_NUMBER is empty"
    if not (getattr(settings, "PUBLIC_BASE_URL", "") or "").strip():
        return "PUBLIC_BASE_URL is empty"
    try:
        reverse("voice:reminder_answer")
        reverse("voice:machine_detection")
    except NoReverseMatch:
        return "the reminder call's answer or machine-detection URL is missing"
    return ""


def default_batch() -> int:
    """Rows one run claims: a minute's worth of calls at the rate limit (the dispatcher runs every minute)."""
    return max(1, math.ceil(settings.REMINDER_CALLS_PER_SECOND * 60))


def dispatch_due(now: datetime | None = None, *, limit: int | None = None) -> list[int]:
    """Claim the rows due at ``now`` that may ring now, up to ``limit`` and the live-call cap, and return their
    ids for ``place``. Rows that may not ring are settled on the way (skipped, or deferred to the window)."""
    now = now or timezone.now()
    plan_missing(now)  # appointments booked since the evening's planning get their rows first
    problem = not_ready_reason()
    if problem:  # rows that may not ring are still settled: a closed window is recorded as such
        log.warning("Reminder calls not dispatched: %s", problem)
    batch = default_batch() if limit is None else limit
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DISPATCH_LOCK_KEY])
        live = ReminderCall.objects.filter(status__in=LIVE_STATUSES).count()
        room = 0 if problem else max(0, min(batch, settings.REMINDER_MAX_LIVE_CALLS - live))
        due = (ReminderCall.objects.select_for_update(skip_locked=True, of=("self",))
               .select_related("appointment__customer")
               .filter(status=ReminderStatus.QUEUED, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "pk")[: room + SCAN_AHEAD])  # fmt: skip
        claimed = []
        for reminder in due:
            found = verdict(reminder, now)
            if not found.dial:
                _settle_undialable(reminder, found)
            elif len(claimed) < room:
                _move(reminder, ReminderStatus.DIALING, note=f"attempt {reminder.attempts + 1}", call_sid="",
                      attempts=reminder.attempts + 1, dialing_since=now, phone=found.phone, call=None,
                      answered_by="", result="")  # fmt: skip
                claimed.append(reminder.pk)
    return claimed


# --------------------------------------------------------------------------- placing


def _url(name: str, reminder_id: int) -> str:
    return public_url(reverse(name) + "?" + urlencode({"reminder": reminder_id}))


def call_limiter() -> CallRateLimiter:
    return CallRateLimiter(settings.REMINDER_CALLS_PER_SECOND)


# A claimed row whose call nobody has asked Twilio for yet: dialing, no CallSid, and its attempt still pending
# (``next_attempt_at`` set). Asking Twilio clears ``next_attempt_at`` first, in a committed transaction.
UNASKED = {"status": ReminderStatus.DIALING, "call_sid": "", "next_attempt_at__isnull": False}


def _requeue_unasked(reminder_id: int, now: datetime, note: str) -> str:
    """Give a claimed row whose call Twilio was never asked for back to the queue, with its attempt."""
    with transaction.atomic():
        reminder = _locked(reminder_id, skip_locked=True, **UNASKED)
        if reminder is None:
            return "nothing to do"
        _move(reminder, ReminderStatus.QUEUED, note=note, attempts=reminder.attempts - 1, next_attempt_at=now,
              dialing_since=None)  # fmt: skip
    return "back in the queue"


def _mark_asking(reminder_id: int, now: datetime) -> Verdict | None:
    """Check the claimed row once more and record, committed, that Twilio is being asked for its call: from
    then on no other task dials it, whatever becomes of this one. None when there is nothing to do."""
    with transaction.atomic():
        reminder = _locked(reminder_id, skip_locked=True, **UNASKED)
        if reminder is None:
            return None
        found = verdict(reminder, now)  # consent or the appointment may have changed since the claim
        if found.dial:
            _move(reminder, ReminderStatus.DIALING, note="asking Twilio to place the call", next_attempt_at=None)
        else:
            _settle_undialable(reminder, found, give_back_attempt=True)
        return found


def _store_call_sid(reminder_id: int, call_sid: str, phone: str) -> None:
    """The CallSid and the voice call, at once, in their own transaction (a status callback may have brought
    the CallSid already: then it is the same one)."""
    with transaction.atomic():
        reminder = _locked(reminder_id, skip_locked=False)
        if reminder is None or reminder.call_sid not in ("", call_sid):
            log.warning("Reminder %s: Twilio's CallSid %s came after the row moved on", reminder_id, call_sid)
            return
        from_number = settings.TWILIO_PHONE_NUMBER.strip()
        call = call_register_outbound(call_sid=call_sid, to_number=phone, from_number=from_number,
                                      purpose=Purpose.REMINDER, customer=reminder.appointment.customer,
                                      appointment_id=reminder.appointment_id)  # fmt: skip
        _move(reminder, reminder.status, note="Twilio accepted the call", call_sid=call_sid, call=call)


def _refused(reminder_id: int, now: datetime, message: str) -> None:
    with transaction.atomic():
        reminder = _locked(reminder_id, skip_locked=False, status=ReminderStatus.DIALING, call_sid="")
        if reminder is not None:
            _after_unanswered(reminder, "failed", now, note=f"Twilio refused the call: {message}"[:255])


def place(reminder_id: int, *, now: datetime | None = None, twilio: TwilioCalls | None = None,
          limiter: CallRateLimiter | None = None) -> str:  # fmt: skip
    """Place the call of a claimed row whose call nobody has asked Twilio for yet, and store its CallSid;
    anything else is left alone, so a task delivered twice, or again after its worker died, places one call.
    Returns what happened, in a few words."""
    if not ReminderCall.objects.filter(pk=reminder_id, **UNASKED).exists():
        return "nothing to do"
    twilio = twilio or _twilio()
    if not twilio.is_configured():
        return _requeue_unasked(reminder_id, now or timezone.now(), "Twilio is not configured")
    if (limiter or call_limiter()).acquire(max_wait=RATE_WAIT_SECONDS) is None:
        return _requeue_unasked(reminder_id, now or timezone.now(), "no call slot free (rate limit)")
    now = now or timezone.now()
    found = _mark_asking(reminder_id, now)
    if found is None:
        return "nothing to do"
    if not found.dial:
        return "not called: " + (found.skip or "outside the calling window")
    try:
        call_sid = twilio.place_call(
            to=found.phone, from_=settings.TWILIO_PHONE_NUMBER.strip(), url=_url("voice:reminder_answer", reminder_id),
            status_callback=_url("reminders:status", reminder_id), status_callback_events=STATUS_EVENTS,
            async_amd_status_callback=public_url(reverse("voice:machine_detection")),
            ring_seconds=settings.REMINDER_RING_SECONDS, time_limit_seconds=settings.REMINDER_TIME_LIMIT_SECONDS,
        )  # fmt: skip
    except TwilioError as error:
        if error.status is not None and error.status < 500:  # refused: no call exists
            _refused(reminder_id, now, error.message)
            return "refused by Twilio"
        # No answer, or a server error: a call may exist. Its status callbacks or the repair will tell.
        log.warning("Reminder %s: %s; left dialing for the repair", reminder_id, error.message)
        return "not known: left for the repair"
    with call_context(call_sid):  # from here on the lines belong to the call
        _store_call_sid(reminder_id, call_sid, found.phone)
        log.info("Reminder %s: calling %s (%s)", reminder_id, mask_phone(found.phone), call_sid)
    return "placed"


# --------------------------------------------------------------------------- what the call came to


def _after_unanswered(reminder: ReminderCall, twilio_status: str, now: datetime, *, note: str = "") -> None:
    """Not reached: again after REMINDER_RETRY_DELAY_MINUTES while retries are left and that is still inside
    the customer's window on the appointment's eve; else final."""
    final = UNANSWERED[twilio_status]
    retry_at = now + timedelta(minutes=settings.REMINDER_RETRY_DELAY_MINUTES)
    zone = customer_zone(reminder.phone)
    note = note or f"Twilio: {twilio_status}"
    if reminder.attempts <= settings.REMINDER_MAX_RETRIES and retry_at < eve_window(
            reminder.appointment.starts_at, zone).closes:  # fmt: skip
        local = retry_at.astimezone(zone)
        _move(reminder, ReminderStatus.QUEUED, note=f"{note}; again at {local:%H:%M} {zone.key}"[:255],
              next_attempt_at=retry_at, dialing_since=None)  # fmt: skip
    else:
        _move(reminder, final, note=note, next_attempt_at=None, dialing_since=None)


def is_machine(answered_by: str) -> bool:
    return answered_by.startswith("machine") or answered_by == "fax"


def call_result(reminder: ReminderCall, call_sid: str) -> str:
    """What the call changed, as a ReminderResult: the appointment's fate first (rescheduled, cancelled,
    confirmed), then an opt-out, else no response."""
    changes = set(CallChange.objects.filter(call__call_sid=call_sid)
                  .values_list("kind", "appointment_id"))  # fmt: skip
    mine = {kind for kind, appointment_id in changes if appointment_id == reminder.appointment_id}
    kinds = {kind for kind, _ in changes}
    if ChangeKind.MOVED in mine or (ChangeKind.CANCELLED in mine and ChangeKind.BOOKED in kinds):
        return ReminderResult.RESCHEDULED  # moved, or cancelled and booked again on the same call
    if ChangeKind.CANCELLED in mine:
        return ReminderResult.CANCELLED
    if ChangeKind.CONFIRMED in mine:
        return ReminderResult.CONFIRMED
    customer = reminder.appointment.customer
    opted_out_now = (customer.do_not_call and customer.do_not_call_source == ConsentSource.REMINDER_CALL
                     and customer.do_not_call_changed_at is not None and reminder.dialing_since is not None
                     and customer.do_not_call_changed_at >= reminder.dialing_since)  # fmt: skip
    if ChangeKind.OPTED_OUT in kinds or opted_out_now:
        return ReminderResult.OPTED_OUT
    return ReminderResult.NO_RESPONSE


def _is_earlier_attempt(reminder: ReminderCall, call_sid: str) -> bool:
    return ReminderEvent.objects.filter(reminder=reminder, call_sid=call_sid).exists()


def _adopt(reminder: ReminderCall, call_sid: str, now: datetime, *, how: str) -> None:
    """A call Twilio placed for this row that the row did not know (its placing worker died, or the create's
    answer was lost): the row takes its CallSid, so nobody dials again."""
    from_number = (getattr(settings, "TWILIO_PHONE_NUMBER", "") or "").strip()
    call = call_register_outbound(call_sid=call_sid, to_number=reminder.phone, from_number=from_number,
                                  purpose=Purpose.REMINDER, customer=reminder.appointment.customer,
                                  appointment_id=reminder.appointment_id)  # fmt: skip
    fields = {"call": call, "next_attempt_at": None}
    if reminder.status == ReminderStatus.QUEUED:  # it had been given back to the queue: the attempt happened
        fields.update(attempts=reminder.attempts + 1, dialing_since=now)
    _move(reminder, ReminderStatus.DIALING, note=f"call found {how}", call_sid=call_sid, **fields)


def _apply(reminder: ReminderCall, *, call_sid: str, status: str, answered_by: str, now: datetime,
           how: str) -> ReminderCall:  # fmt: skip
    """Apply Twilio's status of ``call_sid`` to the locked row. Final rows never move, callbacks of earlier
    attempts change nothing, a repeated callback changes nothing."""
    if reminder.is_final:
        return reminder
    if reminder.call_sid != call_sid:
        if reminder.call_sid or _is_earlier_attempt(reminder, call_sid):
            return reminder  # a late callback of an earlier attempt
        if reminder.status not in (ReminderStatus.DIALING, ReminderStatus.QUEUED):
            return reminder
        _adopt(reminder, call_sid, now, how=how)
    if answered_by and answered_by not in AnsweredBy.values:  # a value Twilio adds later: kept as "unknown"
        answered_by = AnsweredBy.UNKNOWN
    answered_by = answered_by or reminder.answered_by or (
        VoiceCall.objects.filter(call_sid=call_sid).values_list("answered_by", flat=True).first() or "")
    if status in NOT_YET_ANSWERED:
        return reminder
    if status in ANSWERED:
        if reminder.status == ReminderStatus.DIALING:
            _move(reminder, ReminderStatus.IN_PROGRESS, note="answered", answered_by=answered_by)
        return reminder
    if status == "completed" and reminder.status in LIVE_STATUSES:
        machine = is_machine(answered_by)
        to_status = ReminderStatus.VOICEMAIL if machine else ReminderStatus.COMPLETED
        result = ReminderResult.NO_RESPONSE if machine else call_result(reminder, call_sid)
        _move(reminder, to_status, note=f"call ended ({ReminderResult(result).label.lower()})",
              answered_by=answered_by, result=result, next_attempt_at=None)  # fmt: skip
        return reminder
    if reminder.status in LIVE_STATUSES:
        _after_unanswered(reminder, status, now)
    return reminder


def apply_call_status(reminder_id: int, *, call_sid: str, status: str, answered_by: str = "",
                      now: datetime | None = None) -> ReminderCall | None:  # fmt: skip
    """Twilio's status callback for the reminder's call (``status`` one of TWILIO_STATUSES). Waits for a
    placing worker that holds the row, so the CallSid it stores is seen. None when there is no such row."""
    if status not in TWILIO_STATUSES:
        raise ValueError(f"Unknown Twilio call status {status!r}")
    with transaction.atomic():
        reminder = _locked(reminder_id, skip_locked=False)
        if reminder is None:
            return None
        return _apply(reminder, call_sid=call_sid, status=status, answered_by=answered_by,
                      now=now or timezone.now(), how="by its status callback")  # fmt: skip


# --------------------------------------------------------------------------- repair


def _placed_call(twilio: TwilioCalls, reminder: ReminderCall) -> CallInfo | None:
    """The call Twilio placed for this attempt of the row, if any: from our number to the row's, created
    since the claim, and not a call any reminder already knows (an earlier attempt, or another appointment
    of the same customer). Raises TwilioError when Twilio cannot be asked."""
    since = reminder.dialing_since - CLOCK_SLACK
    from_number = settings.TWILIO_PHONE_NUMBER.strip()
    found = {}
    # Calls that started since the claim's day, and the most recent calls whatever their state: a call not
    # dialled yet, or one that never started (failed, unanswered), has no start time to filter on.
    for since_day in (since.astimezone(UTC).date(), None):
        for call in twilio.calls_to(reminder.phone, from_=from_number, since=since_day):
            found[call.sid] = call
    candidates = [call for call in found.values()
                  if call.direction.startswith("outbound") and (call.created_at is None or call.created_at >= since)]
    sids = [call.sid for call in candidates]
    known = set(ReminderEvent.objects.filter(call_sid__in=sids).values_list("call_sid", flat=True))
    known |= set(ReminderCall.objects.filter(call_sid__in=sids).values_list("call_sid", flat=True))
    fresh = sorted((call for call in candidates if call.sid not in known),
                   key=lambda call: call.created_at or since)  # fmt: skip
    if len(fresh) > 1:
        log.warning("Reminder %s: %d unknown calls to %s since the claim; taking the first", reminder.pk,
                    len(fresh), mask_phone(reminder.phone))  # fmt: skip
    return fresh[0] if fresh else None


def _repair_one(reminder_id: int, now: datetime, twilio: TwilioCalls) -> str:
    with transaction.atomic():
        reminder = _locked(reminder_id, skip_locked=True, status__in=LIVE_STATUSES)
        if reminder is None:
            return "busy or settled"
        try:
            if reminder.call_sid:
                call = twilio.fetch_call(reminder.call_sid)
            else:
                call = _placed_call(twilio, reminder)
        except TwilioError as error:
            log.warning("Reminder %s: cannot ask Twilio (%s); left as it is", reminder.pk, error.message)
            return "Twilio not reachable"
        if call is None:
            _move(reminder, ReminderStatus.QUEUED, note="Twilio has no call for this attempt: back in the queue",
                  attempts=reminder.attempts - 1, next_attempt_at=now, dialing_since=None)  # fmt: skip
            return "back in the queue"
        _apply(reminder, call_sid=call.sid, status=call.status, answered_by=call.answered_by, now=now,
               how="by the repair")  # fmt: skip
        return f"Twilio says {call.status}"


def stuck_ids(now: datetime) -> list[int]:
    """Rows dialing for longer than REMINDER_STUCK_DIALING_MINUTES, and rows still in progress after their
    call must have ended (a lost status callback would hold a live-call place for ever)."""
    stuck = now - timedelta(minutes=settings.REMINDER_STUCK_DIALING_MINUTES)
    longest = timedelta(seconds=settings.REMINDER_RING_SECONDS + settings.REMINDER_TIME_LIMIT_SECONDS)
    rows = ReminderCall.objects.filter(Q(status=ReminderStatus.DIALING, dialing_since__lt=stuck)
                                       | Q(status=ReminderStatus.IN_PROGRESS, dialing_since__lt=stuck - longest))
    return list(rows.order_by("pk").values_list("pk", flat=True))


def repair_stuck(now: datetime | None = None, *, twilio: TwilioCalls | None = None) -> dict[str, int]:
    """Ask Twilio about every stuck row and apply what it says; a row whose call Twilio never placed goes back
    to the queue. Returns how many rows ended which way."""
    now = now or timezone.now()
    twilio = twilio or _twilio()
    outcomes: dict[str, int] = {}
    if not twilio.is_configured():
        return outcomes
    for reminder_id in stuck_ids(now):
        outcome = _repair_one(reminder_id, now, twilio)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
