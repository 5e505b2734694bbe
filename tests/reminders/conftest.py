"""Reminder-call fixtures, shared by every test file of tests/reminders/.

The shop is open every day 07:00-19:00 (Sundays too, so that a DST-change Sunday can hold appointments).
``plan_day`` is a Tuesday at least a week ahead: the day whose appointments get reminders. ``evening`` is
17:00 the day before, when Beat plans them. Nothing here reads a fake clock: functions that take ``now=`` /
``day=`` are given these, and bookings go through the real services (which check the lead time against the
real clock, hence the week ahead).

Customers, each with a 09:00-or-later appointment on ``plan_day`` in ``appointments``:
maria (reminder consent: called), dev (no consent), ann (consent but do-not-call), lee (consent, but the
stored number is unusable, as after an old import), sam (consent, appointment already confirmed).

``dst`` switches the dealership to America/Denver and names the next DST changes at least a week ahead.
"""

import itertools
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import connection

from crm import services as crm_services
from crm.models import ConsentKind, ConsentSource, Customer
from reminders.models import ReminderCall
from reminders.planning import plan_reminders
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import Appointment, Bay, OpeningHours, ServiceType, Weekday

PHOENIX = "America/Phoenix"
DENVER = "America/Denver"  # has DST


def dealership_zone() -> ZoneInfo:
    """The zone of the current TIME_ZONE setting (tests change it)."""
    return ZoneInfo(django_settings.TIME_ZONE)


def local(day: date, clock: str, *, fold: int = 0) -> datetime:
    """The instant of wall-clock ``clock`` ("14:30") on ``day`` in the dealership's zone as set now."""
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hour, minute, fold=fold), tzinfo=dealership_zone())


def dst_changes(zone: ZoneInfo, first: date, days: int = 400) -> list[date]:
    """Days from ``first`` on whose noon has another UTC offset than the noon before (the change days)."""
    changes = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        before = datetime.combine(day - timedelta(days=1), time(12), tzinfo=zone).utcoffset()
        if datetime.combine(day, time(12), tzinfo=zone).utcoffset() != before:
            changes.append(day)
    return changes


def store_phone_as_is(customer: Customer, text: str) -> Customer:
    """Write ``text`` as the customer's phone unchecked, as an old import may have left it (the field
    normalizes and validates on every ORM write, so this goes around it in SQL)."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Customer._meta.db_table} SET phone = %s WHERE id = %s", [text, customer.pk])
    customer.refresh_from_db()
    return customer


@pytest.fixture(autouse=True)
def reminder_settings(settings):
    """Pin what planning, scheduling and dispatching read, whatever the environment says."""
    settings.TIME_ZONE = PHOENIX
    settings.SCHEDULING_SLOT_MINUTES = 15
    settings.SCHEDULING_MIN_LEAD_MINUTES = 60
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = ""
    settings.REMINDER_PLAN_AT = "17:00"
    settings.REMINDER_WINDOW_START = "08:00"
    settings.REMINDER_WINDOW_END = "21:00"
    return settings


@pytest.fixture
def at():
    """``at(day, "14:30")``: see ``local``."""
    return local


@pytest.fixture
def plan_day(reminder_settings) -> date:
    """A Tuesday at least seven days ahead in the dealership's zone."""
    day = datetime.now(dealership_zone()).date() + timedelta(days=7)
    return day + timedelta(days=(Weekday.TUESDAY - day.weekday()) % 7)


@pytest.fixture
def evening(plan_day) -> datetime:
    """17:00 the day before ``plan_day``: when Beat plans its reminders."""
    return local(plan_day - timedelta(days=1), "17:00")


@pytest.fixture
def shop(db) -> list[OpeningHours]:
    return [OpeningHours.objects.create(weekday=weekday, opens=time(7), closes=time(19)) for weekday in Weekday]


@pytest.fixture
def bays(shop) -> list[Bay]:
    return [Bay.objects.create(name=f"Bay {n}") for n in range(1, 5)]


@pytest.fixture
def oil(db) -> ServiceType:
    return ServiceType.objects.create(name="Oil change", op_code="LOF", duration_minutes=60, price_min=49, price_max=89)


@pytest.fixture
def staff(staff_user) -> Actor:
    return Actor.staff(staff_user)


@pytest.fixture
def make_customer(db):
    """``make_customer("Maria", "(602) 555-0100", consent=True, do_not_call=False)``, with a car."""

    def make(first_name: str, phone: str, *, last_name: str = "Test", consent: bool = True,
             do_not_call: bool = False) -> Customer:  # fmt: skip
        consents = {ConsentKind.REMINDER_CALLS: consent, ConsentKind.DO_NOT_CALL: do_not_call}
        customer = crm_services.customer_create(first_name=first_name, last_name=last_name, phone=phone,
                                                consents=consents, consent_source=ConsentSource.WRITTEN)  # fmt: skip
        crm_services.vehicle_create(customer=customer, year=2020, make="Honda", model="Civic")
        return customer

    return make


@pytest.fixture
def book(bays, oil, staff):
    """``book(customer, start, confirmed=False)``: an oil change through appointment_book, by staff."""

    def make(customer: Customer, start: datetime, *, confirmed: bool = False) -> Appointment:
        appointment = scheduling_services.appointment_book(
            customer=customer, vehicle=customer.vehicles.get(), service_types=[oil], start=start, actor=staff
        )
        if confirmed:
            appointment = scheduling_services.appointment_confirm(appointment=appointment, actor=staff)
        return appointment

    return make


@pytest.fixture
def place(bays, oil):
    """``place(customer, start)``: an appointment written straight to the table, outside opening hours if need
    be (planning reads start times only; this probes day boundaries the booking rules would refuse). Bays
    are taken in turn, so up to four placed appointments may overlap."""
    turn = itertools.cycle(reversed(bays))

    def make(customer: Customer, start: datetime, *, bay: Bay | None = None) -> Appointment:
        appointment = Appointment.objects.create(
            customer=customer, vehicle=customer.vehicles.get(), bay=bay or next(turn), starts_at=start,
            ends_at=start + timedelta(minutes=oil.duration_minutes),
        )  # fmt: skip
        appointment.service_types.set([oil])
        return appointment

    return make


@pytest.fixture
def people(make_customer) -> SimpleNamespace:
    lee = make_customer("Lee", "(602) 555-0104", last_name="Wong")
    store_phone_as_is(lee, "555-01")
    return SimpleNamespace(
        maria=make_customer("Maria", "(602) 555-0100", last_name="Lopez"),
        dev=make_customer("Dev", "(602) 555-0101", last_name="Patel", consent=False),
        ann=make_customer("Ann", "(602) 555-0102", last_name="Kim", do_not_call=True),
        lee=lee,
        sam=make_customer("Sam", "(602) 555-0103", last_name="Ortiz"),
    )


@pytest.fixture
def appointments(people, book, plan_day) -> SimpleNamespace:
    """One appointment on ``plan_day`` per customer in ``people`` (see the module's docstring)."""
    return SimpleNamespace(
        called=book(people.maria, local(plan_day, "09:00")),
        no_consent=book(people.dev, local(plan_day, "09:00")),
        do_not_call=book(people.ann, local(plan_day, "10:00")),
        no_number=book(people.lee, local(plan_day, "11:00")),
        confirmed=book(people.sam, local(plan_day, "13:00"), confirmed=True),
    )


@pytest.fixture
def planned(appointments, plan_day, evening):
    """``appointments`` planned at ``evening``; returns the Plan."""
    return plan_reminders(plan_day, now=evening)


@pytest.fixture
def reminder(planned, appointments) -> ReminderCall:
    """Maria's queued reminder call, due at ``evening``."""
    return ReminderCall.objects.get(appointment=appointments.called)


@pytest.fixture
def dst(reminder_settings) -> SimpleNamespace:
    """The dealership in America/Denver; ``spring`` and ``fall`` are the next DST-change days (Sundays) at
    least a week ahead, ``spring`` being the 23-hour day and ``fall`` the 25-hour one."""
    reminder_settings.TIME_ZONE = DENVER
    zone = ZoneInfo(DENVER)
    changes = dst_changes(zone, datetime.now(zone).date() + timedelta(days=7))
    longer_offset = [day for day in changes if local(day, "12:00").utcoffset() > local(day, "00:00").utcoffset()]
    spring = longer_offset[0]
    fall = next(day for day in changes if day not in longer_offset)
    return SimpleNamespace(zone=zone, spring=spring, fall=fall)
