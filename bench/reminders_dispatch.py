"""Reminder-dispatch benchmark on real PostgreSQL (not a test: it prints figures and exits 0).

    DEBUG=1 python bench/reminders_dispatch.py [--calls 400]

The dispatcher's own time per call placed: the claim (plan_missing, the advisory lock, the live-call count,
select_for_update(skip_locked), the re-checks, the move to dialing, commit) shared over its batch, then
``place`` (a rate-limit slot from Redis, the re-check and the "asking" mark, Twilio's create against the
loopback REST stand-in through the real SDK, the CallSid and the voice call stored). Batches are a minute's
worth at 1 call per second (60), as Beat's dispatcher claims them; the rate limit is lifted so that the
figures are our work, not waiting for slots (the limiter's Redis round trip is still in them).

``bench_dispatch(now)`` measures on whatever queued rows the current database holds (bench/reminders.py can
call it after its planning); run as a script, this file makes its own throwaway database
(bench_reminders_dispatch), plans one day of appointments and measures there. Development data is never
touched.
"""

from __future__ import annotations

import argparse
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
from reminders.dispatch import dispatch_due, place  # noqa: E402
from reminders.models import ReminderCall, ReminderStatus  # noqa: E402
from reminders.planning import plan_reminders  # noqa: E402
from scheduling.models import Appointment, Bay, ServiceType  # noqa: E402
from standins import FakeTwilio  # noqa: E402

BENCH_DATABASE = "bench_reminders_dispatch"
CALLS = 400
BATCH = 60  # one minute's worth at Twilio's starting limit of 1 call per second
SLOT_MINUTES = 15
DAY_SLOTS = 48  # 07:00-19:00


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _point_twilio_at(server: FakeTwilio, calls: int) -> None:
    settings.TWILIO_ACCOUNT_SID = server.account_sid
    settings.TWILIO_AUTH_TOKEN = server.auth_token
    settings.TWILIO_API_BASE_URL = server.base_url
    settings.TWILIO_PHONE_NUMBER = "+16025550000"
    settings.PUBLIC_BASE_URL = settings.PUBLIC_BASE_URL or "https://crm.example.com"
    settings.REMINDER_CALLS_PER_SECOND = 1_000_000.0  # the limiter's Redis round trip stays, its waits go
    settings.REMINDER_MAX_LIVE_CALLS = calls + ReminderCall.objects.filter(
        status__in=[ReminderStatus.DIALING, ReminderStatus.IN_PROGRESS]).count()  # fmt: skip


def _round_trips(server: FakeTwilio, count: int = 50) -> list[float]:
    """Bare SDK creates against the stand-in, for scale: the part of a call that is the HTTP round trip."""
    client = server.make_client()
    times = []
    for n in range(count):
        began = time.perf_counter()
        client.calls.create(to=f"+1602555{n:04d}", from_="+16025550000", url="https://crm.example.com/x")
        times.append((time.perf_counter() - began) * 1000)
    return times


def bench_dispatch(now: datetime, *, calls: int = CALLS, batch: int = BATCH) -> list[str]:
    """Claim and place ``calls`` calls from the queued rows due at ``now``; the report's lines."""
    per_call, claims, places = [], [], []
    with FakeTwilio() as server:
        saved = {name: getattr(settings, name) for name in (
            "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL", "TWILIO_PHONE_NUMBER",
            "PUBLIC_BASE_URL", "REMINDER_CALLS_PER_SECOND", "REMINDER_MAX_LIVE_CALLS")}  # fmt: skip
        try:
            _point_twilio_at(server, calls)
            round_trips = _round_trips(server)
            server.reset()
            while len(per_call) < calls:
                began = time.perf_counter()
                claimed = dispatch_due(now=now, limit=min(batch, calls - len(per_call)))
                claim_ms = (time.perf_counter() - began) * 1000
                if not claimed:
                    break
                claims.append((claim_ms, len(claimed)))
                for reminder_id in claimed:
                    began = time.perf_counter()
                    outcome = place(reminder_id, now=now)
                    place_ms = (time.perf_counter() - began) * 1000
                    if outcome != "placed":
                        raise RuntimeError(f"reminder {reminder_id}: {outcome}")
                    places.append(place_ms)
                    per_call.append(claim_ms / len(claimed) + place_ms)
            created = len(server.creates)
        finally:
            for name, value in saved.items():
                setattr(settings, name, value)
    if not per_call:
        return ["no queued rows due: nothing measured"]
    claim_rows = [ms / rows for ms, rows in claims]
    sids = ReminderCall.objects.exclude(call_sid="").values("call_sid").distinct().count()
    return [
        f"{len(per_call)} calls placed in {len(claims)} claims of up to {batch} rows; stand-in creates {created}, "
        f"rows with a CallSid {sids}   {'ok' if created == len(per_call) == sids else 'MISMATCH'}",
        f"{'per call (claim share + place)':<40} p50 {statistics.median(per_call):7.2f} ms   "
        f"p95 {percentile(per_call, 0.95):7.2f} ms",
        f"{'  claim, per run':<40} p50 {statistics.median([ms for ms, _ in claims]):7.2f} ms   "
        f"p95 {percentile([ms for ms, _ in claims], 0.95):7.2f} ms",
        f"{'  claim, per row claimed':<40} p50 {statistics.median(claim_rows):7.2f} ms   "
        f"p95 {percentile(claim_rows, 0.95):7.2f} ms",
        f"{'  place (slot, mark, create, store)':<40} p50 {statistics.median(places):7.2f} ms   "
        f"p95 {percentile(places, 0.95):7.2f} ms",
        f"{'  of which a bare SDK create round trip':<40} p50 {statistics.median(round_trips):7.2f} ms   "
        f"p95 {percentile(round_trips, 0.95):7.2f} ms",
        "at Twilio's 1 call/s the limiter, not this work, sets the pace: "
        f"{len(per_call)} calls take {len(per_call)} s",
    ]


# --------------------------------------------------------------------------- standalone


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _make_day(day: date, count: int) -> None:
    """``count`` consenting customers with a booked appointment each on ``day`` (bulk: set-up is not measured)."""
    customers = Customer.objects.bulk_create([
        Customer(first_name=f"Dispatch{n}", last_name="Bench", phone=f"+1602555{n:04d}", reminder_calls=True)
        for n in range(count)
    ])  # fmt: skip
    vehicles = Vehicle.objects.bulk_create([Vehicle(customer=c, make="Ford", model="F-150") for c in customers])
    bays = Bay.objects.bulk_create([Bay(name=f"Bay {n:03d}") for n in range(-(-count // DAY_SLOTS))])
    service = ServiceType.objects.create(name="Oil change", op_code="LOF", duration_minutes=SLOT_MINUTES,
                                         price_min=49, price_max=89)  # fmt: skip
    rows = []
    for n, (customer, vehicle) in enumerate(zip(customers, vehicles, strict=True)):
        start = datetime.combine(day, clock(7), tzinfo=_zone()) + timedelta(minutes=(n % DAY_SLOTS) * SLOT_MINUTES)
        rows.append(Appointment(customer=customer, vehicle=vehicle, bay=bays[n // DAY_SLOTS], starts_at=start,
                                ends_at=start + timedelta(minutes=SLOT_MINUTES)))  # fmt: skip
    through = Appointment.service_types.through
    through.objects.bulk_create([through(appointment_id=a.pk, servicetype_id=service.pk)
                                 for a in Appointment.objects.bulk_create(rows)])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=CALLS, help=f"calls to place (default {CALLS})")
    options = parser.parse_args()
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = ""
    settings.DEBUG = False
    celery_app.conf.broker_url = "memory://localhost//"
    celery_app.conf.task_always_eager = False
    connections["default"].settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
        day = datetime.now(_zone()).date() + timedelta(days=1)
        evening = datetime.combine(day - timedelta(days=1), clock(17), tzinfo=_zone())
        _make_day(day, options.calls)
        plan = plan_reminders(day, now=evening)
        lines = bench_dispatch(evening + timedelta(minutes=1), calls=options.calls)
        line = "-" * 78
        print(line)
        print(f"Reminder dispatch benchmark - PostgreSQL {server_version}, database {BENCH_DATABASE}, "
              f"TIME_ZONE {settings.TIME_ZONE}")  # fmt: skip
        print(f"machine: {os.cpu_count()} CPUs, load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{plan.created} rows planned for {day:%a %Y-%m-%d} at {evening:%H:%M}, {len(plan.queued)} to call")
        print(line)
        for text in lines:
            print(f"    {text}")
        print(line)
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
