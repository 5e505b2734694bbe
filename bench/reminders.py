"""Reminder-planning benchmark on real PostgreSQL (not a test: it prints figures and exits 0).

    DEBUG=1 python bench/reminders.py

(a) 10,000 appointments tomorrow (and 10,000 on the days either side, so the day's range must be found, not
    the whole table read), customers in a realistic mix: most consenting, some without consent, some on
    do-not-call, a few with an unusable number, a tenth already confirmed. plan_reminders runs 3 times: the
    first plans every row, the next two find them all planned and must create nothing.
    Budget: the first run <= 10 s.
(b) plan_missing, as the dispatcher calls it every minute: with nothing missing (one query), and with 100
    appointments booked after the evening's planning.
(c) The dispatcher's own time per call placed: see ``dispatch_figures``.

Everything happens in a throwaway database (bench_reminders) made with Django's test-database machinery and
dropped at the end; development data is never touched. Celery tasks go to an in-memory broker.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
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

from crm.models import Customer, Vehicle  # noqa: E402
from dealership.celery import app as celery_app  # noqa: E402
from reminders.models import ReminderCall, ReminderEvent, ReminderStatus  # noqa: E402
from reminders.planning import plan_missing, plan_reminders  # noqa: E402
from scheduling.models import Appointment, AppointmentStatus, Bay, ServiceType  # noqa: E402

BENCH_DATABASE = "bench_reminders"
APPOINTMENTS = 10_000
NEIGHBOURS = 10_000  # on the days before and after, half each
PLAN_RUNS = 3
PLAN_BUDGET_S = 10.0
MISSING_RUNS = 50
LATE_BOOKINGS = 100
SLOT_MINUTES = 15
DAY_SLOTS = 48  # 07:00-19:00 in 15-minute jobs: the appointments of one day on each bay
AREA_CODES = ("602", "480", "623", "520")  # 4 x 10,000 distinct valid numbers

# Every n-th customer, in this order of precedence (the rest consent and have a good number).
DO_NOT_CALL_EVERY, NO_CONSENT_EVERY, BAD_NUMBER_EVERY, CONFIRMED_EVERY = 20, 19, 50, 10


# --------------------------------------------------------------------------- set-up


def isolate() -> None:
    """No Google, no Redis traffic, no query log: only the database and our code are measured."""
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = ""
    settings.DEBUG = False
    celery_app.conf.broker_url = "memory://localhost//"
    celery_app.conf.task_always_eager = False
    connections["default"].settings_dict["TEST"]["NAME"] = BENCH_DATABASE


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local(day: date, minutes: int) -> datetime:
    return datetime.combine(day, clock(minutes // 60, minutes % 60), tzinfo=zone())


def make_customers(count: int) -> list[Customer]:
    """``count`` customers with cars, in the mix above; bulk inserts, no services (set-up is not measured)."""
    customers = [
        Customer(
            first_name=f"Bench{n}", last_name="Customer", phone=f"+1{AREA_CODES[n // 10_000]}555{n % 10_000:04d}",
            do_not_call=n % DO_NOT_CALL_EVERY == 0, reminder_calls=n % NO_CONSENT_EVERY != 0,
        )
        for n in range(count)
    ]  # fmt: skip
    customers = Customer.objects.bulk_create(customers, batch_size=2_000)
    Vehicle.objects.bulk_create([Vehicle(customer=c, make="Ford", model="F-150") for c in customers], batch_size=2_000)
    # Numbers an old import left unusable: written in SQL, as the field itself would refuse them.
    bad = [c.pk for n, c in enumerate(customers) if n % BAD_NUMBER_EVERY == 0]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Customer._meta.db_table} SET phone = 'x' || id WHERE id = ANY(%s)", [bad])
    return customers


def make_appointments(customers: list[Customer], day: date, count: int, offset: int = 0) -> list[Appointment]:
    """``count`` appointments on ``day``, 15 minutes each, filling bays from 07:00 on."""
    bays = list(Bay.objects.order_by("pk"))
    needed = -(-count // DAY_SLOTS)
    if len(bays) < needed:
        Bay.objects.bulk_create([Bay(name=f"Bay {n:04d}") for n in range(len(bays), needed)])
        bays = list(Bay.objects.order_by("pk"))
    vehicles = dict(Vehicle.objects.values_list("customer_id", "pk"))
    service = ServiceType.objects.get_or_create(
        op_code="LOF", defaults={"name": "Oil change", "duration_minutes": SLOT_MINUTES, "price_min": 49,
                                 "price_max": 89},
    )[0]  # fmt: skip
    rows = []
    for n in range(count):
        customer = customers[(n + offset) % len(customers)]
        start = local(day, 7 * 60 + (n % DAY_SLOTS) * SLOT_MINUTES)
        confirmed = (n + offset) % CONFIRMED_EVERY == 0
        rows.append(Appointment(
            customer_id=customer.pk, vehicle_id=vehicles[customer.pk], bay=bays[n // DAY_SLOTS], starts_at=start,
            ends_at=start + timedelta(minutes=SLOT_MINUTES),
            status=AppointmentStatus.CONFIRMED if confirmed else AppointmentStatus.BOOKED,
        ))  # fmt: skip
    created = Appointment.objects.bulk_create(rows, batch_size=2_000)
    through = Appointment.service_types.through
    through.objects.bulk_create([through(appointment_id=a.pk, servicetype_id=service.pk) for a in created],
                                batch_size=5_000)  # fmt: skip
    return created


def analyze() -> None:
    """Fresh statistics, as autovacuum would have them on a table that grew over months."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --------------------------------------------------------------------------- measurements


def timed(function, *args, **kwargs):
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - began


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def planning(day: date, evening: datetime) -> dict:
    dry, dry_seconds = timed(plan_reminders, day, now=evening, dry_run=True)
    runs = [timed(plan_reminders, day, now=evening + timedelta(minutes=n)) for n in range(PLAN_RUNS)]
    return {
        "dry": (dry, dry_seconds),
        "runs": runs,
        "rows": ReminderCall.objects.count(),
        "events": ReminderEvent.objects.count(),
        "queued": ReminderCall.objects.filter(status=ReminderStatus.QUEUED).count(),
    }


def missing(customers: list[Customer], day: date, evening: datetime) -> dict:
    idle = [timed(plan_missing, now=evening + timedelta(minutes=1))[1] * 1000 for _ in range(MISSING_RUNS)]
    # Bookings made after the planning, at 19:00, when every bay of the day is free again.
    bays = list(Bay.objects.order_by("pk")[:LATE_BOOKINGS])
    vehicles = dict(Vehicle.objects.values_list("customer_id", "pk"))
    late = Appointment.objects.bulk_create([
        Appointment(customer_id=customers[n].pk, vehicle_id=vehicles[customers[n].pk], bay=bays[n],
                    starts_at=local(day, 19 * 60), ends_at=local(day, 19 * 60 + SLOT_MINUTES))
        for n in range(LATE_BOOKINGS)
    ])  # fmt: skip
    plan, seconds = timed(plan_missing, now=evening + timedelta(minutes=2))
    return {"idle_ms": idle, "late": len(late), "late_plan": plan, "late_ms": seconds * 1000}


def dispatch_figures(day: date, evening: datetime) -> list[str]:
    """The dispatcher's own time per call placed (claim, rate limit, Twilio stand-in, CallSid stored), over the
    rows just planned: bench/reminders_dispatch.py measures it."""
    from bench.reminders_dispatch import bench_dispatch

    return bench_dispatch(evening + timedelta(minutes=3), calls=300)


# --------------------------------------------------------------------------- report


def report(day: date, planned: dict, idle: dict, dispatch: list[str], server_version: str) -> None:
    line = "-" * 78
    print(line)
    print(f"Reminder benchmark - {server_version}, database {BENCH_DATABASE}, TIME_ZONE {settings.TIME_ZONE}")
    print(f"machine: {os.cpu_count()} CPUs, load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(line)

    first, first_seconds = planned["runs"][0]
    print(f"(a) plan_reminders for {day:%a %Y-%m-%d}: {APPOINTMENTS:,} appointments that day, "
          f"{NEIGHBOURS:,} on the days either side")  # fmt: skip
    print(f"    {'run':<38} {'seconds':>8} {'new rows':>9} {'to call':>8} {'skipped':>8}")
    dry, dry_seconds = planned["dry"]
    print(f"    {'dry run (reads and decides only)':<38} {dry_seconds:>8.2f} {'-':>9} {len(dry.queued):>8,} "
          f"{len(dry.skipped):>8,}")  # fmt: skip
    for n, (plan, seconds) in enumerate(planned["runs"], start=1):
        label = "1: plans every row" if n == 1 else f"{n}: again (all planned already)"
        print(f"    {label:<38} {seconds:>8.2f} {plan.created:>9,} {len(plan.queued):>8,} {len(plan.skipped):>8,}")
    reruns = [seconds for _, seconds in planned["runs"][1:]]
    print(f"    {'re-runs: median':<38} {statistics.median(reruns):>8.2f}")
    verdict = "ok" if first_seconds <= PLAN_BUDGET_S else "OVER BUDGET"
    print(f"    first run {first_seconds:.2f} s   budget <= {PLAN_BUDGET_S:.0f} s   {verdict}")
    rows_ok = planned["rows"] == planned["events"] == first.created == APPOINTMENTS
    reasons = ", ".join(f"{reason} {count}" for reason, count in first.skipped_by_reason.items())
    print(f"    rows {planned['rows']:,}, events {planned['events']:,}, queued {planned['queued']:,}   "
          f"{'ok' if rows_ok else 'MISMATCH'}")  # fmt: skip
    print(f"    skipped: {reasons}")
    print(line)

    print("(b) plan_missing (the dispatcher, every minute once the evening's planning time has passed)")
    label = f"nothing missing, {MISSING_RUNS} runs: p50"
    print(f"    {label:<38} {percentile(idle['idle_ms'], 0.5):>8.2f} ms")
    print(f"    {'nothing missing: p95':<38} {percentile(idle['idle_ms'], 0.95):>8.2f} ms")
    late = idle["late_plan"]
    verdict = "ok" if late.created == idle["late"] else "MISMATCH"
    print(f"    {str(idle['late']) + ' booked after planning':<38} {idle['late_ms']:>8.2f} ms   "
          f"{late.created} new rows   {verdict}")  # fmt: skip
    print(line)

    print("(c) dispatch: the dispatcher's own time per call placed")
    for text in dispatch:
        print(f"    {text}")
    print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args()
    logging.getLogger("reminders").setLevel(logging.WARNING)  # a line per call placed would bury the table
    isolate()
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = f"PostgreSQL {cursor.fetchone()[0]}"
        day = datetime.now(zone()).date() + timedelta(days=1)
        evening = local(day - timedelta(days=1), 17 * 60)
        customers = make_customers(APPOINTMENTS)
        make_appointments(customers, day, APPOINTMENTS)
        make_appointments(customers, day - timedelta(days=1), NEIGHBOURS // 2, offset=1)
        make_appointments(customers, day + timedelta(days=1), NEIGHBOURS // 2, offset=2)
        analyze()
        planned = planning(day, evening)
        idle = missing(customers, day, evening)
        dispatch = dispatch_figures(day, evening)
        report(day, planned, idle, dispatch, server_version)
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
