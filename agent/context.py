"""What the agent knows before the caller's first word: the shop, the day, and for a known caller their records.

Read once at the start of a conversation (in the database thread) and again after the agent changed
something, so a known caller costs no lookup round trip and the prompt never goes stale within a call.
Everything here is plain data: the prompt template only formats it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from crm.selectors import customer_get, dealership_profile
from scheduling.selectors import (
    ShopCalendar,
    appointment_for_customer,
    dealership_zone,
    spoken_clock,
    spoken_datetime,
    spoken_day,
    upcoming_appointments_for,
)

DAYS_OF_HOURS = 7


@dataclass(frozen=True)
class VehicleFacts:
    id: int
    name: str  # "2019 Honda Civic"
    plate_ending: str = ""


@dataclass(frozen=True)
class AppointmentFacts:
    id: int
    start: str  # ISO 8601 with offset, for the next tool call
    spoken: str  # "Tuesday, March 3rd at 2:30 PM"
    services: str
    vehicle: str
    status: str
    service_names: tuple[str, ...] = ()  # the same services one by one, as the tools name them


@dataclass(frozen=True)
class CallerFacts:
    customer_id: int
    name: str
    first_name: str
    vehicles: tuple[VehicleFacts, ...] = ()
    appointments: tuple[AppointmentFacts, ...] = ()
    open_requests: tuple[str, ...] = ()  # messages waiting for an advisor's callback, from the driver
    # The appointment a reminder call (answered or not, or a voicemail) was about, when the dealership called
    # this customer lately: a customer who calls back is most likely calling about it.
    reminded_about: AppointmentFacts | None = None


@dataclass(frozen=True)
class ShopFacts:
    dealership: str
    now: datetime  # aware, in the dealership's zone
    hours: tuple[str, ...]  # "Monday, December 7th: 7 AM to 6 PM, closed 12 to 1 PM", this week from today
    main_phone: str = ""

    @property
    def today(self) -> str:
        return f"{self.now:%A, %B} {self.now.day}, {self.now.year}"

    @property
    def time(self) -> str:
        return spoken_clock(self.now)

    @property
    def zone(self) -> str:
        return str(self.now.tzinfo)


@dataclass(frozen=True)
class ConversationStart:
    """Who the agent talks with and for whom: what a driver gives the agent when a conversation begins."""

    shop: ShopFacts
    call_sid: str = ""
    caller_phone: str = ""  # E.164, "" when withheld
    caller: CallerFacts | None = None
    reminder: bool = False  # the dealership called the customer (a reminder call), not the other way round
    appointment: AppointmentFacts | None = None  # on a reminder call, the appointment it is about


def shop_facts(*, now: datetime | None = None) -> ShopFacts:
    zone = dealership_zone()
    now = (now or timezone.now()).astimezone(zone)
    profile = dealership_profile()
    first = now.date()
    last = first + timedelta(days=DAYS_OF_HOURS - 1)
    calendar = ShopCalendar(first, last)
    hours = []
    for offset in range(DAYS_OF_HOURS):
        day = first + timedelta(days=offset)
        label = spoken_day(day, today=first)
        working = calendar.working_day(day)
        if working is None or not working.windows:
            hours.append(f"{label}: closed")
            continue
        opens, closes = working.windows[0][0].astimezone(zone), working.windows[-1][1].astimezone(zone)
        line = f"{label}: {spoken_clock(opens)} to {spoken_clock(closes)}"
        breaks = [(a[1].astimezone(zone), b[0].astimezone(zone)) for a, b in zip(working.windows, working.windows[1:])]
        if breaks:
            line += ", closed " + " and ".join(f"{spoken_clock(s)} to {spoken_clock(e)}" for s, e in breaks)
        hours.append(line)
    return ShopFacts(dealership=profile.name, now=now, hours=tuple(hours),
                     main_phone=str(profile.main_phone or ""))  # fmt: skip


def appointment_facts(appointment) -> AppointmentFacts:
    """What the agent knows of one appointment (with its vehicle and services loaded)."""
    names = tuple(s.name for s in appointment.service_types.all())
    return AppointmentFacts(
        id=appointment.pk,
        start=appointment.starts_at.astimezone(dealership_zone()).isoformat(),
        spoken=spoken_datetime(appointment.starts_at),
        services=", ".join(names),
        vehicle=appointment.vehicle.spoken_name,
        status=appointment.get_status_display(),
        service_names=names,
    )


def customer_appointment_facts(appointment_id: int | None, customer_id: int | None) -> AppointmentFacts | None:
    """That appointment if it is this customer's (any status, so a cancelled one reads as cancelled), else None."""
    if appointment_id is None or customer_id is None:
        return None
    appointment = appointment_for_customer(appointment_id, customer_id)
    return appointment_facts(appointment) if appointment is not None else None


def caller_facts(customer_id: int | None, *, open_requests: tuple[str, ...] = (),
                 reminded_about: int | None = None) -> CallerFacts | None:  # fmt: skip
    """A customer's name, vehicles and upcoming appointments, and the appointment ``reminded_about`` (an
    appointment id) a recent reminder call was about; None when there is no such customer."""
    if customer_id is None:
        return None
    customer = customer_get(customer_id)
    if customer is None:
        return None
    vehicles = tuple(
        VehicleFacts(id=v.pk, name=v.spoken_name, plate_ending=(v.plate or "")[-3:])
        for v in customer.vehicles.order_by("pk")
    )
    appointments = tuple(appointment_facts(a) for a in upcoming_appointments_for(customer.pk)[:5])
    return CallerFacts(customer_id=customer.pk, name=customer.full_name, first_name=customer.first_name,
                       vehicles=vehicles, appointments=appointments, open_requests=open_requests,
                       reminded_about=customer_appointment_facts(reminded_about, customer.pk))  # fmt: skip


def reminded_about_id(caller: CallerFacts | None) -> int | None:
    """The id to read ``reminded_about`` again with (after a write, its status may have changed)."""
    return caller.reminded_about.id if caller is not None and caller.reminded_about is not None else None


def transfer_whisper(caller: CallerFacts | None, caller_phone: str, reason: str = "") -> str:
    """One or two sentences for the advisor who takes a handed-over caller: who, which car, what they want."""
    who = f"{caller.name}, a customer" if caller else "A caller who is not on file"
    if caller_phone and not caller:
        who += f", calling from {spoken_number(caller_phone)}"
    car = f", about the {caller.vehicles[0].name}" if caller and len(caller.vehicles) == 1 else ""
    wants = reason.strip().rstrip(".") or "asked to speak with a person"
    return f"{who}{car}. {wants[0].upper()}{wants[1:]}."


def spoken_number(number: str) -> str:
    """+16025550123 -> "602 555 0123" (a North American number read in groups)."""
    digits = "".join(ch for ch in number if ch.isdigit())[-10:]
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else number
