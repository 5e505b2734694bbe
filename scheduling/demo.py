"""Demo data for scheduling: the service menu, bays, opening hours, holidays and two weeks of appointments.

Runs after crm's demo (its customers and vehicles get the appointments).
Deterministic (a fixed seed) and safe to run on every start: what exists is
left as it is (an edited price or opening hour is never put back), and
appointments are booked only when none are in the coming two weeks.
Appointments go through scheduling.services like any other booking.
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from crm.models import Customer
from scheduling import services
from scheduling.actors import Actor
from scheduling.models import Appointment, Bay, Closure, OpeningHours, ServiceType, Transport, Weekday
from scheduling.selectors import ShopCalendar, available_slots, dealership_zone

SEED = 20261122
DAYS_AHEAD = 14

# op code: (name, minutes, lowest price, highest price, aliases, description)
MENU = {
    "LOF-SYN": (
        "Synthetic oil change", 45, "79.00", "129.00", ["oil change", "lube", "LOF", "oil and filter"],
        "Up to six quarts of full synthetic oil, a new filter, a fluid top-off and a tire pressure check.",
    ),
    "ROT": (
        "Tire rotation", 30, "29.95", "49.95", ["rotate tires", "rotation", "tire swap"],
        "We move the tires front to back so they wear evenly, and set the pressures.",
    ),
    "BRK-INSP": (
        "Brake inspection", 30, "0.00", "49.00", ["brake check", "squeaky brakes", "brakes grinding"],
        "We measure the pads and rotors and check the brake fluid; free with any other service.",
    ),
    "BRK-FRT": (
        "Front brake pads and rotors", 120, "349.00", "599.00", ["front brakes", "brake job", "pads and rotors"],
        "New front pads and rotors, cleaned and lubricated hardware, and a test drive.",
    ),
    "BATT": (
        "Battery test and replacement", 30, "0.00", "289.00", ["battery", "car won't start", "new battery"],
        "A free battery and charging test; if it fails, a new battery installed with a three-year warranty.",
    ),
    "ALIGN-4W": (
        "Four-wheel alignment", 75, "119.00", "179.00", ["alignment", "wheel alignment", "pulls to one side"],
        "All four wheels set to the factory angles on our alignment rack, with a before-and-after printout.",
    ),
    "AC-SVC": (
        "A/C service", 60, "149.00", "249.00", ["air conditioning", "AC recharge", "AC not cold", "freon"],
        "A leak test, refrigerant recovery and recharge, and a vent temperature check.",
    ),
    "MPI": (
        "Multi-point inspection", 45, "0.00", "39.95", ["inspection", "check-up", "road trip check"],
        "A top-to-bottom check of tires, brakes, fluids, belts, hoses, lights and wipers, with a report.",
    ),
    "TRANS-FLD": (
        "Transmission fluid service", 90, "189.00", "289.00", ["transmission flush", "trans service"],
        "The old transmission fluid drained and replaced with the fluid your manufacturer specifies.",
    ),
    "COOL-FL": (
        "Coolant flush", 60, "129.00", "179.00", ["radiator flush", "antifreeze", "overheating"],
        "The cooling system flushed and refilled with fresh coolant, and a pressure test for leaks.",
    ),
    "EMIS": (
        "State emissions and safety inspection", 30, "17.00", "40.00", ["emissions test", "smog check"],
        "The state emissions test and a safety inspection, with the certificate printed for you.",
    ),
    "EV-BHC": (
        "EV battery health check", 45, "99.00", "149.00", ["EV battery check", "battery health", "range check"],
        "A high-voltage battery state-of-health report, a cooling system check and a charging port inspection.",
    ),
    "FILT": (
        "Cabin and engine air filters", 20, "49.00", "119.00", ["air filter", "cabin filter", "pollen filter"],
        "New cabin and engine air filters; the cabin filter keeps dust and pollen out of the car.",
    ),
}
# What each kind of car usually comes in for (op code: weight).
COMBUSTION_VISITS = {
    "LOF-SYN": 34, "ROT": 12, "BRK-INSP": 8, "BRK-FRT": 6, "BATT": 6, "ALIGN-4W": 6,
    "AC-SVC": 7, "MPI": 6, "TRANS-FLD": 3, "COOL-FL": 3, "EMIS": 6, "FILT": 3,
}  # fmt: skip
ELECTRIC_VISITS = {"ROT": 30, "EV-BHC": 25, "FILT": 10, "ALIGN-4W": 10, "BRK-INSP": 10, "AC-SVC": 8, "MPI": 7}
ADD_ONS = ["ROT", "FILT", "MPI", "BRK-INSP"]
ELECTRIC_MAKES = {"Tesla"}
NOTES = {
    "BRK-INSP": "Customer hears a squeal from the front when braking.",
    "BRK-FRT": "Pads measured 2 mm at the last visit.",
    "BATT": "Slow to crank on cold mornings.",
    "ALIGN-4W": "Pulls to the right on the freeway.",
    "AC-SVC": "A/C blows warm at idle.",
    "COOL-FL": "Temperature gauge runs high in traffic.",
    "EV-BHC": "Customer noticed less range since summer.",
}

BAYS = [
    ("Bay 1", ""),
    ("Bay 2", "EV charger"),
    ("Bay 3", "Alignment rack"),
    ("Express Lane", "Oil changes and quick jobs"),
]
WEEKDAY_HOURS = (time(7, 0), time(18, 0), [(time(12, 0), time(12, 30))])
HOURS = {
    Weekday.MONDAY: WEEKDAY_HOURS,
    Weekday.TUESDAY: WEEKDAY_HOURS,
    Weekday.WEDNESDAY: WEEKDAY_HOURS,
    Weekday.THURSDAY: WEEKDAY_HOURS,
    Weekday.FRIDAY: WEEKDAY_HOURS,
    Weekday.SATURDAY: (time(8, 0), time(14, 0), []),
}  # Sunday closed


def thanksgiving(year: int) -> date:
    """The fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3)


def upcoming_holidays(today: date) -> list[tuple[date, str]]:
    """The next Thanksgiving, Christmas Day and New Year's Day on or after ``today``."""
    rules = [
        (thanksgiving, "Thanksgiving Day"),
        (lambda year: date(year, 12, 25), "Christmas Day"),
        (lambda year: date(year, 1, 1), "New Year's Day"),
    ]
    holidays = []
    for rule, reason in rules:
        day = rule(today.year)
        if day < today:
            day = rule(today.year + 1)
        holidays.append((day, reason))
    return sorted(holidays)


def load(*, stdout=None) -> dict[str, int]:
    rng = random.Random(SEED)
    today = timezone.localdate()
    created = {
        "service types": _load_menu(),
        "bays": _load_bays(),
        "opening days": _load_hours(),
        "closures": _load_closures(today),
        "appointments": _load_appointments(rng, today),
    }
    if stdout:
        stdout.write("scheduling: " + ", ".join(f"{count} {what}" for what, count in created.items()) + " added")
    return created


def _load_menu() -> int:
    added = 0
    for op_code, (name, minutes, low, high, aliases, description) in MENU.items():
        _, was_created = ServiceType.objects.get_or_create(
            op_code=op_code,
            defaults={
                "name": name,
                "duration_minutes": minutes,
                "price_min": Decimal(low),
                "price_max": Decimal(high),
                "aliases": aliases,
                "description": description,
            },
        )
        added += was_created
    return added


def _load_bays() -> int:
    return sum(Bay.objects.get_or_create(name=name, defaults={"notes": notes})[1] for name, notes in BAYS)


def _load_hours() -> int:
    # The week is one setting: once any hours exist the shop has set its own
    # (a weekday without a row is a closed day, not a missing one).
    if OpeningHours.objects.exists():
        return 0
    for weekday, (opens, closes, breaks) in HOURS.items():
        hours = OpeningHours.objects.create(weekday=weekday, opens=opens, closes=closes)
        for starts, ends in breaks:
            hours.breaks.create(starts=starts, ends=ends)
    return len(HOURS)


def _load_closures(today: date) -> int:
    return sum(
        Closure.objects.get_or_create(date=day, defaults={"reason": reason})[1]
        for day, reason in upcoming_holidays(today)
    )


def _load_appointments(rng: random.Random, today: date) -> int:
    zone = dealership_zone()
    last_day = today + timedelta(days=DAYS_AHEAD)
    window_end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
    if Appointment.objects.filter(starts_at__gte=timezone.now(), starts_at__lt=window_end).exists():
        return 0
    customers = list(
        Customer.objects.filter(vehicles__isnull=False).distinct().order_by("phone").prefetch_related("vehicles")
    )
    menu = {s.op_code: s for s in ServiceType.objects.filter(active=True)}
    if not customers or not menu:
        return 0
    shop = ShopCalendar(today, last_day)
    actor = Actor.system()
    booked = 0
    for offset in range(DAYS_AHEAD + 1):
        day = today + timedelta(days=offset)
        if shop.working_day(day) is None:
            continue
        wanted = rng.randint(3, 5) if day.weekday() == Weekday.SATURDAY else rng.randint(5, 8)
        for _ in range(wanted):
            customer = rng.choice(customers)
            vehicle = rng.choice(list(customer.vehicles.all()))
            service_types = _draw_services(rng, menu, electric=vehicle.make in ELECTRIC_MAKES)
            transport = rng.choices(Transport.values, weights=[45, 35, 12, 8])[0]
            note = NOTES.get(service_types[0].op_code, "") if rng.random() < 0.5 else ""
            confirm = rng.random() < 0.4
            pick = rng.random()
            if not service_types:
                continue
            slots = available_slots(service_types=service_types, first_day=day, last_day=day)
            if not slots:
                continue
            start = slots[int(pick * len(slots))].start
            try:
                appointment = services.appointment_book(
                    customer=customer,
                    vehicle=vehicle,
                    service_types=service_types,
                    start=start,
                    actor=actor,
                    transport=transport,
                    notes=note,
                )
            except services.BookingError:
                continue
            if confirm:
                services.appointment_confirm(appointment=appointment, actor=actor)
            booked += 1
    return booked


def _draw_services(rng: random.Random, menu: dict[str, ServiceType], *, electric: bool) -> list[ServiceType]:
    weights = ELECTRIC_VISITS if electric else COMBUSTION_VISITS
    choices = [code for code in weights if code in menu]
    if not choices:
        return []
    main = rng.choices(choices, weights=[weights[code] for code in choices])[0]
    chosen = [main]
    if rng.random() < 0.25:
        extra = rng.choice(ADD_ONS)
        if extra != main and extra in menu:
            chosen.append(extra)
    return [menu[code] for code in chosen]
