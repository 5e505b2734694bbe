"""Each scenario's world: the days it names, a calendar cleared from now on, and the appointments it needs.

Everything here runs inside the scenario's transaction, which is rolled back afterwards, and goes through the
services of crm and scheduling like any other change (except the clearing, see ``clear_calendar``).

Days are written relative to today (the dealership's date) and resolved here, by rules of our own: the
agent's own date understanding is what is under test, so it is never asked.

    today, tomorrow
    +N                    N days from today
    friday                the coming Friday: 1 to 7 days ahead
    next friday           Friday of next calendar week (weeks start on Monday)
    a week from monday    the coming Monday, plus 7 days
    next open weekday     the first Monday-to-Friday after today that the shop is open

A day the shop is closed (Sunday, a holiday) moves on to the next open weekday, Monday to Friday (their hours
hold every time a Saturday's do), so every scenario works whatever today is; the caller then says that day by
its date ("Wednesday, December 26th") instead of the expression.
In a caller's line, ``{next tuesday}`` is the day as the caller says it ("next Tuesday"); ``{+8:nth}`` gives
"14th", ``{friday:weekday}`` "Friday", ``{+3:date}`` "Monday, December 7th".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import Max
from django.utils import timezone

from crm.models import Customer, Vehicle
from crm.selectors import customer_find_by_phone, dealership_profile
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import Appointment, AppointmentEvent, Bay, OpeningHours, ServiceType
from scheduling.selectors import ShopCalendar, active_service_menu, available_slots, dealership_zone
from voice.models import CallbackRequest

if TYPE_CHECKING:
    from voice.evaluation.scenarios import Scenario

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOOK_AHEAD_DAYS = 90  # how far a closed day may move on, and how far the shop's calendar is read
FIRST_OPENING_DAYS = 14  # "as early as possible" looks this far
LOAD_DEMO = "run manage.py load_demo first"


class DemoDataMissing(Exception):
    """The demo dealership (customers, menu, hours) is not in the database."""


class WorldError(Exception):
    """A scenario asks for a world that cannot be built (an unknown service, a car the caller does not have)."""


# --------------------------------------------------------------------------- days


@dataclass(frozen=True)
class DayExpression:
    text: str  # as written, in lower case with single spaces
    kind: str  # "today" | "tomorrow" | "offset" | "weekday" | "next weekday" | "week from" | "next open weekday"
    number: int = 0  # the days of an offset, or the weekday (Monday = 0)


_WEEKDAY = "|".join(WEEKDAYS)
_FORMS = (
    (re.compile(r"today"), "today"),
    (re.compile(r"tomorrow"), "tomorrow"),
    (re.compile(r"\+(\d{1,2})"), "offset"),
    (re.compile(rf"({_WEEKDAY})"), "weekday"),
    (re.compile(rf"next ({_WEEKDAY})"), "next weekday"),
    (re.compile(rf"a week from ({_WEEKDAY})"), "week from"),
    (re.compile(r"next open weekday"), "next open weekday"),
)
DAY_FORMS = "today, tomorrow, +N, a weekday, next <weekday>, a week from <weekday> or next open weekday"


def parse_day(text: str) -> DayExpression:
    """A day expression, or ValueError saying which ones there are."""
    words = " ".join(str(text).lower().split())
    for pattern, kind in _FORMS:
        match = pattern.fullmatch(words)
        if match is None:
            continue
        argument = match.group(1) if match.groups() else None
        if argument is None:
            return DayExpression(words, kind)
        number = int(argument) if kind == "offset" else WEEKDAYS.index(argument)
        return DayExpression(words, kind, number)
    raise ValueError(f"{text!r} is not a day expression; use {DAY_FORMS}")


@dataclass(frozen=True)
class ResolvedDay:
    day: date
    phrase: str  # how the caller says it: the expression's own words, or the date when the day moved on
    moved: bool = False  # the named day was closed


def resolve_day(expression: DayExpression, *, today: date, is_open: Callable[[date], bool]) -> ResolvedDay:
    named = _named_day(expression, today, is_open)
    if is_open(named):
        return ResolvedDay(named, _as_said(expression, named, today))
    # On to a weekday, never a Saturday: weekday hours hold every time Saturday's do, not the other way round.
    day = named + timedelta(days=1)
    while day.weekday() >= 5 or not is_open(day):
        day += timedelta(days=1)
        if (day - named).days > LOOK_AHEAD_DAYS:
            raise WorldError(f"the shop has no open weekday in the {LOOK_AHEAD_DAYS} days after {named}")
    return ResolvedDay(day, spoken_date(day), moved=True)


def resolve_days(expressions: Iterable[str], *, today: date) -> dict[str, ResolvedDay]:
    """Each expression's day by the shop's calendar (its hours and closures), keyed by the expression."""
    calendar = ShopCalendar(today, today + timedelta(days=2 * LOOK_AHEAD_DAYS))

    def is_open(day: date) -> bool:
        return calendar.working_day(day) is not None

    parsed = [parse_day(expression) for expression in expressions]
    return {expression.text: resolve_day(expression, today=today, is_open=is_open) for expression in parsed}


def _named_day(expression: DayExpression, today: date, is_open: Callable[[date], bool]) -> date:
    kind, number = expression.kind, expression.number
    if kind == "today":
        return today
    if kind == "tomorrow":
        return today + timedelta(days=1)
    if kind == "offset":
        return today + timedelta(days=number)
    if kind == "weekday":
        return _coming(number, today)
    if kind == "next weekday":
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=number)
    if kind == "week from":
        return _coming(number, today) + timedelta(days=7)
    day = today + timedelta(days=1)  # next open weekday
    while day.weekday() >= 5 or not is_open(day):
        day += timedelta(days=1)
        if (day - today).days > LOOK_AHEAD_DAYS:
            raise WorldError(f"the shop has no open weekday in the next {LOOK_AHEAD_DAYS} days")
    return day


def _coming(weekday: int, today: date) -> date:
    """The next day with this weekday, 1 to 7 days after today."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _as_said(expression: DayExpression, day: date, today: date) -> str:
    kind = expression.kind
    if kind in ("today", "tomorrow"):
        return kind
    weekday = f"{day:%A}"
    if kind == "weekday":
        return weekday if (day - today).days < 7 else f"next {weekday}"
    if kind == "next weekday":
        return f"next {weekday}"
    if kind == "week from":
        base = day - timedelta(days=7)
        # Said on a Monday, "a week from Monday" could mean today's: the coming one is next week's.
        return f"a week from next {weekday}" if (base - today).days == 7 else f"a week from {weekday}"
    ahead = (day - today).days  # an offset, or the next open weekday
    if ahead == 1:
        return "tomorrow"
    return weekday if ahead < 7 else spoken_date(day)


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def spoken_date(day: date) -> str:
    """ "Tuesday, December 8th"."""
    return f"{day:%A}, {day:%B} {ordinal(day.day)}"


# A day in a caller's line: {expression} or {expression:format}.
PLACEHOLDER = re.compile(r"\{([^{}:]+)(?::([a-z]+))?\}")
FORMATS = {
    "": lambda resolved: resolved.phrase,
    "date": lambda resolved: spoken_date(resolved.day),
    "weekday": lambda resolved: f"{resolved.day:%A}",
    "nth": lambda resolved: ordinal(resolved.day.day),
}


def day_placeholders(line: str) -> list[tuple[str, str]]:
    """(expression, format) of every day in a caller's line."""
    return [(match.group(1), match.group(2) or "") for match in PLACEHOLDER.finditer(line)]


def render_line(line: str, days: dict[str, ResolvedDay]) -> str:
    def words(match: re.Match) -> str:
        resolved = days[parse_day(match.group(1)).text]
        return FORMATS[match.group(2) or ""](resolved)

    return PLACEHOLDER.sub(words, line)


# --------------------------------------------------------------------------- the demo dealership


def missing_demo_data(phones: Iterable[str]) -> list[str]:
    """What of the demo dealership the scenarios need is not in the database (empty when all is there)."""
    missing = []
    if not dealership_profile().name:
        missing.append("the dealership's profile")
    if not active_service_menu().exists():
        missing.append("the service menu")
    if not OpeningHours.objects.exists():
        missing.append("the opening hours")
    if not Bay.objects.filter(active=True).exists():
        missing.append("the bays")
    absent = sorted({phone for phone in phones if customer_find_by_phone(phone) is None})
    if absent:
        missing.append(f"the customers with the numbers {', '.join(absent)}")
    return missing


def service_named(name: str) -> ServiceType:
    """The active service with this name or alias (any case)."""
    wanted = name.casefold().strip()
    for service in active_service_menu():
        if wanted == service.name.casefold() or wanted in (alias.casefold() for alias in service.aliases or ()):
            return service
    raise WorldError(f"no service called {name!r} on the menu")


def services_named(names: Sequence[str]) -> list[ServiceType]:
    return [service_named(name) for name in names]


ORDINALS = {"first": 0, "second": 1, "third": 2, "only": 0}


def vehicle_described(vehicles: Sequence[Vehicle], description: str) -> Vehicle | None:
    """ "first" / "second" / "third" (in the order they were added), or words of its name ("Kia Sportage")."""
    words = description.casefold().split()
    if len(words) == 1 and words[0] in ORDINALS:
        index = ORDINALS[words[0]]
        return vehicles[index] if index < len(vehicles) else None
    for vehicle in vehicles:
        name = f"{vehicle.year or ''} {vehicle.make} {vehicle.model} {vehicle.trim}".casefold().split()
        if all(word in name for word in words):
            return vehicle
    return None


def vehicles_of(customer: Customer) -> list[Vehicle]:
    return list(customer.vehicles.order_by("pk"))


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Baseline:
    """The highest id of each kind of row once the world is set up: anything above it is the agent's doing."""

    appointment: int
    event: int
    customer: int
    vehicle: int
    callback: int


def take_baseline() -> Baseline:
    def highest(model) -> int:
        return model.objects.aggregate(highest=Max("pk"))["highest"] or 0

    return Baseline(appointment=highest(Appointment), event=highest(AppointmentEvent), customer=highest(Customer),
                    vehicle=highest(Vehicle), callback=highest(CallbackRequest))  # fmt: skip


@dataclass
class World:
    now: datetime
    today: date
    caller: Customer | None  # the demo customer calling, when their number is on file
    caller_phone: str  # the number calling, "" when withheld
    lines: tuple[str, ...]  # the caller's lines, days written out
    days: dict[str, ResolvedDay]  # every day the scenario names, by expression
    given: tuple[Appointment, ...] = ()
    given_as_set_up: tuple[tuple[datetime, str], ...] = ()  # (start, status) of each given appointment
    first_opening: datetime | None = None  # for a booking "as early as possible"
    baseline: Baseline | None = None
    customers: dict[str, Customer] = field(default_factory=dict)  # the demo customers the scenario names, by phone

    def day(self, expression: str) -> date:
        return self.days[parse_day(expression).text].day

    def at(self, expression: str, clock: str) -> datetime:
        return local_moment(self.day(expression), clock)


def local_moment(day: date, clock: str) -> datetime:
    """A wall-clock time ("14:00") on a day, in the dealership's zone."""
    return datetime.combine(day, time.fromisoformat(clock)).replace(tzinfo=dealership_zone())


def today_here(now: datetime) -> date:
    return now.astimezone(dealership_zone()).date()


def clear_calendar(now: datetime) -> None:
    """Every appointment not over yet is removed, so the days a scenario uses are free whatever the demo booked.

    Deleted, not cancelled through the services: this is the scenario's stage, not a change anyone made, and it
    is rolled back with the rest; cancelling each one would leave rows that look like history.
    """
    Appointment.objects.filter(ends_at__gt=now).delete()


def build_world(scenario: Scenario) -> World:
    """Set up the scenario's world in the current transaction: a clear calendar, its appointments, its days."""
    now = timezone.now()
    today = today_here(now)
    clear_calendar(now)
    days = resolve_days(scenario.day_expressions(), today=today)
    customers = {phone: _demo_customer(phone) for phone in scenario.customer_phones()}
    caller = customers.get(scenario.caller.phone) if scenario.caller.known else None
    if caller is not None and caller.full_name.casefold() != scenario.caller.name.casefold():
        raise WorldError(f"the number {scenario.caller.phone} is {caller.full_name}'s, not {scenario.caller.name}'s: "
                         "the demo data differs from the one the scenarios were written for")  # fmt: skip
    if not scenario.caller.known and scenario.caller.phone and customer_find_by_phone(scenario.caller.phone):
        raise WorldError(f"the unknown caller's number {scenario.caller.phone} is on file: pick one nobody has")
    world = World(now=now, today=today, caller=caller, caller_phone=scenario.caller.phone, days=days,
                  customers=customers, lines=tuple(render_line(line, days) for line in scenario.lines))  # fmt: skip

    involved = {customer.pk for customer in customers.values()}
    for busy in scenario.busy:
        _fill_every_bay(world.at(busy.day, busy.time), services_named(busy.services), involved)
    given = [_book_given(world, appointment, caller) for appointment in scenario.given]
    world.given = tuple(given)
    world.given_as_set_up = tuple((appointment.starts_at, appointment.status) for appointment in given)
    booked = scenario.expect.booked
    if booked is not None:  # an unknown service is the file's mistake: said before the call, not after
        wanted = services_named(booked.services)
        if booked.when:
            world.first_opening = first_opening(wanted, today=today)
    world.baseline = take_baseline()
    return world


def _demo_customer(phone: str) -> Customer:
    customer = customer_find_by_phone(phone)
    if customer is None:
        raise DemoDataMissing(f"no customer has the number {phone}: {LOAD_DEMO}")
    return customer


def first_opening(service_types: Sequence[ServiceType], *, today: date, exclude_appointment_id: int | None = None):
    """The earliest start the shop can offer for these services, from now on."""
    slots = available_slots(service_types=service_types, first_day=today,
                            last_day=today + timedelta(days=FIRST_OPENING_DAYS), limit=1,
                            exclude_appointment_id=exclude_appointment_id)  # fmt: skip
    return slots[0].start if slots else None


def _book_given(world: World, given, caller: Customer | None) -> Appointment:
    customer = world.customers[given.customer] if given.customer else caller
    if customer is None:
        raise WorldError("a given appointment without a customer needs a known caller")
    vehicle = vehicle_described(vehicles_of(customer), given.vehicle)
    if vehicle is None:
        raise WorldError(f"{customer.full_name} has no vehicle that is {given.vehicle!r}")
    actor = Actor.system()
    appointment = scheduling_services.appointment_book(
        customer=customer, vehicle=vehicle, service_types=services_named(given.services),
        start=world.at(given.day, given.time), actor=actor,
    )  # fmt: skip
    # The statuses a visit goes through, in order, up to the one the scenario asks for.
    steps = {
        "confirmed": [scheduling_services.appointment_confirm],
        "checked_in": [scheduling_services.appointment_check_in],
        "completed": [scheduling_services.appointment_check_in, scheduling_services.appointment_complete],
    }
    for step in steps.get(given.status, []):
        appointment = step(appointment=appointment, actor=actor)
    return appointment


def _fill_every_bay(start: datetime, service_types: Sequence[ServiceType], involved: set[int]) -> None:
    """This start is taken in every bay, by demo customers the scenario does not otherwise involve."""
    bays = Bay.objects.filter(active=True).count()
    others = (
        Customer.objects.filter(vehicles__isnull=False).exclude(pk__in=involved).distinct().order_by("phone")[:bays]
    )
    for customer in others:
        scheduling_services.appointment_book(
            customer=customer, vehicle=vehicles_of(customer)[0], service_types=service_types, start=start,
            actor=Actor.system(),
        )  # fmt: skip
