"""The service menu, openings, and the caller's own appointments: book, list, move, cancel, confirm, "is it ready?".

Times go out both as ISO 8601 in the dealership's zone (``start``, for the next tool call) and as words
(``spoken``, to say). A time the caller asks for is booked only if availability offers it for those services,
so the agent can never promise a time the shop does not have; when it does not, the refusal carries the real
openings nearest to it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from django.utils import timezone
from pydantic import Field, PositiveInt, field_validator, model_validator

from agent.tools.base import Arguments, Change, ChangeKind, Tool, ToolContext, ToolKind, ToolRefused, ToolResult
from agent.tools.customers import NOT_YOURS, require_customer, vehicle_brief, vehicle_name
from crm.models import Vehicle
from crm.selectors import vehicle_for_customer
from scheduling import services as scheduling_services
from scheduling import transitions
from scheduling.models import Appointment, AppointmentStatus, ServiceType, Transport
from scheduling.selectors import (
    Slot,
    active_service_menu,
    appointment_for_customer,
    available_slots,
    current_visit,
    dealership_zone,
    service_types_by_ids,
    shared_shop_calendar,
    spoken_clock,
    spoken_datetime,
    spoken_day,
    upcoming_appointments_for,
)

MAX_SLOTS = 6  # options read out at once
MAX_ALTERNATIVES = 3
MAX_RANGE_DAYS = 14
HORIZON_DAYS = 60  # how far ahead "the next openings" look
MAX_UPCOMING = 10

PartOfDay = Literal["morning", "afternoon", "evening", "any"]
TransportChoice = Literal[tuple(Transport.values)]


# --------------------------------------------------------------------------- time in words and in ISO


def _zone():
    return dealership_zone()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(_zone()).isoformat(timespec="minutes")


def _when(moment: dt.datetime) -> dict:
    return {"start": _iso(moment), "spoken": spoken_datetime(moment)}


def _or_list(words: Sequence[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


def _parse_moment(text: str) -> dt.datetime:
    """An ISO date and time; without an offset it is the dealership's wall clock. Raises ValueError."""
    moment = dt.datetime.fromisoformat(text.strip())
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=_zone())
    return moment.astimezone(dt.UTC)


def _parse_after(text: str) -> dt.time | dt.datetime:
    """ "14:00" (a time of day, local) or an ISO date and time. Raises ValueError."""
    text = text.strip()
    try:
        return dt.time.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return _parse_moment(text)


def _checked_moment(value: str) -> str:
    try:
        _parse_moment(value)
    except ValueError:
        raise ValueError("use an ISO date and time such as 2025-03-04T14:30 or 2025-03-04T14:30-07:00") from None
    return value


# --------------------------------------------------------------------------- shared arguments and checks

SERVICE_IDS = Field(
    min_length=1, max_length=8, description="Ids of the services from list_services, e.g. [3] or [3, 5]."
)
START = Field(
    max_length=40,
    description="The start time exactly as get_available_slots returned it (ISO 8601, e.g. 2025-03-04T14:30-07:00); "
    "without an offset it is the dealership's local time.",
)


def _price(service: ServiceType) -> str:
    def money(amount: Decimal) -> str:
        return f"${amount:,.0f}" if amount == amount.to_integral_value() else f"${amount:,.2f}"

    if service.price_min == service.price_max:
        return money(service.price_min)
    return f"{money(service.price_min)} to {money(service.price_max)}"


def _menu_brief() -> list[dict]:
    return [{"id": s.pk, "name": s.name} for s in active_service_menu()]


def _services(ids: Sequence[int]) -> list[ServiceType]:
    """The active services with these ids, or a refusal carrying the real menu."""
    found = service_types_by_ids(ids)
    if len(found) != len(set(ids)):
        raise ToolRefused("I couldn't find that service on our menu.", services=_menu_brief())
    retired = [s.name for s in found if not s.active]
    if retired:
        raise ToolRefused(f"We no longer offer {_or_list(retired)}.", services=_menu_brief())
    return found


def _own_appointment(context: ToolContext, appointment_id: int) -> Appointment:
    """The caller's appointment. Found, it proves their account exists; so the account is read only on a miss,
    to give the same refusal as ever (require_customer's, else NOT_YOURS)."""
    appointment = None
    if context.customer_id is not None:
        appointment = appointment_for_customer(appointment_id, context.customer_id)
    if appointment is None:
        require_customer(context)
        # someone else's, or none at all: the caller is not told which
        raise ToolRefused(NOT_YOURS, hint="get_upcoming_appointments lists the caller's own")
    return appointment


def _own_vehicle(context: ToolContext, vehicle_id: int) -> Vehicle:
    """The caller's vehicle with its owner loaded, in one query. Found, it proves their account exists; so the
    account is read only on a miss, to give the same refusal as ever (require_customer's, else NOT_YOURS)."""
    vehicle = vehicle_for_customer(vehicle_id, context.customer_id) if context.customer_id is not None else None
    if vehicle is None:
        customer = require_customer(context)
        raise ToolRefused(NOT_YOURS, vehicles=[vehicle_brief(v) for v in customer.vehicles.all()])
    return vehicle


def _reading_shop_calendar_once(run):
    """A tool's run whose reads of the shop's hours, breaks and closures share one read (scheduling.selectors.
    shared_shop_calendar): the offered-time check, its alternatives and the booking service's own check of the
    hours would otherwise each read them again."""

    @functools.wraps(run)
    def run_with_one_read(context: ToolContext, arguments: Arguments) -> ToolResult:
        with shared_shop_calendar():
            return run(context, arguments)

    return run_with_one_read


def _appointment_data(appointment: Appointment) -> dict:
    return {
        "appointment_id": appointment.pk,
        **_when(appointment.starts_at),
        "services": [s.name for s in appointment.service_types.all()],
        "vehicle": vehicle_name(appointment.vehicle),
        "status": appointment.status,
    }


def _fits(slot: Slot, part_of_day: str, after_clock: dt.time | None) -> bool:
    local = slot.local_start()
    if after_clock is not None and local.time() < after_clock:
        return False
    if part_of_day == "morning":
        return local.hour < 12
    if part_of_day == "afternoon":
        return 12 <= local.hour < 17
    if part_of_day == "evening":
        return local.hour >= 17
    return True


def _spread_evenly(slots: list[Slot], count: int) -> list[Slot]:
    """``count`` options spread over ``slots`` (first included), so they are not 8:00, 8:15, 8:30."""
    if len(slots) <= count:
        return slots
    step = (len(slots) - 1) / (count - 1)
    return [slots[round(i * step)] for i in range(count)]


def _next_openings(
    service_types: Sequence[ServiceType],
    *,
    first_day: dt.date,
    count: int,
    part_of_day: str = "any",
    after_clock: dt.time | None = None,
    after: dt.datetime | None = None,
    exclude_appointment_id: int | None = None,
) -> list[Slot]:
    """The next openings from ``first_day`` on: at most two a day, two hours apart, a week of days at a time."""
    found: list[Slot] = []
    per_day: dict[dt.date, list[Slot]] = defaultdict(list)
    day, last_day = first_day, first_day + dt.timedelta(days=HORIZON_DAYS)
    while day <= last_day and len(found) < count:
        week_end = min(day + dt.timedelta(days=6), last_day)
        for slot in available_slots(
            service_types=service_types,
            first_day=day,
            last_day=week_end,
            after=after,
            exclude_appointment_id=exclude_appointment_id,
        ):
            if not _fits(slot, part_of_day, after_clock):
                continue
            same_day = per_day[slot.local_start().date()]
            if len(same_day) >= 2 or (same_day and slot.start - same_day[-1].start < dt.timedelta(hours=2)):
                continue
            same_day.append(slot)
            found.append(slot)
            if len(found) >= count:
                break
        day = week_end + dt.timedelta(days=1)
    return found


def _check_offered(
    service_types: Sequence[ServiceType], start: dt.datetime, *, exclude_appointment_id: int | None = None
) -> None:
    """Refuse unless availability offers ``start`` for these services; the refusal names the nearest real openings."""
    now = timezone.now()
    day = start.astimezone(_zone()).date()
    if start <= now:
        options = _next_openings(
            service_types, first_day=now.astimezone(_zone()).date(), count=MAX_ALTERNATIVES,
            exclude_appointment_id=exclude_appointment_id,
        )  # fmt: skip
        raise ToolRefused(
            f"That time has already passed; the next openings are {_or_list([s.spoken() for s in options])}."
            if options
            else "That time has already passed.",
            alternatives=[_when(s.start) for s in options],
        )
    # The first opening at or after the asked time settles it (the common case, and the cheap one); only a
    # refusal needs the whole day, for the nearest real alternatives.
    first = available_slots(service_types=service_types, first_day=day, last_day=day, after=start, limit=1,
                            exclude_appointment_id=exclude_appointment_id)  # fmt: skip
    if first and first[0].start == start:
        return
    offered = available_slots(
        service_types=service_types, first_day=day, last_day=day, exclude_appointment_id=exclude_appointment_id
    )
    if offered:
        nearest = sorted(sorted(offered, key=lambda s: abs(s.start - start))[:MAX_ALTERNATIVES], key=lambda s: s.start)
        clocks = [spoken_clock(s.start) for s in nearest]
        verb = "is" if len(clocks) == 1 else "are"
        raise ToolRefused(
            f"{spoken_clock(start)} isn't open; {_or_list(clocks)} {verb}.", alternatives=[_when(s.start) for s in nearest]
        )
    options = _next_openings(
        service_types, first_day=day + dt.timedelta(days=1), count=MAX_ALTERNATIVES,
        exclude_appointment_id=exclude_appointment_id,
    )  # fmt: skip
    say = f"We have nothing open {spoken_day(day)}"
    say += f"; the next openings are {_or_list([s.spoken() for s in options])}." if options else "."
    raise ToolRefused(say, alternatives=[_when(s.start) for s in options])


def _slot_taken(error: scheduling_services.SlotTakenError) -> ToolRefused:
    return ToolRefused(str(error), alternatives=[_when(s.start) for s in error.alternatives])


# --------------------------------------------------------------------------- list_services


class NoArguments(Arguments):
    pass


def _list_services(context: ToolContext, arguments: NoArguments) -> ToolResult:
    services = []
    for service in active_service_menu():
        item = {"id": service.pk, "name": service.name, "minutes": service.duration_minutes, "price": _price(service)}
        if service.aliases:
            item["also_called"] = service.aliases
        services.append(item)
    return ToolResult(ok=True, data={"services": services})


list_services = Tool(
    name="list_services",
    description="The service menu: each service's id, name, how long it takes (minutes) and its price range. "
    "Call it to know the ids to book with, or to answer what a service costs.",
    arguments=NoArguments,
    kind=ToolKind.READ,
    run=_list_services,
)


# --------------------------------------------------------------------------- get_available_slots


class AvailableSlotsArguments(Arguments):
    service_ids: list[PositiveInt] = SERVICE_IDS
    date: dt.date | None = Field(None, description="One day, YYYY-MM-DD. Leave out for the next openings.")
    from_date: dt.date | None = Field(None, description="First day of a range, YYYY-MM-DD (with to_date).")
    to_date: dt.date | None = Field(None, description="Last day of a range, YYYY-MM-DD, at most 14 days on.")
    part_of_day: PartOfDay = Field(
        "any", description="morning (before noon), afternoon (noon to 5 PM), evening (from 5 PM) or any."
    )
    after: str = Field(
        "", max_length=40,
        description="Only times from this on: a time of day such as 14:00, or an ISO date and time.",
    )  # fmt: skip

    @field_validator("after")
    @classmethod
    def _after(cls, value: str) -> str:
        if value:
            try:
                _parse_after(value)
            except ValueError:
                raise ValueError("use a time such as 14:00 or an ISO date and time") from None
        return value

    @model_validator(mode="after")
    def _dates(self) -> AvailableSlotsArguments:
        if self.date is not None and (self.from_date is not None or self.to_date is not None):
            raise ValueError("give either date, or from_date and to_date, not both")
        if (self.from_date is None) != (self.to_date is None):
            raise ValueError("from_date and to_date go together")
        if self.from_date is not None and self.to_date is not None:
            if self.to_date < self.from_date:
                raise ValueError("to_date is before from_date")
            if (self.to_date - self.from_date).days > MAX_RANGE_DAYS:
                raise ValueError(f"a range is at most {MAX_RANGE_DAYS} days")
        return self


@_reading_shop_calendar_once
def _get_available_slots(context: ToolContext, arguments: AvailableSlotsArguments) -> ToolResult:
    service_types = _services(arguments.service_ids)
    today = timezone.now().astimezone(_zone()).date()
    after = _parse_after(arguments.after) if arguments.after else None
    after_clock = after if isinstance(after, dt.time) else None
    after_moment = after if isinstance(after, dt.datetime) else None
    filters = {"part_of_day": arguments.part_of_day, "after_clock": after_clock, "after": after_moment}

    first_day = arguments.date or arguments.from_date
    last_day = arguments.date or arguments.to_date
    if first_day is None:
        start_day = after_moment.astimezone(_zone()).date() if after_moment else today
        slots = _next_openings(service_types, first_day=max(start_day, today), count=MAX_SLOTS, **filters)
        if slots:
            return ToolResult(ok=True, data={"slots": [_when(s.start) for s in slots]})
        return ToolResult(
            ok=True,
            data={"slots": []},
            say="I don't see an opening like that in the next two months; an advisor may be able to fit you in.",
        )

    if last_day < today:
        options = _next_openings(service_types, first_day=today, count=MAX_ALTERNATIVES, **filters)
        raise ToolRefused("That date has already passed.", next_openings=[_when(s.start) for s in options])
    first_day = max(first_day, today)
    found = [
        slot
        for slot in available_slots(service_types=service_types, first_day=first_day, last_day=last_day,
                                    after=after_moment)  # fmt: skip
        if _fits(slot, arguments.part_of_day, after_clock)
    ]
    if found:
        picked = _spread_evenly(found, MAX_SLOTS)
        data = {"slots": [_when(s.start) for s in picked]}
        if len(found) > len(picked):
            data["more"] = len(found) - len(picked)  # ask again with a narrower time to hear others
        return ToolResult(ok=True, data=data)

    options = _next_openings(service_types, first_day=first_day, count=MAX_ALTERNATIVES, **filters)
    if not options and (arguments.part_of_day != "any" or after_clock is not None):
        options = _next_openings(service_types, first_day=first_day, count=MAX_ALTERNATIVES, after=after_moment)
    asked = spoken_day(first_day) if first_day == last_day else "those days"
    say = f"I don't see an opening {asked} for that"
    say += f"; the next ones are {_or_list([s.spoken() for s in options])}." if options else "."
    return ToolResult(ok=True, data={"slots": [], "next_openings": [_when(s.start) for s in options]}, say=say)


get_available_slots = Tool(
    name="get_available_slots",
    description=(
        "Free start times for the given services: on one date, over a range of up to 14 days, or (with no "
        "dates) the next openings; optionally only mornings, afternoons or evenings, or after a time. Offer "
        "only times it returns, and book with their exact start."
    ),
    arguments=AvailableSlotsArguments,
    kind=ToolKind.READ,
    run=_get_available_slots,
)


# --------------------------------------------------------------------------- book_appointment


class BookAppointmentArguments(Arguments):
    vehicle_id: PositiveInt = Field(description="Which of the caller's vehicles (vehicle_id from lookup_customer).")
    service_ids: list[PositiveInt] = SERVICE_IDS
    start: str = START
    transport: TransportChoice | None = Field(
        None,
        description="waiter (waits here), drop_off (leaves the car), shuttle (our shuttle takes them) or "
        "loaner (a loaner car). Leave out if the caller did not say.",
    )
    notes: str = Field("", max_length=500, description="What the caller says about the problem, for the technician.")

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        return _checked_moment(value)


def _booking_key(customer_id: int, vehicle_id: int, service_types: Sequence[ServiceType], start: dt.datetime):
    return (customer_id, vehicle_id, tuple(sorted(s.pk for s in service_types)), start.astimezone(dt.UTC))


def _already_booked(context: ToolContext, key: tuple, customer_id: int) -> Appointment | None:
    """The appointment this conversation already booked for the same request, if it still stands as booked."""
    appointment_id = context.booked.get(key)
    if appointment_id is None:
        return None
    appointment = appointment_for_customer(appointment_id, customer_id)
    if appointment is None or not appointment.is_active or appointment.starts_at != key[3]:
        context.booked.pop(key, None)  # cancelled or moved since: a new booking is a new request
        return None
    return appointment


@_reading_shop_calendar_once
def _book_appointment(context: ToolContext, arguments: BookAppointmentArguments) -> ToolResult:
    vehicle = _own_vehicle(context, arguments.vehicle_id)
    customer = vehicle.customer
    service_types = _services(arguments.service_ids)
    start = _parse_moment(arguments.start)
    key = _booking_key(customer.pk, vehicle.pk, service_types, start)
    existing = _already_booked(context, key, customer.pk)
    if existing is not None:  # asked twice in one conversation: booked once
        return ToolResult(ok=True, data={"already_booked": True, **_appointment_data(existing)})
    _check_offered(service_types, start)
    try:
        appointment = scheduling_services.appointment_book(
            customer=customer,
            vehicle=vehicle,
            service_types=service_types,
            start=start,
            actor=context.actor,
            transport=arguments.transport or Transport.WAITER,
            notes=arguments.notes,
        )
    except scheduling_services.SlotTakenError as error:
        raise _slot_taken(error) from error
    context.booked[key] = appointment.pk
    data = {
        "booked": True,
        "appointment_id": appointment.pk,
        **_when(appointment.starts_at),
        "services": [s.name for s in service_types],
        "vehicle": vehicle_name(vehicle),
        "transport": appointment.transport,
    }
    return ToolResult(
        ok=True,
        data=data,
        changes=(_changed(ChangeKind.BOOKED, appointment),),
    )


book_appointment = Tool(
    name="book_appointment",
    description=(
        "Book a service appointment for one of the caller's vehicles at a start time that get_available_slots "
        "offered. Read the time and services back and get a yes before calling it. If the time is not open, "
        "the answer lists real alternatives."
    ),
    arguments=BookAppointmentArguments,
    kind=ToolKind.WRITE,
    run=_book_appointment,
)


# --------------------------------------------------------------------------- get_upcoming_appointments


def _get_upcoming_appointments(context: ToolContext, arguments: NoArguments) -> ToolResult:
    customer = require_customer(context)
    appointments = [_appointment_data(a) for a in upcoming_appointments_for(customer.pk)[:MAX_UPCOMING]]
    if not appointments:
        return ToolResult(ok=True, data={"appointments": []}, say="I don't see any upcoming appointments for you.")
    return ToolResult(ok=True, data={"appointments": appointments})


get_upcoming_appointments = Tool(
    name="get_upcoming_appointments",
    description="The caller's own upcoming appointments: id, time, services, vehicle and status "
    "(booked, confirmed, checked_in). Use the ids to move, cancel or confirm one.",
    arguments=NoArguments,
    kind=ToolKind.READ,
    run=_get_upcoming_appointments,
)


# --------------------------------------------------------------------------- reschedule_appointment


class RescheduleAppointmentArguments(Arguments):
    appointment_id: PositiveInt = Field(description="The appointment to move (from get_upcoming_appointments).")
    start: str = START
    service_ids: list[PositiveInt] | None = Field(
        None, min_length=1, max_length=8,
        description="Only if the caller also changes the services: the full new list of service ids.",
    )  # fmt: skip

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        return _checked_moment(value)


@_reading_shop_calendar_once
def _reschedule_appointment(context: ToolContext, arguments: RescheduleAppointmentArguments) -> ToolResult:
    appointment = _own_appointment(context, arguments.appointment_id)
    transitions.check_reschedulable(appointment.status)
    current = list(appointment.service_types.all())
    service_types = _services(arguments.service_ids) if arguments.service_ids else current
    start = _parse_moment(arguments.start)
    same_services = {s.pk for s in service_types} == {s.pk for s in current}
    if start == appointment.starts_at and same_services:
        return ToolResult(ok=True, data={"unchanged": True, **_appointment_data(appointment)})
    _check_offered(service_types, start, exclude_appointment_id=appointment.pk)
    try:
        moved = scheduling_services.appointment_reschedule(
            appointment=appointment,
            start=start,
            actor=context.actor,
            service_types=None if same_services else service_types,
        )
    except scheduling_services.SlotTakenError as error:
        raise _slot_taken(error) from error
    moved = appointment_for_customer(moved.pk, appointment.customer_id)
    return ToolResult(
        ok=True,
        data={"moved": True, **_appointment_data(moved)},
        changes=(_changed(ChangeKind.MOVED, moved),),
    )


reschedule_appointment = Tool(
    name="reschedule_appointment",
    description=(
        "Move one of the caller's appointments to a new start time that get_available_slots offered (its own "
        "current time counts as free). A moved appointment needs confirming again."
    ),
    arguments=RescheduleAppointmentArguments,
    kind=ToolKind.WRITE,
    run=_reschedule_appointment,
)


# --------------------------------------------------------------------------- cancel_appointment


class CancelAppointmentArguments(Arguments):
    appointment_id: PositiveInt = Field(description="The appointment to cancel (from get_upcoming_appointments).")
    reason: str = Field("", max_length=250, description="Why, in the caller's words, if they said.")


def _cancel_appointment(context: ToolContext, arguments: CancelAppointmentArguments) -> ToolResult:
    appointment = _own_appointment(context, arguments.appointment_id)
    if appointment.status == AppointmentStatus.CANCELLED:  # asked twice: cancelled once
        return ToolResult(ok=True, data={"already_cancelled": True, **_appointment_data(appointment)})
    note = f"Caller's reason: {arguments.reason}" if arguments.reason else ""
    cancelled = scheduling_services.appointment_cancel(appointment=appointment, actor=context.actor, note=note)
    return ToolResult(
        ok=True,
        data={"cancelled": True, "appointment_id": cancelled.pk, **_when(cancelled.starts_at)},
        changes=(_changed(ChangeKind.CANCELLED, cancelled),),
    )


cancel_appointment = Tool(
    name="cancel_appointment",
    description="Cancel one of the caller's appointments, after they have said yes to cancelling that one.",
    arguments=CancelAppointmentArguments,
    kind=ToolKind.WRITE,
    run=_cancel_appointment,
)


# --------------------------------------------------------------------------- confirm_appointment


class ConfirmAppointmentArguments(Arguments):
    appointment_id: PositiveInt = Field(description="The appointment the caller says they will come to.")


def _confirm_appointment(context: ToolContext, arguments: ConfirmAppointmentArguments) -> ToolResult:
    appointment = _own_appointment(context, arguments.appointment_id)
    if appointment.status == AppointmentStatus.CONFIRMED:  # asked twice: confirmed once
        return ToolResult(ok=True, data={"already_confirmed": True, **_appointment_data(appointment)})
    confirmed = scheduling_services.appointment_confirm(appointment=appointment, actor=context.actor)
    return ToolResult(
        ok=True,
        data={"confirmed": True, "appointment_id": confirmed.pk, **_when(confirmed.starts_at)},
        changes=(_changed(ChangeKind.CONFIRMED, confirmed),),
    )


confirm_appointment = Tool(
    name="confirm_appointment",
    description="Mark one of the caller's appointments as confirmed, when they say they will be there.",
    arguments=ConfirmAppointmentArguments,
    kind=ToolKind.WRITE,
    run=_confirm_appointment,
)


def _changed(kind: ChangeKind, appointment) -> Change:
    """What a write did to an appointment, for the call's record of changes."""
    return Change(kind, appointment_id=appointment.pk, customer_id=appointment.customer_id,
                  vehicle_id=appointment.vehicle_id)  # fmt: skip


# --------------------------------------------------------------------------- vehicle_status


def _vehicle_status(context: ToolContext, arguments: NoArguments) -> ToolResult:
    customer = require_customer(context)
    now = timezone.now()
    visit = current_visit(customer.pk, now=now)
    if visit is None:
        data: dict = {"status": "none"}
        say = "I don't see a visit for your car at the shop today."
        upcoming = upcoming_appointments_for(customer.pk, now=now).first()
        if upcoming is not None:
            data["next"] = _appointment_data(upcoming)
            say += f" Your next appointment is {spoken_datetime(upcoming.starts_at)}."
        return ToolResult(ok=True, data=data, say=say)
    car = f"Your {vehicle_name(visit.vehicle)}"
    if visit.status == AppointmentStatus.CHECKED_IN:
        words = f"{car} is in the shop and being worked on."
    elif visit.status == AppointmentStatus.COMPLETED:
        words = f"{car} is ready for pickup."
    elif visit.starts_at > now:
        words = f"{car} isn't in yet; it's booked for {spoken_datetime(visit.starts_at)}."
    else:
        words = f"We haven't checked in {car[0].lower()}{car[1:]} yet; it was booked for {spoken_clock(visit.starts_at)}."
    return ToolResult(ok=True, data=_appointment_data(visit), say=words)


vehicle_status = Tool(
    name="vehicle_status",
    description="Whether the caller's car is in the shop, being worked on, or ready for pickup today "
    "(\"is my car ready?\"). Answers in words (say) and a status code.",
    arguments=NoArguments,
    kind=ToolKind.READ,
    run=_vehicle_status,
)

TOOLS = [
    list_services,
    get_available_slots,
    book_appointment,
    get_upcoming_appointments,
    reschedule_appointment,
    cancel_appointment,
    confirm_appointment,
    vehicle_status,
]
