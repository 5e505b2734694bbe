"""Booking-path benchmark: the agent's own tool calls for a booking, one after another, on real PostgreSQL
(not a test: it prints figures and exits 0).

    DEBUG=1 .venv/bin/python bench/booking_path.py                  # 300 bookings
    DEBUG=1 .venv/bin/python bench/booking_path.py --bookings 100
    DEBUG=1 .venv/bin/python bench/booking_path.py --queries        # also list the SQL of one booking

What one caller's booking costs the server's database thread, without any concurrency: every booking is a
call of its own (a fresh ToolContext for a customer known by caller ID, as the call session builds it), which
runs, through agent.tools.registry.run_tool exactly as the agent does,
1. get_available_slots for one date after a time of day ("Tuesday after 9"), and then
2. book_appointment at the first start it offered, for the caller's vehicle.
For each tool it prints the number of SQL statements (SAVEPOINTs included; BEGIN and COMMIT are not
statements Django sends) and the wall time p50 / p95 / max, and the part of that time spent inside
cursor.execute (the database's own share, round trips included). WARMUP bookings come first and are not
counted (first-use costs: query plans, imports, the broker's in-memory queue).

The shop is bench/voice_tools.py's: Monday to Friday 7:00-18:00 with lunch 12:00-12:30, Saturday 8:00-14:00,
3 bays, a 45-minute oil change; the requests walk forward through the days, one each hour, so the days fill
up as they would and later bookings see the earlier ones. Every booking must succeed: a refusal is counted
and shown (a figure for a refused booking is not a booking's figure).

Everything happens in a throwaway database (bench_booking_path) made with Django's test-database machinery
and dropped at the end; development data is never touched. Google Calendar is switched off and Celery tasks
go to an in-memory broker, so the figures are the database's and ours alone. The Django cache is a local
in-memory one of this process, so nothing reaches the shared development Redis.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

# Before setup: the cache this process uses must not be the shared development Redis (the benchmark's
# database ids would land in the development server's cache).
settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bench"}}

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

from agent.events import ToolCall  # noqa: E402
from bench.booking import isolate, zone  # noqa: E402  the booking bench's isolation and zone
from agent.tools.base import ToolContext, ToolResult  # noqa: E402
from agent.tools.registry import run_tool  # noqa: E402
from crm import services as crm_services  # noqa: E402
from scheduling.models import Bay, OpeningHours, ServiceType, Weekday  # noqa: E402

BENCH_DATABASE = "bench_booking_path"
BOOKINGS = 300
WARMUP = 10
CALLERS = 50  # customers with a car each; booking n is made by caller n % CALLERS
BAYS = 3
REQUEST_HOURS = (7, 8, 9, 10, 11, 13, 14, 15, 16)  # "after 9": one request per hour, day after day
FIRST_DAY_AHEAD = 14  # the first requested day is the first Monday at least this many days ahead


# --------------------------------------------------------------------------- set-up


def make_shop() -> ServiceType:
    for weekday in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY):
        hours = OpeningHours.objects.create(weekday=weekday, opens=clock(7), closes=clock(18))
        hours.breaks.create(starts=clock(12), ends=clock(12, 30))
    OpeningHours.objects.create(weekday=Weekday.SATURDAY, opens=clock(8), closes=clock(14))  # Sunday closed
    for n in range(1, BAYS + 1):
        Bay.objects.create(name=f"Bay {n}")
    ServiceType.objects.create(name="Tire rotation", op_code="ROT", duration_minutes=30, price_min=29, price_max=49)
    return ServiceType.objects.create(name="Oil change", op_code="LOF", duration_minutes=45, price_min=49,
                                      price_max=89, aliases=["oil and filter", "lube"])  # fmt: skip


def make_callers(count: int) -> list[tuple]:
    """(customer, vehicle) pairs, made as the admin makes them."""
    callers = []
    for n in range(count):
        customer = crm_services.customer_create(first_name=f"Caller{n}", last_name="Bench",
                                                phone=f"(602) 555-{n:04d}")  # fmt: skip
        vehicle = crm_services.vehicle_create(customer=customer, year=2020, make="Ford", model="F-150")
        callers.append((customer, vehicle))
    return callers


def requests(first_day: date):
    """(date, "HH:MM") the callers ask for: each working day, one request an hour, then the next day."""
    day = first_day
    while True:
        if day.weekday() != Weekday.SUNDAY:
            hours = REQUEST_HOURS if day.weekday() != Weekday.SATURDAY else (8, 9, 10, 11, 12)
            for hour in hours:
                yield day, f"{hour:02d}:00"
        day += timedelta(days=1)


def first_monday_after(days: int) -> date:
    day = datetime.now(zone()).date() + timedelta(days=days)
    return day + timedelta(days=-day.weekday() % 7)


# --------------------------------------------------------------------------- measuring one tool call


@dataclass
class Measured:
    result: ToolResult
    ms: float
    statements: int
    database_ms: float


@dataclass
class StatementMeter:
    """Counts the statements Django sends and the time spent inside cursor.execute (an execute wrapper)."""

    statements: int = 0
    seconds: float = 0.0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
            self.statements += 1


def run(context: ToolContext, name: str, arguments: dict) -> Measured:
    meter = StatementMeter()
    with connection.execute_wrapper(meter):
        began = time.perf_counter()
        result = run_tool(context, ToolCall(id="bench", name=name, arguments=arguments))
        elapsed = time.perf_counter() - began
    return Measured(result, elapsed * 1000, meter.statements, meter.seconds * 1000)


def caller_context(customer, n: int) -> ToolContext:
    """A call's state as the call session makes it for a caller known by their number."""
    return ToolContext(call_sid=f"CA-bench-path-{n:05d}", caller_phone=customer.phone, customer_id=customer.pk,
                       identified_by="caller_id")  # fmt: skip


@dataclass
class Figures:
    slots: list[Measured] = field(default_factory=list)
    bookings: list[Measured] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def one_booking(n: int, customer, vehicle, service: ServiceType, day: date, after: str) -> tuple[Measured, Measured]:
    context = caller_context(customer, n)
    slots = run(context, "get_available_slots", {"service_ids": [service.pk], "date": str(day), "after": after})
    offered = slots.result.data.get("slots") or slots.result.data.get("next_openings") or []
    if not offered:
        raise SystemExit(f"no opening offered on {day} after {after}: {slots.result.for_model()}")
    arguments = {"vehicle_id": vehicle.pk, "service_ids": [service.pk], "start": offered[0]["start"]}
    return slots, run(context, "book_appointment", arguments)


def book_all(callers, service: ServiceType, count: int) -> Figures:
    figures = Figures()
    asked = requests(first_monday_after(FIRST_DAY_AHEAD))
    for n in range(WARMUP + count):
        customer, vehicle = callers[n % len(callers)]
        day, after = next(asked)
        slots, booking = one_booking(n, customer, vehicle, service, day, after)
        if not booking.result.ok:
            figures.refused.append(booking.result.say)
        if n >= WARMUP:
            figures.slots.append(slots)
            figures.bookings.append(booking)
    return figures


def list_statements(callers, service: ServiceType) -> None:
    """The SQL of one more booking (on a day of its own, far from the others), as CaptureQueriesContext sees it
    (with BEGIN and COMMIT)."""
    customer, vehicle = callers[0]
    day = first_monday_after(FIRST_DAY_AHEAD + 70)
    context = caller_context(customer, 99_999)
    search = {"service_ids": [service.pk], "date": str(day), "after": "09:00"}
    slots = print_statements(context, "get_available_slots", search)
    booking = {"vehicle_id": vehicle.pk, "service_ids": [service.pk], "start": slots.data["slots"][0]["start"]}
    print_statements(context, "book_appointment", booking)
    print("-" * 78)


def print_statements(context: ToolContext, name: str, arguments: dict) -> ToolResult:
    with CaptureQueriesContext(connection) as queries:
        result = run_tool(context, ToolCall(id="bench", name=name, arguments=arguments))
    print(f"{name}: {len(queries)} statements (ok={result.ok})")
    for number, query in enumerate(queries.captured_queries, 1):
        print(f"  {number:>2}. {' '.join(query['sql'].split())[:200]}")
    return result


# --------------------------------------------------------------------------- report


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report_tool(label: str, runs: list[Measured]) -> None:
    times = [r.ms for r in runs]
    database = [r.database_ms for r in runs]
    statements = [r.statements for r in runs]
    print(f"{label} ({len(runs)} calls)")
    print(f"    statements per call   min {min(statements):>3}   p50 {percentile(statements, 0.5):>5.0f}   "
          f"p95 {percentile(statements, 0.95):>5.0f}   max {max(statements):>3}")  # fmt: skip
    print(f"    wall ms               p50 {percentile(times, 0.5):>6.2f}   p95 {percentile(times, 0.95):>6.2f}   "
          f"max {max(times):>6.2f}   mean {statistics.fmean(times):>6.2f}")  # fmt: skip
    print(f"    inside execute ms     p50 {percentile(database, 0.5):>6.2f}   p95 {percentile(database, 0.95):>6.2f}")


def report(figures: Figures, server_version: str) -> None:
    line = "-" * 78
    print(line)
    print(f"Booking path benchmark - {server_version}, database {BENCH_DATABASE}, TIME_ZONE {settings.TIME_ZONE}")
    print(f"machine: {os.cpu_count()} CPUs, load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{len(figures.bookings)} bookings, one after another, each after a get_available_slots "
          f"(after {WARMUP} uncounted)")  # fmt: skip
    print(line)
    report_tool("get_available_slots (one date, after a time of day)", figures.slots)
    report_tool("book_appointment (at the first start offered)", figures.bookings)
    both = [s.ms + b.ms for s, b in zip(figures.slots, figures.bookings, strict=True)]
    print(f"both tools of one booking: wall ms p50 {percentile(both, 0.5):.2f}   p95 {percentile(both, 0.95):.2f}")
    print(f"refused bookings: {len(figures.refused)} (expected 0)")
    for say in sorted(set(figures.refused))[:5]:
        print(f"    refused: {say}")
    print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=BOOKINGS)
    parser.add_argument("--queries", action="store_true", help="also list the SQL statements of one booking")
    options = parser.parse_args()

    isolate(BENCH_DATABASE)
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = f"PostgreSQL {cursor.fetchone()[0]}"
        service = make_shop()
        callers = make_callers(CALLERS)
        figures = book_all(callers, service, options.bookings)
        if options.queries:
            list_statements(callers, service)
        report(figures, server_version)
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
