"""Every write to appointments: book, reschedule, confirm, check in, complete, no-show, cancel.

The admin, the phone agent and reminder calls all come through here. Each
function validates, writes an AppointmentEvent naming the actor, and mirrors
the change to the calendar after commit. Errors carry a sentence that can be
read to a caller as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from crm.errors import ServiceError
from crm.models import Customer, Vehicle
from scheduling import transitions
from scheduling.actors import Actor
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Bay,
    ServiceType,
    Transport,
)
from scheduling.selectors import (
    calendar_busy,
    dealership_zone,
    earliest_start,
    job_duration,
    next_available_slots,
    shop_calendar,
    spoken_datetime,
)

logger = logging.getLogger(__name__)

EXCLUSION_VIOLATION = "23P01"  # PostgreSQL's SQLSTATE for a violated exclusion constraint
DEADLOCK_DETECTED = "40P01"  # two inserts checked the exclusion constraint at the same instant


class BookingError(ServiceError):
    """The appointment cannot be made or changed as asked."""


class SlotTakenError(BookingError):
    """Every bay was taken for that time (possibly a moment ago, by another booking)."""

    def __init__(self, message: str, *, alternatives: Sequence = ()):
        super().__init__(message, code="slot_taken")
        self.alternatives = list(alternatives)


# --------------------------------------------------------------------------- validation


def _check_party(customer: Customer, vehicle: Vehicle) -> None:
    if vehicle.customer_id != customer.pk:
        raise BookingError("That vehicle isn't on this customer's account.", code="vehicle_not_owned")


def _check_services(service_types: Sequence[ServiceType]) -> list[ServiceType]:
    service_types = list(service_types)
    if not service_types:
        raise BookingError("Please choose at least one service.", code="no_service")
    inactive = [s.name for s in service_types if not s.active]
    if inactive:
        raise BookingError(f"We no longer offer {', '.join(inactive)}.", code="service_inactive")
    return service_types


def _check_time(start: datetime, end: datetime, actor: Actor) -> None:
    """Inside one opening window, not on a closure, not in the past (nor inside the lead time for callers)."""
    if timezone.is_naive(start):
        raise BookingError("The appointment time needs a time zone.", code="naive_time")
    now = timezone.now()
    if start < now:
        raise BookingError("That time has already passed.", code="in_the_past")
    # Staff may take a walk-in right now; callers get the minimum lead time.
    if not actor.is_staff and start < earliest_start(now=now):
        raise BookingError(
            f"That's too soon for us to get ready; the earliest we can do is "
            f"{spoken_datetime(earliest_start(now=now))}.",
            code="too_soon",
        )
    day = start.astimezone(dealership_zone()).date()
    shop = shop_calendar(day, day)  # inside a tool call, the read its offered-time check already made
    if day in shop.closures:
        raise BookingError("We're closed that day.", code="closed_day")
    working = shop.working_day(day)
    if working is None:
        raise BookingError("We're closed that day.", code="closed_day")
    if working.window_containing(start, end) is None:
        raise BookingError(
            "That job wouldn't fit inside our opening hours at that time; it must start and finish while "
            "we're open and not run over a break.",
            code="outside_hours",
        )


def _check_calendar(start: datetime, end: datetime) -> None:
    """Busy time on the dealership's calendar. May wait on Google (cached, short timeout), so
    callers run it before opening their transaction: no lock or connection is held meanwhile."""
    if any(s < end and start < e for s, e in calendar_busy(start, end)):
        raise BookingError("The shop is blocked off at that time.", code="shop_busy")


def _job_end(start: datetime, service_types: Sequence[ServiceType]) -> datetime:
    """When the job ends, counted in absolute time.

    Python adds a timedelta to a local datetime on the wall clock, which is an
    hour off when a DST change falls inside the job.
    """
    if timezone.is_naive(start):
        return start + job_duration(service_types)  # _check_time refuses it
    return start.astimezone(UTC) + job_duration(service_types)


def _slot_taken(
    service_types, start: datetime, actor: Actor, exclude_appointment_id: int | None = None
) -> SlotTakenError:
    options = next_available_slots(
        service_types=service_types,
        after=start,
        count=3,
        exclude_appointment_id=exclude_appointment_id,
        apply_lead_time=not actor.is_staff,  # staff may book sooner than callers
    )
    if options:
        spoken = ", ".join(o.spoken() for o in options[:-1])
        spoken = f"{spoken} or {options[-1].spoken()}" if spoken else options[-1].spoken()
        message = f"Sorry, that time was just taken. The next openings are {spoken}."
    else:
        message = "Sorry, that time was just taken, and I don't see another opening soon."
    return SlotTakenError(message, alternatives=options)


def _is_exclusion_violation(error: IntegrityError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == EXCLUSION_VIOLATION


def _is_deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED


def _free_bays(start: datetime, end: datetime, exclude_appointment_id: int | None) -> list[Bay]:
    """Active bays without an active appointment overlapping [start, end) (but the one being moved), by name.

    What this transaction sees now: another may take one of them before our insert, which the exclusion
    constraint then refuses (_claim_bay).
    """
    return list(Bay.objects.raw(_FREE_BAYS, [_ACTIVE, end, start, exclude_appointment_id]))


_ACTIVE = [str(status) for status in ACTIVE_STATUSES]

# Inside every booking's and every move's transaction, so written as SQL: 0.4 ms where the same query built by
# the ORM took 1.2 ms (measured alone on the machine of bench/booking_path.py), the difference all the ORM's
# own work.
_FREE_BAYS = f"""
    SELECT * FROM {Bay._meta.db_table} bay
     WHERE bay.active AND NOT EXISTS (
           SELECT 1 FROM {Appointment._meta.db_table} a
            WHERE a.bay_id = bay.id AND a.status = ANY(%s) AND a.starts_at < %s AND a.ends_at > %s
              AND a.id IS DISTINCT FROM %s::bigint)
     ORDER BY bay.name
"""


def _claim_bay(appointment: Appointment, bays: list[Bay]) -> bool:
    """Save ``appointment`` in the first of ``bays`` that PostgreSQL lets it have.

    Another transaction may have taken a bay since we looked; the exclusion
    constraint refuses it, and we try the next bay inside a savepoint. Two
    inserts that check the constraint at the same instant can wait for each
    other, and PostgreSQL stops one of them as a deadlock: that one tries the
    same bay again (and then waits for the other, or gets the bay).
    """
    for bay in bays:
        appointment.bay = bay
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    appointment.save()
                return True
            except IntegrityError as error:
                if not _is_exclusion_violation(error):
                    raise
                break
            except OperationalError as error:
                if not _is_deadlock(error):
                    raise
    return False


def _record(
    appointment: Appointment,
    action: str,
    actor: Actor,
    *,
    from_status: str = "",
    changes: dict | None = None,
    note: str = "",
) -> AppointmentEvent:
    return AppointmentEvent.objects.create(
        appointment=appointment,
        action=action,
        from_status=from_status,
        to_status=appointment.status,
        actor_kind=actor.kind,
        actor_user=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        call_sid=actor.call_sid,
        changes=changes or {},
        note=note[:255],
    )


def _mirror_to_calendar(appointment: Appointment) -> None:
    from scheduling.tasks import sync_appointment_to_calendar

    appointment_id = appointment.pk

    def enqueue() -> None:
        # The booking is committed by now: a broker outage must not turn it
        # into an error. The appointment keeps calendar_synced_at empty, and
        # any later change of it queues the mirror again.
        try:
            sync_appointment_to_calendar.delay(appointment_id)
        except Exception:
            logger.exception("could not queue the calendar mirror of appointment %s", appointment_id)

    transaction.on_commit(enqueue)


# --------------------------------------------------------------------------- booking


def appointment_book(
    *,
    customer: Customer,
    vehicle: Vehicle,
    service_types: Sequence[ServiceType],
    start: datetime,
    actor: Actor,
    transport: str = Transport.WAITER,
    notes: str = "",
) -> Appointment:
    """Book the job at ``start`` in a free bay, or raise BookingError / SlotTakenError."""
    _check_party(customer, vehicle)
    service_types = _check_services(service_types)
    if transport not in Transport.values:
        raise BookingError("Please choose waiter, drop-off, shuttle or loaner.", code="bad_transport")
    end = _job_end(start, service_types)
    _check_time(start, end, actor)
    _check_calendar(start, end)
    with transaction.atomic():
        appointment = _book(customer, vehicle, service_types, start, end, actor, transport, notes)
    if appointment is None:
        # Alternatives are looked up after the transaction: they too read calendar busy time.
        raise _slot_taken(service_types, start, actor)
    return appointment


def _book(customer, vehicle, service_types, start, end, actor, transport, notes) -> Appointment | None:
    """Insert into a free bay and record it; None when every bay was taken meanwhile (nothing written)."""
    appointment = Appointment(
        customer=customer,
        vehicle=vehicle,
        starts_at=start,
        ends_at=end,
        transport=transport,
        source=actor.source,
        notes=notes,
        created_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
    )
    if not _claim_bay(appointment, _free_bays(start, end, None)):
        return None
    appointment.service_types.add(*service_types)  # a new row has none: add() is set() without reading them first
    _record(appointment, AppointmentEvent.Action.BOOKED, actor, changes=_describe(appointment, service_types))
    _mirror_to_calendar(appointment)
    return appointment


def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    actor: Actor,
    service_types: Sequence[ServiceType] | None = None,
) -> Appointment:
    """Move an appointment (and optionally change its services); it keeps its bay if that is free."""
    transitions.check_reschedulable(appointment.status)
    current_services = list(appointment.service_types.all())
    service_types = _check_services(service_types if service_types is not None else current_services)
    end = _job_end(start, service_types)
    _check_time(start, end, actor)
    _check_calendar(start, end)
    with transaction.atomic():
        moved = _move(appointment, start, end, actor, service_types)
    if moved is None:
        raise _slot_taken(service_types, start, actor, exclude_appointment_id=appointment.pk)
    return moved


def _move(appointment, start, end, actor, service_types) -> Appointment | None:
    """Move the locked row into a free bay; None when none is free (nothing written)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    transitions.check_reschedulable(appointment.status)  # again, on the locked current row
    current_services = list(appointment.service_types.all())

    before = {"starts_at": appointment.starts_at.isoformat(), "bay": str(appointment.bay)}
    previous_status = appointment.status
    bays = _free_bays(start, end, appointment.pk)
    bays.sort(key=lambda bay: bay.pk != appointment.bay_id)  # prefer staying in the same bay
    appointment.starts_at, appointment.ends_at = start, end
    # A moved appointment needs confirming again.
    appointment.status = AppointmentStatus.BOOKED
    if not _claim_bay(appointment, bays):
        return None
    changes = {
        "starts_at": [before["starts_at"], start.isoformat()],
        "bay": [before["bay"], str(appointment.bay)],
    }
    if {s.pk for s in service_types} != {s.pk for s in current_services}:
        appointment.service_types.set(service_types)
        changes["services"] = [[s.name for s in current_services], [s.name for s in service_types]]
    _record(appointment, AppointmentEvent.Action.RESCHEDULED, actor, from_status=previous_status, changes=changes)
    _mirror_to_calendar(appointment)
    return appointment


@transaction.atomic
def appointment_update_details(
    *, appointment: Appointment, actor: Actor, transport: str | None = None, notes: str | None = None
) -> Appointment:
    """Change how the customer gets around and the notes; time, bay and status have their own services."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if transport is not None and transport not in Transport.values:
        raise BookingError("Please choose waiter, drop-off, shuttle or loaner.", code="bad_transport")
    changes = {
        name: [getattr(appointment, name), value]
        for name, value in (("transport", transport), ("notes", notes))
        if value is not None and value != getattr(appointment, name)
    }
    if not changes:
        return appointment
    for name, (_, value) in changes.items():
        setattr(appointment, name, value)
    appointment.save(update_fields=[*changes, "updated_at"])
    _record(appointment, AppointmentEvent.Action.EDITED, actor, from_status=appointment.status, changes=changes)
    _mirror_to_calendar(appointment)  # the event's description shows both
    return appointment


def _describe(appointment: Appointment, service_types: Sequence[ServiceType]) -> dict:
    return {
        "starts_at": [None, appointment.starts_at.isoformat()],
        "ends_at": [None, appointment.ends_at.isoformat()],
        "bay": [None, str(appointment.bay)],
        "services": [None, [s.name for s in service_types]],
        "transport": [None, appointment.transport],
    }


# --------------------------------------------------------------------------- status changes


@transaction.atomic
def _transition(
    appointment: Appointment, target: str, action: str, actor: Actor, note: str = "", guard=None
) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    transitions.check_transition(appointment.status, target)
    if guard is not None:
        guard(appointment)  # checked on the locked, current row
    previous = appointment.status
    appointment.status = target
    appointment.save(update_fields=["status", "updated_at"])
    _record(appointment, action, actor, from_status=previous, note=note)
    _mirror_to_calendar(appointment)
    return appointment


def appointment_confirm(*, appointment: Appointment, actor: Actor, note: str = "") -> Appointment:
    return _transition(appointment, AppointmentStatus.CONFIRMED, AppointmentEvent.Action.CONFIRMED, actor, note)


def appointment_check_in(*, appointment: Appointment, actor: Actor, note: str = "") -> Appointment:
    return _transition(appointment, AppointmentStatus.CHECKED_IN, AppointmentEvent.Action.CHECKED_IN, actor, note)


def appointment_complete(*, appointment: Appointment, actor: Actor, note: str = "") -> Appointment:
    return _transition(appointment, AppointmentStatus.COMPLETED, AppointmentEvent.Action.COMPLETED, actor, note)


def appointment_mark_no_show(*, appointment: Appointment, actor: Actor, note: str = "") -> Appointment:
    def has_started(current: Appointment) -> None:
        if current.starts_at > timezone.now():
            raise BookingError("That appointment hasn't started yet, so it can't be a no-show.", code="not_started")

    return _transition(
        appointment, AppointmentStatus.NO_SHOW, AppointmentEvent.Action.NO_SHOW, actor, note, guard=has_started
    )


def appointment_cancel(*, appointment: Appointment, actor: Actor, note: str = "") -> Appointment:
    return _transition(appointment, AppointmentStatus.CANCELLED, AppointmentEvent.Action.CANCELLED, actor, note)


def appointment_record_calendar_sync(*, appointment_id: int, event_id: str) -> None:
    """Store the mirror's event id (the calendar task calls this; not a business change, no event row)."""
    Appointment.objects.filter(pk=appointment_id).update(
        google_event_id=event_id, calendar_synced_at=timezone.now()
    )

