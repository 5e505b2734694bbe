"""Planning: a reminder-call row (queued, or skipped with the reason) for each active appointment of a day.

The evening run (``plan_reminders``) and the dispatcher's catch-up (``plan_missing``) share one path:
read the day's appointments with their customers in one query, decide each in Python (the phone number
needs ``phonenumbers``), then insert the rows and their events in one SQL statement that skips rows that
exist already. Re-running is therefore harmless, also while another planner runs: the unique constraint
(appointment, kind) decides, and only rows this run inserted get a "planned" event.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from crm.phones import mask_phone, try_normalize_phone
from reminders.models import ReminderCall, ReminderEvent, ReminderKind, ReminderStatus, SkipReason
from reminders.transitions import reminder_transition
from scheduling.actors import Actor
from scheduling.models import ActorKind, Appointment, AppointmentStatus
from scheduling.selectors import dealership_zone

# Booked or confirmed: a checked-in car is already at the shop, the rest are over or called off.
PLANNED_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
PLANNED_NOTE = "planned"


@dataclass(frozen=True)
class PlanEntry:
    """One appointment's decision, in terms fit for a printout (the phone masked)."""

    appointment_id: int
    starts_at: datetime
    customer: str
    phone: str  # masked: last 4 digits only
    reason: str = ""  # a SkipReason value; "" when queued
    new: bool = False  # this run created its row

    @property
    def reason_label(self) -> str:
        return SkipReason(self.reason).label if self.reason else ""


@dataclass
class Plan:
    day: date
    dry_run: bool = False
    queued: list[PlanEntry] = field(default_factory=list)
    skipped: list[PlanEntry] = field(default_factory=list)
    created: int = 0  # rows inserted by this run (0 on a dry run)
    replanned: int = 0  # rows planned for another day whose appointment moved to this one
    existing: int = 0  # appointments that already had their row before this run

    @property
    def total(self) -> int:
        return len(self.queued) + len(self.skipped)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(str(entry.reason) for entry in self.skipped))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of ``day`` in the dealership's zone: 23 or 25 hours on a DST change."""
    zone = dealership_zone()
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))  # fmt: skip


def tomorrow(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(dealership_zone()).date() + timedelta(days=1)


def plan_reminders(day: date, *, now: datetime | None = None, dry_run: bool = False) -> Plan:
    """Decide every booked or confirmed appointment starting on ``day`` and, unless ``dry_run``, insert the
    rows that do not exist yet. Queued rows are due at ``now``; the dispatcher keeps to the calling window."""
    return _plan(day, now=now or timezone.now(), dry_run=dry_run, only_missing=False)


def plan_missing(now: datetime | None = None) -> Plan:
    """Rows for tomorrow's appointments that have none (booked after the evening's planning).

    The dispatcher calls this every minute, so the usual case is one query finding nothing.
    """
    now = now or timezone.now()
    return _plan(tomorrow(now), now=now, dry_run=False, only_missing=True)


def _plan(day: date, *, now: datetime, dry_run: bool, only_missing: bool) -> Plan:
    start, end = day_bounds(day)
    has_row = Exists(ReminderCall.objects.filter(appointment=OuterRef("pk"), kind=ReminderKind.DAY_BEFORE))
    appointments = (
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end, status__in=PLANNED_STATUSES)
        .annotate(planned=has_row)
        .order_by("starts_at", "pk")
    )
    if only_missing:
        appointments = appointments.filter(planned=False)
    rows = appointments.values_list(
        "pk", "starts_at", "status", "planned", "customer__first_name", "customer__last_name", "customer__phone",
        "customer__do_not_call", "customer__reminder_calls",
    )  # fmt: skip

    plan = Plan(day=day, dry_run=dry_run)
    decisions = []  # (appointment id, status, skip reason, phone) for the insert
    for pk, starts_at, status, planned, first, last, raw_phone, do_not_call, consents in rows:
        phone = try_normalize_phone(raw_phone or "") or ""
        reason = skip_reason(status=status, phone=phone, do_not_call=do_not_call, consents=consents)
        entry = PlanEntry(pk, starts_at, f"{first} {last}".strip(), mask_phone(phone), reason)
        (plan.skipped if reason else plan.queued).append(entry)
        plan.existing += planned
        if not planned:
            decisions.append((pk, ReminderStatus.SKIPPED if reason else ReminderStatus.QUEUED, reason, phone))

    if dry_run:
        return plan
    plan.replanned = _replan_moved(day, now)
    if not decisions:
        return plan
    created = set(_insert(decisions, now, day))
    plan.created = len(created)
    plan.existing += len(decisions) - len(created)  # a concurrent planner inserted the others
    plan.queued = [_mark_new(entry, created) for entry in plan.queued]
    plan.skipped = [_mark_new(entry, created) for entry in plan.skipped]
    return plan


def _replan_moved(day: date, now: datetime) -> int:
    """Rows planned for another day whose appointment is now on ``day`` (moved, say, on its reminder call):
    planned again for this day, as a new reminder (attempts, call and result start over). A row whose call is
    under way is left to finish. Returns how many were planned again."""
    start, end = day_bounds(day)
    moved = (
        ReminderCall.objects.filter(kind=ReminderKind.DAY_BEFORE, appointment__starts_at__gte=start,
                                    appointment__starts_at__lt=end, appointment__status__in=PLANNED_STATUSES,
                                    planned_for__isnull=False)
        .exclude(planned_for=day)
        .exclude(status__in=(ReminderStatus.DIALING, ReminderStatus.IN_PROGRESS))
    )  # fmt: skip
    ids = list(moved.values_list("pk", flat=True))  # the usual case: none, in one query and no lock
    if not ids:
        return 0
    count = 0
    with transaction.atomic():
        locked = moved.filter(pk__in=ids).select_related("appointment__customer")
        for reminder in locked.select_for_update(skip_locked=True, of=("self",)):
            customer = reminder.appointment.customer
            phone = try_normalize_phone(customer.phone or "") or ""
            reason = skip_reason(status=reminder.appointment.status, phone=phone, do_not_call=customer.do_not_call,
                                 consents=customer.reminder_calls)  # fmt: skip
            if reminder.call_sid:  # the old attempt's (its events keep it); reminder_transition's own call_sid
                reminder.call_sid = ""  # argument names the event's call, so the field is cleared here
                reminder.save(update_fields=["call_sid"])
            reminder_transition(
                reminder, to_status=ReminderStatus.SKIPPED if reason else ReminderStatus.QUEUED,
                actor=Actor.system(), note=f"planned again: the appointment moved to {day:%b %-d}",
                planned_for=day, skip_reason=reason, phone=phone, attempts=0, call=None,
                answered_by="", result="", dialing_since=None, next_attempt_at=None if reason else now,
            )  # fmt: skip
            count += 1
    return count


def skip_reason(*, status: str, phone: str, do_not_call: bool, consents: bool) -> str:
    """Why an appointment gets no call ("" = call). The customer's wishes come first, then whether a call
    is possible, then whether it is still needed."""
    if do_not_call:
        return SkipReason.DO_NOT_CALL
    if not consents:
        return SkipReason.NO_CONSENT
    if not phone:
        return SkipReason.NO_NUMBER
    if status == AppointmentStatus.CONFIRMED:
        return SkipReason.CONFIRMED
    if status not in PLANNED_STATUSES:
        return SkipReason.CANCELLED
    return ""


def _mark_new(entry: PlanEntry, created: set[int]) -> PlanEntry:
    if entry.appointment_id not in created:
        return entry
    return PlanEntry(entry.appointment_id, entry.starts_at, entry.customer, entry.phone, entry.reason, new=True)


# One statement: insert the rows that do not exist yet and an event for each inserted row. Arrays are
# passed whole (unnest), so 10,000 appointments cost one round trip, not 10,000.
_INSERT = """
WITH decided AS (
    SELECT * FROM unnest(%(appointments)s::bigint[], %(statuses)s::text[], %(reasons)s::text[],
                         %(phones)s::text[], %(notes)s::text[])
        AS d(appointment_id, status, skip_reason, phone, note)
), inserted AS (
    INSERT INTO {calls} (appointment_id, kind, status, skip_reason, phone, attempts, next_attempt_at,
                         call_sid, answered_by, result, planned_for, created_at, updated_at)
    SELECT appointment_id, %(kind)s, status, skip_reason, phone, 0,
           CASE WHEN status = %(queued)s THEN %(now)s::timestamptz END, '', '', '', %(day)s::date, %(now)s, %(now)s
    FROM decided
    ON CONFLICT (appointment_id, kind) DO NOTHING
    RETURNING id, appointment_id, status
), events AS (
    INSERT INTO {events} (reminder_id, at, from_status, to_status, actor_kind, call_sid, note)
    SELECT inserted.id, %(now)s, '', inserted.status, %(system)s, '', decided.note
    FROM inserted JOIN decided USING (appointment_id)
)
SELECT appointment_id FROM inserted
"""


@transaction.atomic
def _insert(decisions: list[tuple[int, str, str, str]], now: datetime, day: date) -> list[int]:
    """Insert what does not exist; returns the appointment ids whose rows this call created."""
    appointments, statuses, reasons, phones = (list(column) for column in zip(*decisions, strict=True))
    notes = [SkipReason(reason).label if reason else PLANNED_NOTE for reason in reasons]
    sql = _INSERT.format(calls=ReminderCall._meta.db_table, events=ReminderEvent._meta.db_table)
    params = {
        "appointments": appointments, "statuses": [str(s) for s in statuses], "reasons": [str(r) for r in reasons],
        "phones": phones, "notes": notes, "now": now, "kind": str(ReminderKind.DAY_BEFORE),
        "queued": str(ReminderStatus.QUEUED), "system": str(ActorKind.SYSTEM), "day": day,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
