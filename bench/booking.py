"""Booking benchmark on real PostgreSQL (not a test: it prints figures and exits 0).

    DEBUG=1 python bench/booking.py

(a) 100 concurrent attempts to book one slot on 3 bays: successes, clean refusals
    (SlotTakenError), other errors, and overlapping active pairs found afterwards by SQL.
    Expected: 3 / 97 / 0 / 0. All 100 threads are released together; as the server
    allows 100 connections in all (shared with whatever else runs), at most its free
    connections minus a margin hold one at the same moment, the others queue for one.
(b) The booking transaction: 300 sequential appointment_book calls at distinct free
    times, wall time of the whole service (validation, bay claim, event row, commit).
    Budget: p95 <= 15 ms.
(c) available_slots for a 14-day window with 2,000 existing appointments, 50 runs each,
    for two shapes of shop: 3 bays with the 2,000 spread over the coming months, and
    16 bays with all 2,000 inside the window.

Everything happens in a throwaway database (bench_dealership) made with Django's
test-database machinery and dropped at the end; development data is never touched.
Google Calendar is switched off and Celery tasks go to an in-memory broker, so the
figures are the database's and ours alone.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from crm import services as crm_services  # noqa: E402
from dealership.celery import app as celery_app  # noqa: E402
from scheduling import services  # noqa: E402
from scheduling.actors import Actor  # noqa: E402
from scheduling.models import (  # noqa: E402
    ACTIVE_STATUSES,
    Appointment,
    Bay,
    OpeningBreak,
    OpeningHours,
    ServiceType,
    Weekday,
)
from scheduling.selectors import available_slots  # noqa: E402
from scheduling.services import SlotTakenError  # noqa: E402

BENCH_DATABASE = "bench_dealership"
RACERS = 100
RACE_BAYS = 3
SEQUENTIAL_BOOKINGS = 300
WARMUP_BOOKINGS = 10  # made first and not counted (first-use costs: plans, the broker's in-memory queue)
BOOKING_BUDGET_MS = 15.0
EXISTING_APPOINTMENTS = 2_000
WINDOW_DAYS = 14
AVAILABILITY_RUNS = 50
CONNECTION_MARGIN = 8  # connections left free for everyone else on a shared server
DENSE_BAYS = 16  # enough bays for all 2,000 appointments to fit inside the window
HOUR_LONG_SHARE = 0.3  # the rest of the existing appointments are 30 minutes long

OVERLAPPING_ACTIVE_PAIRS = """
    SELECT count(*)
    FROM scheduling_appointment a
    JOIN scheduling_appointment b ON a.bay_id = b.bay_id AND a.id < b.id AND a.during && b.during
    WHERE a.status = ANY(%s) AND b.status = ANY(%s)
"""


# --------------------------------------------------------------------------- set-up


def isolate(database: str = BENCH_DATABASE) -> None:
    """No Google, no Redis traffic, no query log: only the database and our code are measured."""
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = ""
    settings.DEBUG = False  # DEBUG=1 is only needed to start without a SECRET_KEY; it would log every query
    celery_app.conf.broker_url = "memory://localhost//"
    celery_app.conf.task_always_eager = False
    connections["default"].settings_dict["TEST"]["NAME"] = database


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=zone())


def make_shop() -> dict[str, ServiceType]:
    for weekday in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY):
        hours = OpeningHours.objects.create(weekday=weekday, opens=clock(7), closes=clock(18))
        OpeningBreak.objects.create(hours=hours, starts=clock(12), ends=clock(12, 30))
    OpeningHours.objects.create(weekday=Weekday.SATURDAY, opens=clock(8), closes=clock(14))
    return {
        "oil": ServiceType.objects.create(
            name="Oil change", op_code="LOF", duration_minutes=60, price_min=49, price_max=89
        ),
        "rotation": ServiceType.objects.create(
            name="Tire rotation", op_code="ROT", duration_minutes=30, price_min=25, price_max=40
        ),
    }


def set_bays(count: int) -> list[Bay]:
    """Exactly ``count`` active bays (Bay 01, Bay 02...), creating or deactivating as needed."""
    for n in range(1, count + 1):
        Bay.objects.update_or_create(name=f"Bay {n:02d}", defaults={"active": True})
    Bay.objects.exclude(name__in=[f"Bay {n:02d}" for n in range(1, count + 1)]).update(active=False)
    return list(Bay.objects.filter(active=True).order_by("name"))


def make_people(count: int) -> list[tuple]:
    people = []
    for n in range(count):
        customer = crm_services.customer_create(first_name=f"Bench{n}", phone=f"(602) 555-{n:04d}")
        people.append((customer, crm_services.vehicle_create(customer=customer, make="Ford", model="F-150")))
    return people


def first_monday_after(days: int) -> date:
    day = datetime.now(zone()).date() + timedelta(days=days)
    return day + timedelta(days=-day.weekday() % 7)


def overlapping_active_pairs() -> int:
    statuses = [str(s) for s in ACTIVE_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPPING_ACTIVE_PAIRS, [statuses, statuses])
        return cursor.fetchone()[0]


def free_connections() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int, (SELECT count(*) FROM pg_stat_activity)")
        maximum, used = cursor.fetchone()
    return maximum, used


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- (a) the race


def race(people, service, day: date) -> dict:
    set_bays(RACE_BAYS)
    start = local(day, 10)
    maximum, used = free_connections()
    in_flight = max(1, min(RACERS, maximum - used - CONNECTION_MARGIN))
    gate = threading.Semaphore(in_flight)  # the server's connection limit, not ours
    barrier = threading.Barrier(RACERS)
    outcome = {"success": 0, "refused": 0, "other": []}
    lock = threading.Lock()

    def attempt(n: int) -> None:
        customer, vehicle = people[n]
        try:
            barrier.wait(timeout=30)
            with gate:
                try:
                    services.appointment_book(
                        customer=customer,
                        vehicle=vehicle,
                        service_types=[service],
                        start=start,
                        actor=Actor.phone_agent(f"CA-bench-{n}"),
                    )
                    key = "success"
                except SlotTakenError:
                    key = "refused"
                finally:
                    connection.close()
            with lock:
                outcome[key] += 1
        except BaseException as error:  # counted and shown, never hidden
            with lock:
                outcome["other"].append(repr(error))

    began = time.perf_counter()
    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome["seconds"] = time.perf_counter() - began
    outcome["overlaps"] = overlapping_active_pairs()
    outcome["in_flight"] = in_flight
    outcome["start"] = start
    return outcome


# --------------------------------------------------------------------------- (b) booking latency


def grid_starts(first_day: date, days: int, minutes: int, duration: int):
    """Every start on the grid, in opening hours, that fits a job of ``duration`` minutes."""
    windows = {
        weekday: [(7 * 60, 12 * 60), (12 * 60 + 30, 18 * 60)]
        for weekday in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY)
    }
    windows[Weekday.SATURDAY] = [(8 * 60, 14 * 60)]
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for opens, closes in windows.get(day.weekday(), []):
            for minute in range(opens, closes - duration + 1, minutes):
                yield local(day, minute // 60, minute % 60)


def booking_latency(people, service, first_day: date) -> list[float]:
    set_bays(RACE_BAYS)
    starts = grid_starts(first_day, 60, 30, service.duration_minutes)
    actor = Actor.phone_agent("CA-bench-latency")
    timings = []
    for n in range(WARMUP_BOOKINGS + SEQUENTIAL_BOOKINGS):
        customer, vehicle = people[n % len(people)]
        start = next(starts)
        began = time.perf_counter()
        services.appointment_book(
            customer=customer, vehicle=vehicle, service_types=[service], start=start, actor=actor
        )
        timings.append((time.perf_counter() - began) * 1000)
    return timings[WARMUP_BOOKINGS:]


# --------------------------------------------------------------------------- (c) availability


def fill(people, menu, bays: list[Bay], first_day: date, days: int, count: int, rng: random.Random) -> float:
    """Bulk-create ``count`` active appointments at random free places; returns the share of bay time booked."""
    services_by_length = {s.duration_minutes: s for s in menu.values()}
    starts = list(grid_starts(first_day, days, 30, 30))
    free = {(bay.pk, start) for bay in bays for start in starts}  # free half hours per bay
    capacity = len(free)
    candidates = sorted(free, key=lambda _: rng.random())
    rows, kinds = [], []
    for bay_id, start in candidates:
        if len(rows) == count:
            break
        length = 60 if rng.random() < HOUR_LONG_SHARE else 30
        halves = [start + timedelta(minutes=30 * k) for k in range(length // 30)]
        if not all((bay_id, half) in free for half in halves):
            length, halves = 30, halves[:1]
            if (bay_id, start) not in free:
                continue
        free.difference_update((bay_id, half) for half in halves)
        customer, vehicle = people[len(rows) % len(people)]
        rows.append(
            Appointment(
                customer=customer,
                vehicle=vehicle,
                bay_id=bay_id,
                starts_at=start,
                ends_at=start + timedelta(minutes=length),
                status=ACTIVE_STATUSES[len(rows) % 2],  # booked or confirmed
            )
        )
        kinds.append(services_by_length[length])
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} appointments fit; widen the period")
    created = Appointment.objects.bulk_create(rows, batch_size=500)
    through = Appointment.service_types.through
    through.objects.bulk_create(
        [through(appointment_id=a.pk, servicetype_id=kind.pk) for a, kind in zip(created, kinds, strict=True)],
        batch_size=1000,
    )
    return 1 - len(free) / capacity


def availability(service, first_day: date, shape: str, in_window: int, booked_share: float) -> dict:
    last_day = first_day + timedelta(days=WINDOW_DAYS - 1)
    timings, counts = [], set()
    for _ in range(AVAILABILITY_RUNS):
        began = time.perf_counter()
        slots = available_slots(service_types=[service], first_day=first_day, last_day=last_day, shop_busy=[])
        timings.append((time.perf_counter() - began) * 1000)
        counts.add(len(slots))
    return {
        "shape": shape,
        "in_window": in_window,
        "booked_share": booked_share,
        "slots": counts.pop() if len(counts) == 1 else sorted(counts),
        "timings": timings,
    }


def availability_scenarios(people, menu, first_day: date, rng: random.Random) -> list[dict]:
    results = []
    window_end = local(first_day + timedelta(days=WINDOW_DAYS), 0)

    def in_window() -> int:
        return Appointment.objects.filter(
            status__in=ACTIVE_STATUSES, starts_at__lt=window_end, ends_at__gt=local(first_day, 0)
        ).count()

    # 3 bays, the 2,000 spread over the next 16 weeks (the window holds its share).
    Appointment.objects.all().delete()
    bays = set_bays(3)
    share = fill(people, menu, bays, first_day, 16 * 7, EXISTING_APPOINTMENTS, rng)
    results.append(availability(menu["oil"], first_day, "3 bays, spread over 16 weeks", in_window(), share))

    # Many bays, all 2,000 inside the 14-day window: the busiest the window can get.
    Appointment.objects.all().delete()
    bays = set_bays(DENSE_BAYS)
    share = fill(people, menu, bays, first_day, WINDOW_DAYS, EXISTING_APPOINTMENTS, rng)
    results.append(availability(menu["oil"], first_day, f"{DENSE_BAYS} bays, all in the window", in_window(), share))
    return results


# --------------------------------------------------------------------------- report


def report(race_result: dict, latency: list[float], scenarios: list[dict], server_version: str) -> None:
    line = "-" * 78
    print(line)
    print(f"Booking benchmark - {server_version}, database {BENCH_DATABASE}, TIME_ZONE {settings.TIME_ZONE}")
    print(f"machine: {os.cpu_count()} CPUs, load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(line)

    start = race_result["start"].astimezone(zone())
    print(f"(a) race: {RACERS} concurrent attempts for {start:%a %Y-%m-%d %H:%M}, {RACE_BAYS} bays")
    print(f"    (threads released together; up to {race_result['in_flight']} in flight at once, the server's limit)")
    rows = [
        ("successes", race_result["success"], RACE_BAYS),
        ("clean refusals (SlotTakenError)", race_result["refused"], RACERS - RACE_BAYS),
        ("other errors", len(race_result["other"]), 0),
        ("overlapping active pairs (SQL)", race_result["overlaps"], 0),
    ]
    for label, value, expected in rows:
        verdict = "ok" if value == expected else "MISMATCH"
        print(f"    {label:<34} {value:>6}   expected {expected:>3}   {verdict}")
    print(f"    {'wall time':<34} {race_result['seconds']:>6.2f} s")
    for error in sorted(set(race_result["other"]))[:5]:
        print(f"      other error: {error}")
    print(line)

    p95 = percentile(latency, 0.95)
    print(f"(b) booking transaction: {len(latency)} sequential appointment_book calls at distinct free times")
    print(f"    (after {WARMUP_BOOKINGS} uncounted; each one commits, so each includes a WAL flush to disk)")
    print(f"    {'p50':<34} {percentile(latency, 0.50):>6.2f} ms")
    verdict = "ok" if p95 <= BOOKING_BUDGET_MS else "OVER BUDGET"
    print(f"    {'p95':<34} {p95:>6.2f} ms   budget <= {BOOKING_BUDGET_MS:.0f} ms   {verdict}")
    print(f"    {'max':<34} {max(latency):>6.2f} ms")
    print(f"    {'mean':<34} {statistics.fmean(latency):>6.2f} ms")
    print(line)

    print(
        f"(c) available_slots, {WINDOW_DAYS}-day window, 60-minute job, {EXISTING_APPOINTMENTS:,} existing "
        f"appointments, {AVAILABILITY_RUNS} runs"
    )
    print(f"    {'shape':<34} {'in window':>9} {'booked':>7} {'slots':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for scenario in scenarios:
        print(
            f"    {scenario['shape']:<34} {scenario['in_window']:>9} {scenario['booked_share']:>6.0%} "
            f"{scenario['slots']!s:>6} "
            f"{percentile(scenario['timings'], 0.50):>8.2f} {percentile(scenario['timings'], 0.95):>8.2f}"
        )
    print(line)


def main() -> int:
    isolate()
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = f"PostgreSQL {cursor.fetchone()[0]}"
        rng = random.Random(20261121)
        menu = make_shop()
        people = make_people(RACERS)

        race_result = race(people, menu["oil"], first_monday_after(7))
        latency = booking_latency(people, menu["rotation"], first_monday_after(14))
        scenarios = availability_scenarios(people, menu, first_monday_after(21), rng)
        report(race_result, latency, scenarios, server_version)
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
