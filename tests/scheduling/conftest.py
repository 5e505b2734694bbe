"""Scheduling fixtures: a shop with opening hours and a lunch break, three bays, a service menu, two customers.

Dates are computed from today in the dealership's zone and always lie at least a week ahead, so the tests do
not depend on the day they run and need no fake clock (the services read the real ``timezone.now()``).
Functions that accept ``now=`` are given one where a test is about the clock.
"""

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from crm import services as crm_services
from scheduling import services
from scheduling.actors import Actor
from scheduling.models import Bay, OpeningBreak, OpeningHours, ServiceType, Weekday


def dealership_zone() -> ZoneInfo:
    """The zone of the current TIME_ZONE setting (tests change it)."""
    return ZoneInfo(django_settings.TIME_ZONE)


def local_clock(moment: datetime) -> str:
    """"HH:MM" of an instant on the dealership's wall clock."""
    return f"{moment.astimezone(dealership_zone()):%H:%M}"


@pytest.fixture(autouse=True)
def scheduling_settings(settings):
    """Pin what the scheduling rules read, whatever the environment says; tests change these as they need."""
    settings.TIME_ZONE = "America/Phoenix"
    settings.SCHEDULING_SLOT_MINUTES = 15
    settings.SCHEDULING_MIN_LEAD_MINUTES = 60
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = ""
    return settings


@pytest.fixture
def at():
    """``at(day, "14:30")``: the instant of that wall-clock time in the dealership's zone as set right now."""

    def make(day: date, clock: str, *, fold: int = 0) -> datetime:
        hour, minute = (int(part) for part in clock.split(":"))
        return datetime.combine(day, time(hour, minute, fold=fold), tzinfo=dealership_zone())

    return make


@pytest.fixture
def today(scheduling_settings) -> date:
    return timezone.now().astimezone(dealership_zone()).date()


@pytest.fixture
def monday(today) -> date:
    """A Monday at least seven days ahead: far from the lead time, always in the future."""
    day = today + timedelta(days=7)
    return day + timedelta(days=-day.weekday() % 7)


@pytest.fixture
def tuesday(monday) -> date:
    return monday + timedelta(days=1)


@pytest.fixture
def shop(db):
    """Mon-Fri 07:00-18:00 with lunch 12:00-12:30, Sat 08:00-14:00, Sun closed. Returns the rows by weekday."""
    hours = {}
    for weekday in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY):
        hours[weekday] = OpeningHours.objects.create(weekday=weekday, opens=time(7), closes=time(18))
        OpeningBreak.objects.create(hours=hours[weekday], starts=time(12), ends=time(12, 30))
    hours[Weekday.SATURDAY] = OpeningHours.objects.create(weekday=Weekday.SATURDAY, opens=time(8), closes=time(14))
    return hours


@pytest.fixture
def bays(shop) -> list[Bay]:
    return [Bay.objects.create(name=f"Bay {n}") for n in (1, 2, 3)]


@pytest.fixture
def menu(db) -> SimpleNamespace:
    return SimpleNamespace(
        oil=ServiceType.objects.create(
            name="Oil change", op_code="LOF", duration_minutes=60, price_min=49, price_max=89
        ),
        rotation=ServiceType.objects.create(
            name="Tire rotation", op_code="ROT", duration_minutes=30, price_min=25, price_max=40
        ),
        retired=ServiceType.objects.create(
            name="Carburetor tune-up", op_code="CARB", duration_minutes=90, price_min=120, price_max=200, active=False
        ),
    )


@pytest.fixture
def customer(db):
    return crm_services.customer_create(first_name="Maria", last_name="Lopez", phone="(602) 555-0100")


@pytest.fixture
def vehicle(customer):
    return crm_services.vehicle_create(customer=customer, year=2019, make="Honda", model="Accord")


@pytest.fixture
def other_customer(db):
    return crm_services.customer_create(first_name="Dev", last_name="Patel", phone="(602) 555-0101")


@pytest.fixture
def other_vehicle(other_customer):
    return crm_services.vehicle_create(customer=other_customer, year=2021, make="Toyota", model="RAV4")


@pytest.fixture
def staff(staff_user) -> Actor:
    return Actor.staff(staff_user)


@pytest.fixture
def agent() -> Actor:
    return Actor.phone_agent("CA0123456789abcdef0123456789abcdef")


@pytest.fixture
def book(bays, menu, customer, vehicle, staff):
    """``book(start)``: appointment_book with the fixtures' customer, vehicle, an oil change and a staff actor."""

    def make(start: datetime, *, service_types=None, actor: Actor | None = None, **overrides):
        arguments = {
            "customer": customer,
            "vehicle": vehicle,
            "service_types": [menu.oil] if service_types is None else service_types,
            "start": start,
            "actor": actor or staff,
        }
        arguments.update(overrides)
        return services.appointment_book(**arguments)

    return make
