"""What staff do to a reminder call (skip it, call it now); every change goes through reminders.transitions."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from crm.errors import ServiceError
from crm.phones import try_normalize_phone
from reminders.models import ReminderCall, ReminderStatus, SkipReason
from reminders.planning import PLANNED_STATUSES, skip_reason, tomorrow
from reminders.transitions import reminder_transition
from scheduling.actors import Actor
from scheduling.models import AppointmentStatus
from scheduling.selectors import dealership_zone


class ReminderError(ServiceError):
    """A reminder-call change that cannot be done as asked; the message says why, in one sentence."""


# Rows "call now" may put back in the queue: waiting, or ended without reaching anyone.
REQUEUABLE_STATUSES = (ReminderStatus.QUEUED, ReminderStatus.NO_ANSWER, ReminderStatus.BUSY, ReminderStatus.FAILED)


def _locked(reminder: ReminderCall) -> ReminderCall:
    """The row again, locked: a dispatcher may have claimed it since the caller read it."""
    return (ReminderCall.objects.select_for_update(of=("self",)).select_related("appointment__customer")
            .get(pk=reminder.pk))  # fmt: skip


@transaction.atomic
def reminder_skip(reminder: ReminderCall, *, actor: Actor, reason: str = SkipReason.STAFF) -> ReminderCall:
    """Do not call: only a row still waiting in the queue (one being dialled is past stopping)."""
    reminder = _locked(reminder)
    if reminder.status != ReminderStatus.QUEUED:
        state = reminder.get_status_display().lower()
        raise ReminderError(f"Only a queued reminder can be skipped; this one is {state}.", code="not_queued")
    return reminder_transition(reminder, to_status=ReminderStatus.SKIPPED, actor=actor, skip_reason=reason,
                               next_attempt_at=None, note=SkipReason(reason).label)  # fmt: skip


@transaction.atomic
def reminder_queue_now(reminder: ReminderCall, *, actor: Actor, now: datetime | None = None) -> ReminderCall:
    """ "Call now": due at once, under the same rules as planning. The dispatcher still keeps to the
    calling window and the rate limits, so this never dials by itself."""
    now = now or timezone.now()
    reminder = _locked(reminder)
    appointment, customer = reminder.appointment, reminder.appointment.customer
    if reminder.status not in REQUEUABLE_STATUSES:
        raise ReminderError(f"A reminder that is {reminder.get_status_display().lower()} cannot be called again.",
                            code="not_requeuable")  # fmt: skip
    if appointment.status not in PLANNED_STATUSES:
        raise ReminderError(f"The appointment is {appointment.get_status_display().lower()}.", code="inactive")
    if timezone.localtime(appointment.starts_at, dealership_zone()).date() < tomorrow(now):
        raise ReminderError("The appointment is today or past; a reminder call is only for later days.",
                            code="too_late")  # fmt: skip
    phone = try_normalize_phone(customer.phone or "") or ""
    reason = skip_reason(status=AppointmentStatus.BOOKED, phone=phone, do_not_call=customer.do_not_call,
                         consents=customer.reminder_calls)  # fmt: skip
    if reason:
        raise ReminderError(f"{customer.full_name} cannot be called: {SkipReason(reason).label.lower()}.",
                            code=reason)  # fmt: skip
    return reminder_transition(reminder, to_status=ReminderStatus.QUEUED, actor=actor, note="call now",
                               next_attempt_at=now, phone=phone, result="", skip_reason="")  # fmt: skip
