"""Booking-mix benchmark: N simulated calls at once, each booking one oil change through the agent's tools,
against ONE server process (not a test: prints figures, exits 0).

    DEBUG=1 .venv/bin/python bench/voice_tools.py                    # rounds of 25, 50 and 100 calls
    DEBUG=1 .venv/bin/python bench/voice_tools.py --calls 100        # one round of 100 calls
    DEBUG=1 .venv/bin/python bench/voice_tools.py --sweep 10,40 --racers 4 --pool 8 --no-pin
    DEBUG=1 .venv/bin/python bench/voice_tools.py --talk-window 60      # the calls' tool turns spread out

Every round runs twice, on two server processes that differ only in AGENT_DATABASE_THREADS: 0 (the tools'
database work goes through Channels' database_sync_to_async, i.e. ONE thread shared by every call on the
process, one job after the other) and --pool (default 4: the agent's own pool, agent/database.py). The two
are printed side by side. The default run takes three to four minutes.

The machinery is bench/voice.py's (imported from it): the server (bench/voice_server.py: Daphne serving
dealership.asgi:application) in a process of its own pinned to one CPU, this process on the other(s) as
the load generator, with the callers (standins.MediaStreamPeer via voice.simulation.SimulatedCall,
each call placed as Twilio places one) and the stand-ins at fixed latencies: FakeDeepgram (final
transcript 150 ms after the caller's speech ends, first TTS byte after 150 ms) and FakeOpenAI (first
token after 350 ms, then 40 tokens/s) answering with BookingModel below, a scripted model that reads the
system prompt and the tool results it is sent, like tests/voice/test_agent_calls.py's.

The throwaway database (bench_voice_tools, dropped at the end) holds a dealership open Monday to Friday
7:00-18:00 (lunch 12:00-12:30) and Saturday 8:00-14:00, BAYS (3) bays, a 45-minute oil change, and 10,000
customers with a vehicle each (one in nine with a second number); the first N of them call, each from
their own number (caller ID), so the agent knows them and their car before the first word. The benchmark
also runs a Redis of its own (embedded, in a temporary directory; REDIS_URL for this process and the
servers): the calls' Celery tasks carry ids of the throwaway database and must never reach a worker on the
shared development Redis.

One call: greeting; the caller asks "I need an oil change on Tuesday, December 8th around 9 AM."; the
model says "Let me check that day." and calls get_available_slots (that date, the part of the day, after
09:00); it offers the first slot and reads it back; the caller says "Yes please."; the model says "Okay,
booking it now." and calls book_appointment with the vehicle id from the system prompt and the slot's own
"start"; then "You're all set for ..." or, when the booking is refused, the refusal's own sentence; the
caller hangs up. Every caller asks for a time of their own (one an hour, from the day after tomorrow on),
except --racers (5) callers who ask for the same time at the same moment and say yes together: with BAYS
bays exactly min(racers, bays) of them get it and the others a clean refusal with alternatives
(SlotTakenError, or the tool's own check once the winners are in), never an error.

A round: "ramp" (calls arrive RAMP_PER_SECOND a second and hear the greeting), "talk" (within
TALK_JITTER_SECONDS (2 s, or --talk-window) every caller starts, so by default the tool turns of all N calls
overlap; each caller hangs up once it has heard its answer), "hangup". The default is the worst case, every
call booking at the same moment. N calls on the line that each book once in a conversation of a few minutes
bring far fewer tool turns at once: `--talk-window 60` spreads the N callers' first words over a minute
(still about three times denser than 100 three-minute calls each booking once). Before the first round each server takes WARM_UP_CALLS calls that
are not reported (a fresh process pays for imports, templates and database connections on first use).

Figures, p50 / p95 nearest rank (voice.metrics.nearest_rank):
1. server's own time per tool turn: Turn.server_ms of agent turns with tool invocations (the server's own
   time between the final transcript and the first frame, plus the tool rounds, database work and waiting
   for a database thread included), also split by the turn's tool; budget p95 <= 50 ms at 100 calls;
2. tool time by tool: ToolInvocation.duration_ms (waiting for a database thread included), and "alone":
   the same tool run with agent.tools.registry.run_tool in this process, one call at a time, N times on
   the bench database: the difference is queueing, not work;
3. first agent audio on tool turns (the preface): Turn.first_frame_ms of those turns, with the model's first
   token and the first TTS byte on the same clock; budget p95 <= 700 ms;
4. answer heard: at the caller (the peer's timeline), the end of the caller's words -> the start of hearing
   the first sentence after the preface (the offer, or "You're all set"): it includes the stand-in STT's
   150 ms, the preface (the answer plays after it), the tool, a second model round trip (350 ms + tokens)
   and the first TTS byte; 4b: the dead air between the end of the preface and the answer, at the caller;
5. correctness: bookings made against expected ((N - racers) + min(racers, bays)), the racers' slot
   (exactly min(racers, bays) booked, the rest refused cleanly and told so), callers booked twice or not at
   all, tool errors, overlapping active appointments in one bay (SQL on scheduling_appointment, tstzrange
   overlap), calls completed and errors;
6. caller lookup: crm.selectors.customer_find_by_phone in this process on the bench database (10,000
   customers), LOOKUPS lookups of random numbers (main, other and unknown numbers) in mixed spellings: the
   whole function (number parsing and the ORM included) and its database part (time inside
   cursor.execute); budget p95 <= 1 ms.
And the server's health in the talk phase: inbound frame lag p99 (voice.metrics INBOUND_LAG_MS, as in
bench/voice.py; budget < 20 ms), the load generator's own send lag p99 (the part of that lag that is not the
server's), the server's CPU, and how busy the whole machine was (/proc/stat: Postgres, the load generator
and anything else running on it; figures from a shared machine are only as quiet as it was).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import datetime as dt
import importlib.util
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

from dealership.devservices import EmbeddedRedis  # noqa: E402  (no Django import)


def _private_redis() -> tuple[EmbeddedRedis, str]:
    """A Redis of the benchmark's own, for this process and the servers (they inherit REDIS_URL): the calls'
    Celery tasks (call summaries, calendar mirrors of the bookings) carry ids of the throwaway database and
    must not reach a worker of the shared development Redis, which would run them against its own database."""
    directory = tempfile.mkdtemp(prefix="bench_voice_tools_")
    redis = EmbeddedRedis(Path(directory))
    os.environ["REDIS_URL"] = redis.acquire()
    atexit.unregister(redis.release)  # replaced by one that also removes the directory afterwards
    atexit.register(_drop_private_redis, redis, directory, os.getpid())
    return redis, directory


def _drop_private_redis(redis: EmbeddedRedis, directory: str, owner_pid: int) -> None:
    redis.release(owner_pid)  # stops it: nobody else holds a lease
    shutil.rmtree(directory, ignore_errors=True)


_private_redis()

import django  # noqa: E402

django.setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from standins import Reply  # noqa: E402
from voice.models import Call, Speaker, ToolInvocation, Turn  # noqa: E402
from voice.simulation import Endpoint, SimulatedCall, Standins, percentile  # noqa: E402


def _load_voice_bench():
    """bench/voice.py as a module (its file name would shadow the voice app as an import)."""
    spec = importlib.util.spec_from_file_location("bench_voice_base", Path(__file__).with_name("voice.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


base = _load_voice_bench()

BENCH_DATABASE = "bench_voice_tools"
base.BENCH_DATABASE = BENCH_DATABASE  # read by base.isolate() and base.ServerProcess: our own throwaway database
LATENCIES = base.LATENCIES  # STT final 150 ms, LLM first token 350 ms then 40 tokens/s, TTS first byte 150 ms
SWEEP = (25, 50, 100)
GREETING = "Thanks for calling Saguaro Motors."
RAMP_PER_SECOND = base.RAMP_PER_SECOND
WEBHOOKS_IN_FLIGHT = base.WEBHOOKS_IN_FLIGHT
TALK_JITTER_SECONDS = 2.0
ANSWER_WITHIN_SECONDS = 30.0  # the agent's answer (after its tool) must start within this
RACE_WAIT_SECONDS = 30.0  # racers wait this long at most for each other before saying yes
BAYS = 3
RACERS = 5
CUSTOMERS = 10_000
LOOKUPS = 1_000
SLOTS_PREFACE = "Let me check that day."
BOOKING_PREFACE = "Okay, booking it now."
ALL_SET = "You're all set for"
YES = "Yes please."
JUDGED_AT = 100
WARM_UP_CALLS = 3  # per server before the first round, not reported
BUDGETS = {"tool_turn_server_p95_ms": 50, "tool_turn_first_frame_p95_ms": 700, "lookup_p95_ms": 1.0,
           "lag_p99_ms": 20}  # fmt: skip
# Start hours of the callers' requests (local time, a 45-minute job each, one an hour: never two in a bay).
WEEKDAY_STARTS = (8, 9, 10, 11, 13, 14, 15, 16)
SATURDAY_STARTS = (8, 9, 10, 11, 12)


# --------------------------------------------------------------------------- the dealership


def set_up_dealership(callers: int) -> dict:
    """Hours, bays, the oil change and CUSTOMERS customers; the first ``callers`` made through crm.services."""
    from crm import services as crm_services
    from crm.models import Customer, CustomerPhone, Vehicle
    from scheduling.models import Bay, OpeningHours, ServiceType, Weekday

    crm_services.dealership_profile_update(name="Saguaro Motors Service", greeting=GREETING,
                                           transfer_phone="+16025550101")  # fmt: skip
    for weekday in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY):
        hours = OpeningHours.objects.create(weekday=weekday, opens=dt.time(7), closes=dt.time(18))
        hours.breaks.create(starts=dt.time(12), ends=dt.time(12, 30))
    OpeningHours.objects.create(weekday=Weekday.SATURDAY, opens=dt.time(8), closes=dt.time(14))  # Sunday closed
    for n in range(1, BAYS + 1):
        Bay.objects.create(name=f"Bay {n}")
    oil = ServiceType.objects.create(name="Oil change", op_code="LOF", duration_minutes=45, price_min=49,
                                     price_max=89, aliases=["oil and filter", "lube"])  # fmt: skip
    ServiceType.objects.create(name="Tire rotation", op_code="ROT", duration_minutes=30, price_min=29, price_max=49)

    rng = random.Random(20261203)
    numbers = phone_numbers(rng, CUSTOMERS + CUSTOMERS // 10)
    mains, others = numbers[:CUSTOMERS], numbers[CUSTOMERS:]
    people = [(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(CUSTOMERS)]
    cars = [(rng.randint(2012, 2025), *rng.choice(CARS), plate(rng)) for _ in range(CUSTOMERS)]
    for n in range(callers):  # the callers: as the admin would create them
        customer = crm_services.customer_create(first_name=people[n][0], last_name=people[n][1], phone=mains[n])
        year, make, model, plate_text = cars[n]
        crm_services.vehicle_create(customer=customer, year=year, make=make, model=model, plate=plate_text)
    with transaction.atomic():  # everybody else, in bulk (values already normalized)
        rest = Customer.objects.bulk_create(
            [Customer(first_name=first, last_name=last, phone=number)
             for (first, last), number in zip(people[callers:], mains[callers:], strict=True)], batch_size=2000)
        Vehicle.objects.bulk_create(
            [Vehicle(customer=customer, year=year, make=make, model=model, plate=plate_text)
             for customer, (year, make, model, plate_text) in zip(rest, cars[callers:], strict=True)],
            batch_size=2000)
        CustomerPhone.objects.bulk_create(
            [CustomerPhone(customer=customer, number=number, label=CustomerPhone.Label.values[0])
             for customer, number in zip(rest[::9], others, strict=False)], batch_size=2000)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    callers_rows = list(Customer.objects.filter(phone__in=mains[:callers]).prefetch_related("vehicles"))
    by_phone = {c.phone: c for c in callers_rows}
    return {
        "service_id": oil.pk,
        "callers": [by_phone[number] for number in mains[:callers]],
        "mains": mains,
        "others": list(CustomerPhone.objects.values_list("number", flat=True)),
    }


FIRST_NAMES = ("Dana Alex Maria Robert Linda Tuan Priya Carlos Wei Sarah Jose Emily Kevin Nancy Raj Ashley "
               "Luis Mei Andrew Karen").split()  # fmt: skip
LAST_NAMES = ("Whitfield Garcia Nguyen Patel Yazzie Begay Romero Ortiz Smith Chen Lopez Tran Baker Rivera "
              "Carter Mitchell Flores Adams Nelson Hill").split()  # fmt: skip
CARS = (("Honda", "Civic"), ("Honda", "CR-V"), ("Toyota", "Camry"), ("Toyota", "RAV4"), ("Ford", "F-150"),
        ("Chevrolet", "Equinox"), ("Subaru", "Outback"), ("Hyundai", "Tucson"), ("Kia", "Sorento"),
        ("Nissan", "Rogue"))  # fmt: skip
AREA_CODES = ("602", "480", "623", "520", "928")


def phone_numbers(rng: random.Random, count: int) -> list[str]:
    """Distinct valid Arizona numbers in E.164 (none in the fictional 555 exchange the demo data uses)."""
    from crm.phones import try_normalize_phone

    found: dict[str, None] = {}
    while len(found) < count:
        exchange = rng.randint(200, 989)
        if exchange == 555 or exchange % 100 == 11:
            continue
        number = f"+1{rng.choice(AREA_CODES)}{exchange}{rng.randint(0, 9999):04d}"
        if try_normalize_phone(number) == number:
            found[number] = None
    return list(found)


def plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(rng.choice(letters) for _ in range(3)) + f"{rng.randint(0, 9999):04d}"


def spellings(number: str, rng: random.Random) -> str:
    """The same E.164 number as people write it."""
    area, exchange, line = number[2:5], number[5:8], number[8:]
    forms = (f"+1 {area} {exchange} {line}", f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}",
             f"{area}.{exchange}.{line}", f"{area}{exchange}{line}", f"1-{area}-{exchange}-{line}", number)  # fmt: skip
    return rng.choice(forms)


# --------------------------------------------------------------------------- what each caller asks for


@dataclass(frozen=True)
class Request:
    day: dt.date
    hour: int

    @property
    def words(self) -> str:
        clock = f"{self.hour % 12 or 12} {'AM' if self.hour < 12 else 'PM'}"
        return f"I need an oil change on {self.day:%A}, {self.day:%B} {ordinal(self.day.day)} around {clock}."

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(self.hour), tzinfo=zone())


def ordinal(n: int) -> str:
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def zone():
    from scheduling.selectors import dealership_zone

    return dealership_zone()


@dataclass
class Plan:
    """Who asks for what: racers share the first opening of the plan, everybody else has one of their own."""

    requests: list[Request]
    racers: frozenset[int]
    race: Request


def make_plan(calls: int, racers: int) -> Plan:
    racers = min(racers, calls)
    openings = []
    day = timezone.now().astimezone(zone()).date() + dt.timedelta(days=2)
    while len(openings) < calls - racers + 1:
        hours = SATURDAY_STARTS if day.weekday() == 5 else () if day.weekday() == 6 else WEEKDAY_STARTS
        openings += [Request(day, hour) for hour in hours]
        day += dt.timedelta(days=1)
    race, own = openings[0], iter(openings[1:])
    racing = frozenset(round(i * calls / racers) for i in range(racers)) if racers else frozenset()
    return Plan([race if n in racing else next(own) for n in range(calls)], racing, race)


# --------------------------------------------------------------------------- the stand-in model

REQUEST = re.compile(r"on (?P<weekday>[a-z]+), (?P<month>[a-z]+) (?P<day>\d{1,2})(?:st|nd|rd|th)? around "
                     r"(?P<hour>\d{1,2})(?::(?P<minute>\d\d))? ?(?P<meridiem>[ap])\.?m", re.IGNORECASE)  # fmt: skip
MONTHS = {name: n for n, name in enumerate(("january february march april may june july august september "
                                            "october november december").split(), start=1)}  # fmt: skip
VEHICLE_LINE = re.compile(r"^Their vehicles \(id, name, plate ending\):\n- (?P<id>\d+): (?P<name>[^,\n]+)", re.M)


class BookingModel:
    """A scripted model for one booking per call: asks for slots on the day the caller names, offers the first,
    books it on "yes", and says what the booking tool answered. Reads only what the real model would see."""

    def __init__(self, service_id: int):
        self.service_id = service_id

    def __call__(self, messages: list[dict]) -> Reply:
        said = last_user_text(messages)
        results = results_since_caller(messages)
        if "oil change" in said.lower():
            return self.find_slots(said) if not results else self.offer(messages, results[-1])
        if said.lower().startswith("yes"):
            return self.book(messages) if not results else self.tell(results[-1])
        return Reply(text="How can I help you today?")

    def find_slots(self, said: str) -> Reply:
        asked = REQUEST.search(said)
        if asked is None or asked["month"].lower() not in MONTHS:
            return Reply(text="Which day and time would suit you?")
        hour = int(asked["hour"]) % 12 + (12 if asked["meridiem"].lower() == "p" else 0)
        today = timezone.now().astimezone(zone()).date()
        day = dt.date(today.year, MONTHS[asked["month"].lower()], int(asked["day"]))
        if day < today:
            day = day.replace(year=today.year + 1)
        part = "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"
        arguments = {"service_ids": [self.service_id], "date": day.isoformat(), "part_of_day": part,
                     "after": f"{hour:02d}:{int(asked['minute'] or 0):02d}"}  # fmt: skip
        return Reply(text=SLOTS_PREFACE, tool_calls=[("get_available_slots", arguments)])

    def offer(self, messages: list[dict], result: dict) -> Reply:
        slots = result.get("slots") or []
        if not slots:
            return Reply(text=result.get("say") or "I don't see an opening then.")
        vehicle = VEHICLE_LINE.search(system_prompt(messages))
        car = f" for your {vehicle['name']}" if vehicle else ""
        return Reply(text=f"I have {slots[0]['spoken']}{car}. Shall I book the oil change?")

    def book(self, messages: list[dict]) -> Reply:
        offered = [r["slots"] for r in all_results(messages) if r.get("slots")]
        vehicle = VEHICLE_LINE.search(system_prompt(messages))
        if not offered or vehicle is None:
            return Reply(text="Sorry, I have nothing to book yet.")
        arguments = {"vehicle_id": int(vehicle["id"]), "service_ids": [self.service_id],
                     "start": offered[-1][0]["start"]}  # fmt: skip
        return Reply(text=BOOKING_PREFACE, tool_calls=[("book_appointment", arguments)])

    @staticmethod
    def tell(result: dict) -> Reply:
        if result.get("ok") and result.get("spoken"):
            return Reply(text=f"{ALL_SET} {result['spoken']}.")
        return Reply(text=result.get("say") or "Sorry, I couldn't book that.")


def last_user_text(messages: list[dict]) -> str:
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"
                 and isinstance(m.get("content"), str)), "")  # fmt: skip


def system_prompt(messages: list[dict]) -> str:
    return next((m["content"] for m in messages if m.get("role") == "system" and isinstance(m.get("content"), str)),
                "")  # fmt: skip


def results_since_caller(messages: list[dict]) -> list[dict]:
    results = []
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        if message.get("role") == "tool":
            results.insert(0, _loads(message.get("content")))
    return results


def all_results(messages: list[dict]) -> list[dict]:
    return [_loads(m.get("content")) for m in messages if m.get("role") == "tool"]


def _loads(content) -> dict:
    try:
        value = json.loads(content)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- the callers


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("’", "'")))


def _ours(text: str, preface: str) -> bool:
    """A heard utterance that is (part of) the preface, or a filler of ours: not the answer after the tool."""
    from agent.fillers import LINES

    heard = words(text)
    return not heard or f" {heard} " in f" {words(preface)} " or any(heard == words(line)
                                                                      for lines in LINES.values() for line in lines)


def answer_heard_at(peer, since: float, preface: str) -> tuple[float | None, str, float | None]:
    """The first utterance heard after ``since`` that is not the preface: when the caller began to hear it, its
    text, and when the caller finished hearing the preface before it (None if no preface was heard)."""
    started = preface_end = None
    for event in list(peer.timeline):
        if event.t < since:
            continue
        if event.kind == "heard_start":
            started = event.t
        elif event.kind in ("heard", "cut"):
            text = event.data.get("text", "")
            if not _ours(text, preface):
                return started, text, preface_end
            preface_end = event.t
    return None, "", None


class RaceGate:
    """The racers say yes together: once all have heard their offer (or RACE_WAIT_SECONDS passed)."""

    def __init__(self, racers: int):
        self.racers, self.arrived, self.all_in = racers, set(), asyncio.Event()
        if not racers:
            self.all_in.set()

    def arrive(self, who: int) -> None:
        self.arrived.add(who)
        if len(self.arrived) >= self.racers:
            self.all_in.set()

    async def wait(self, who: int) -> None:
        self.arrive(who)
        try:
            await asyncio.wait_for(self.all_in.wait(), RACE_WAIT_SECONDS)
        except TimeoutError:
            pass


class Caller:
    def __init__(self, n: int, call: SimulatedCall, request: Request, racer: bool, jitter: float):
        self.n, self.call, self.request, self.racer, self.jitter = n, call, request, racer, jitter
        self.greeted = self.finished = False
        self.error = ""
        self.request_line = self.yes_line = None
        self.offer = self.answer = ""
        self.talk_from = 0  # the peer's send lags from here on are the talk phase's

    async def run(self, arrive_after: float, gate: asyncio.Semaphore, talk: asyncio.Event, race: RaceGate,
                  on_greeted) -> None:  # fmt: skip
        try:
            await asyncio.sleep(arrive_after)
            async with gate:
                await self.call.start()
            self.greeted = await self.call.wait_for_agent(self.call.connected_at, quiet=0.5)
            if not self.greeted:
                self.error = "the greeting was not heard"
        except Exception as exc:  # counted and shown, never hidden
            self.error = f"{type(exc).__name__}: {exc}"
        on_greeted()
        if self.greeted:
            await talk.wait()
            self.talk_from = len(self.call.peer.send_lags)
            try:
                await self.book(race)
                self.finished = True
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
        if self.racer:
            race.arrive(self.n)  # a racer that failed early does not hold the others up
        try:
            await self.call.hang_up()
        except Exception as exc:
            self.error = self.error or f"hang-up: {type(exc).__name__}: {exc}"

    async def book(self, race: RaceGate) -> None:
        await asyncio.sleep(self.jitter)
        self.request_line = await self.say(self.request.words)
        self.offer = await self.hear_answer(self.request_line.ended_at, SLOTS_PREFACE, "the offer")
        if self.racer:
            await race.wait(self.n)
        self.yes_line = await self.say(YES)
        self.answer = await self.hear_answer(self.yes_line.ended_at, BOOKING_PREFACE, "the booking's answer")

    async def say(self, text: str):
        line = await self.call.say(text)
        if line is None:
            raise RuntimeError(f"the call ended before the caller said {text!r}")
        return line

    async def hear_answer(self, since: float, preface: str, what: str) -> str:
        """Wait for the first sentence after the preface, then for the agent to finish speaking."""
        peer, deadline = self.call.peer, time.monotonic() + ANSWER_WITHIN_SECONDS
        while True:
            _, text, _ = answer_heard_at(peer, since, preface)
            if text:
                break
            if peer.closed:
                raise RuntimeError(f"the call ended before {what} was heard")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} was not heard within {ANSWER_WITHIN_SECONDS:.0f} s")
            await asyncio.sleep(0.05)
        heard_at = next(e.t for e in reversed(peer.timeline) if e.kind in ("heard", "cut") and e.t >= since)
        await self.call.wait_for_agent(heard_at, quiet=0.5)
        return text


# --------------------------------------------------------------------------- one round


@dataclass
class Round:
    calls: int
    threads: int
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, dict] = field(default_factory=dict)
    turn_server_ms: dict[str, list[float]] = field(default_factory=dict)  # by the tool of the turn, and "all"
    turn_first_frame_ms: dict[str, list[float]] = field(default_factory=dict)
    tool_ms: dict[str, list[float]] = field(default_factory=dict)
    answer_ms: dict[str, list[float]] = field(default_factory=dict)  # "offer", "booking": at the caller
    dead_air_ms: dict[str, list[float]] = field(default_factory=dict)  # end of the preface -> the answer
    turn_first_token_ms: list[float] = field(default_factory=list)
    send_lags_ms: list[float] = field(default_factory=list)  # how late the load generator sent caller frames
    machine_busy: float | None = None  # CPUs busy, whole machine, talk phase (2.0 = both cores)
    checks: dict[str, int] = field(default_factory=dict)


async def run_round(calls: int, threads: int, server, standins: Standins, plan: Plan, customers: list,
                    seed: int, window: float = TALK_JITTER_SECONDS) -> Round:  # fmt: skip
    rng = random.Random(seed)
    endpoint = Endpoint.at(f"ws://127.0.0.1:{server.port}/ws/voice/", account_sid=standins.twilio.account_sid,
                           auth_token=standins.twilio.auth_token)  # fmt: skip
    race_jitter = rng.uniform(0, window)
    callers = [Caller(n, SimulatedCall(endpoint, from_number=customers[n].phone, twilio=standins.twilio),
                      plan.requests[n], n in plan.racers,
                      race_jitter if n in plan.racers else rng.uniform(0, window))
               for n in range(calls)]  # fmt: skip
    gate, talk, greeted = asyncio.Semaphore(WEBHOOKS_IN_FLIGHT), asyncio.Event(), asyncio.Event()
    race = RaceGate(len(plan.racers))
    counted = [0]

    def on_greeted() -> None:
        counted[0] += 1
        if counted[0] == calls:
            greeted.set()

    began = time.monotonic()
    await server.ask_async("reset")
    await server.ask_async("phase ramp")
    tasks = [asyncio.create_task(c.run(n / RAMP_PER_SECOND, gate, talk, race, on_greeted))
             for n, c in enumerate(callers)]  # fmt: skip
    try:
        await asyncio.wait_for(greeted.wait(), calls / RAMP_PER_SECOND + 30)
    except TimeoutError:
        pass  # the calls that did not make it are counted as errors
    await server.ask_async("phase talk")
    talk.set()
    busy_before = machine_busy()
    await asyncio.wait(tasks, timeout=180)
    busy_after = machine_busy()
    await server.ask_async("phase hangup")
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    result = Round(calls=calls, threads=threads, seconds=time.monotonic() - began)
    result.phases = {phase["name"]: phase for phase in (await server.ask_async("dump"))["phases"]}
    seconds = busy_after[1] - busy_before[1]
    result.machine_busy = (busy_after[0] - busy_before[0]) / seconds if seconds > 0 else None
    for caller in callers:
        if caller.error or not caller.finished:
            result.errors.append(caller.error or "did not finish")
        else:
            result.ok += 1
        peer = caller.call.peer
        if peer is not None:
            result.send_lags_ms += [lag * 1000 for lag in peer.send_lags[caller.talk_from:]]
        for name, line, preface in (("offer", caller.request_line, SLOTS_PREFACE),
                                    ("booking", caller.yes_line, BOOKING_PREFACE)):  # fmt: skip
            if peer is not None and line is not None:
                heard, _, preface_end = answer_heard_at(peer, line.ended_at, preface)
                if heard is not None:
                    result.answer_ms.setdefault(name, []).append((heard - line.ended_at) * 1000)
                if heard is not None and preface_end is not None:
                    result.dead_air_ms.setdefault(name, []).append(max(0.0, heard - preface_end) * 1000)
    racers = [c for c in callers if c.racer]
    result.checks["racers told all set"] = sum(words(c.answer).startswith(words(ALL_SET)) for c in racers)
    result.checks["racers told a refusal"] = sum(bool(c.answer) and not words(c.answer).startswith(words(ALL_SET))
                                                 for c in racers)  # fmt: skip
    sids = [c.call.call_sid for c in callers if c.call.call_sid]
    await asyncio.to_thread(_read_records, result, sids, plan, [c.id for c in customers[:calls]])
    return result


def _read_records(result: Round, call_sids: list[str], plan: Plan, customer_ids: list[int]) -> None:
    """The round's figures from the call records and the schedule (after every call has been written up)."""
    from scheduling.models import ACTIVE_STATUSES, Appointment

    try:
        deadline = time.monotonic() + 30
        open_calls = Call.objects.filter(call_sid__in=call_sids, ended_at__isnull=True)
        while time.monotonic() < deadline and open_calls.exists():
            time.sleep(0.2)
        time.sleep(0.5)  # the last turn and its tool records land just after the call's end
        turns = (Turn.objects.filter(call__call_sid__in=call_sids, speaker=Speaker.AGENT,
                                     tool_invocations__isnull=False)
                 .values_list("pk", "server_ms", "first_frame_ms", "tool_invocations__name", "agent_first_token_ms"))
        seen = set()
        for pk, server_ms, first_frame_ms, tool, first_token_ms in turns:
            if pk not in seen and first_token_ms is not None:
                result.turn_first_token_ms.append(first_token_ms)
            for key in {"all", tool} if pk not in seen else {tool}:
                if server_ms is not None:
                    result.turn_server_ms.setdefault(key, []).append(server_ms)
                if first_frame_ms is not None:
                    result.turn_first_frame_ms.setdefault(key, []).append(first_frame_ms)
            seen.add(pk)
        invocations = list(ToolInvocation.objects.filter(call__call_sid__in=call_sids)
                           .values("name", "duration_ms", "ok", "result", "error"))  # fmt: skip
        for row in invocations:
            if row["duration_ms"] is not None:
                result.tool_ms.setdefault(row["name"], []).append(row["duration_ms"])
        bookings = [r for r in invocations if r["name"] == "book_appointment"]
        active = Appointment.objects.filter(status__in=ACTIVE_STATUSES)
        per_customer = {}
        for customer_id in active.values_list("customer_id", flat=True):
            per_customer[customer_id] = per_customer.get(customer_id, 0) + 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM scheduling_appointment a JOIN scheduling_appointment b "
                "ON a.bay_id = b.bay_id AND a.id < b.id "
                "AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)') "
                "WHERE a.status = ANY(%s) AND b.status = ANY(%s)",
                [list(ACTIVE_STATUSES), list(ACTIVE_STATUSES)],
            )
            overlaps = cursor.fetchone()[0]
        racers, bays = len(plan.racers), BAYS
        result.checks.update({
            "bookings": active.count(),
            "bookings expected": (result.calls - racers) + min(racers, bays),
            "race slot booked": active.filter(starts_at=plan.race.start).count(),
            "race slot expected": min(racers, bays),
            "racers": racers,
            "clean refusals": sum(not r["ok"] and bool(r["error"]) and "error" not in r["result"] for r in bookings),
            "refused as just taken": sum(not r["ok"] and "just taken" in r["error"] for r in bookings),
            "refusals expected": max(0, racers - bays),
            "tool errors": sum("error" in r["result"] for r in invocations),
            "booked twice": sum(count > 1 for count in per_customer.values()),
            "callers without one": sum(per_customer.get(c, 0) == 0 for c in customer_ids) - max(0, racers - bays),
            "overlaps": overlaps,
        })  # fmt: skip
    finally:
        connections.close_all()


def machine_busy() -> tuple[float, float]:
    """(CPU-seconds the whole machine has been busy, monotonic seconds): /proc/stat, every process counted."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), time.monotonic()


def clear_schedule() -> None:
    from scheduling.models import Appointment

    Appointment.objects.all().delete()


# --------------------------------------------------------------------------- measured in this process


def tools_alone(calls: int, plan: Plan, customers: list, service_id: int) -> dict[str, list[float]]:
    """get_available_slots and book_appointment as the calls ask them, one at a time: the work, no queue.
    One untimed pair first (the first query of a kind, imports), then the schedule is cleared again."""
    timings: dict[str, list[float]] = {"get_available_slots": [], "book_appointment": []}
    for warm_up in (True, False):
        clear_schedule()
        offered = []
        for n in range(1 if warm_up else calls):
            request, customer = plan.requests[n], customers[n]
            part = "morning" if request.hour < 12 else "afternoon"
            arguments = {"service_ids": [service_id], "date": request.day.isoformat(), "part_of_day": part,
                         "after": f"{request.hour:02d}:00"}  # fmt: skip
            took, found = _run_tool_alone(customer, "get_available_slots", arguments)
            offered.append((customer, found.data.get("slots") or []))
            if not warm_up:
                timings["get_available_slots"].append(took)
        for customer, slots in offered:
            if slots:
                arguments = {"vehicle_id": customer.vehicles.all()[0].pk, "service_ids": [service_id],
                             "start": slots[0]["start"]}  # fmt: skip
                took, _ = _run_tool_alone(customer, "book_appointment", arguments)
                if not warm_up:
                    timings["book_appointment"].append(took)
    clear_schedule()
    return timings


def _run_tool_alone(customer, name: str, arguments: dict):
    from agent.events import ToolCall
    from agent.tools.base import ToolContext
    from agent.tools.registry import run_tool

    context = ToolContext(call_sid=f"CAalone{customer.pk:08d}", caller_phone=customer.phone, customer_id=customer.pk,
                          identified_by="caller_id")  # fmt: skip
    began = time.perf_counter()
    result = run_tool(context, ToolCall(id=f"call_{name}_{customer.pk}", name=name, arguments=arguments))
    return (time.perf_counter() - began) * 1000, result


@dataclass
class Lookups:
    total_ms: list[float] = field(default_factory=list)  # the whole function, number parsing included
    database_ms: list[float] = field(default_factory=list)  # of that, inside cursor.execute (round trips)
    queries: list[int] = field(default_factory=list)
    found: int = 0


def caller_lookups(setup: dict, lookups: int) -> Lookups:
    """customer_find_by_phone on random numbers in mixed spellings: 80% customers' main numbers, 10% their other
    numbers, 10% numbers nobody has."""
    from crm.selectors import customer_find_by_phone

    rng = random.Random(7)
    known = set(setup["mains"]) | set(setup["others"])
    unknown = [n for n in phone_numbers(random.Random(99), lookups // 10 + 10) if n not in known]
    result, spent = Lookups(), []

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append((time.perf_counter() - began) * 1000)

    customer_find_by_phone(spellings(setup["mains"][0], rng))  # untimed: the first query of its kind
    with connection.execute_wrapper(timed):
        for _ in range(lookups):
            draw = rng.random()
            pool = setup["mains"] if draw < 0.8 else setup["others"] if draw < 0.9 else unknown
            spelled = spellings(rng.choice(pool), rng)
            spent.clear()
            began = time.perf_counter()
            customer = customer_find_by_phone(spelled)
            result.total_ms.append((time.perf_counter() - began) * 1000)
            result.database_ms.append(sum(spent))
            result.queries.append(len(spent))
            result.found += customer is not None
    return result


# --------------------------------------------------------------------------- report


def _f(value, digits=0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pair(values, digits=0) -> str:
    values = values or []
    return f"{_f(percentile(values, 0.5), digits)} / {_f(percentile(values, 0.95), digits)}"


def print_header(args, server_cpu, own_cpus) -> None:
    line = "-" * 118
    print(line)
    pinning = (f"server pinned to CPU {server_cpu}, load generator and stand-ins on CPU {sorted(own_cpus)}"
               if server_cpu is not None else "no CPU pinning")  # fmt: skip
    print(f"Booking-mix benchmark - one Daphne process per database mode; {pinning}; {os.cpu_count()} CPUs, "
          f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} at start")  # fmt: skip
    lat = LATENCIES
    print(f"stand-ins: STT final {lat.stt_final * 1000:.0f} ms after speech, LLM first token "
          f"{lat.llm_first_token * 1000:.0f} ms then {lat.llm_tokens_per_second:g} tokens/s, TTS first byte "
          f"{lat.tts_first_byte * 1000:.0f} ms; model: scripted BookingModel")  # fmt: skip
    print(f"each call: greeting, \"I need an oil change on <day> around <time>\" -> get_available_slots -> offer, "
          f"\"yes\" -> book_appointment -> answer, hang up;")  # fmt: skip
    print(f"{args.racers} racers per round ask for one slot with {BAYS} bays; {CUSTOMERS:,} customers; database "
          f"modes: AGENT_DATABASE_THREADS=0 (shared thread) and ={args.pool} (agent pool); callers start "
          f"talking within {args.talk_window:g} s of each other")  # fmt: skip
    print(line)


def print_tables(rounds: list[Round], alone: dict[int, dict], lookup: Lookups, pool: int) -> None:
    counts = sorted({r.calls for r in rounds})
    by = {(r.calls, r.threads): r for r in rounds}
    modes = (0, pool)
    names = {0: "shared thread (0)", pool: f"agent pool ({pool})"}

    def table(title: list[str], cell, width=24) -> None:
        for text in title:
            print(text)
        print(f"  {'calls':>5}  " + "  ".join(f"{names[m]:>{width}}" for m in modes))
        for calls in counts:
            print(f"  {calls:>5}  " + "  ".join(f"{cell(by.get((calls, m))) if by.get((calls, m)) else '-':>{width}}"
                                                for m in modes))  # fmt: skip
        print()

    table(["1. Server's own time per tool turn, ms p50 / p95 (Turn.server_ms of agent turns with tool invocations:",
           "   the server's own time to the first frame plus the tool rounds, database work and its queue included);",
           "   [slots turns | booking turns]. Budget p95 <= 50 ms at 100 calls."],
          lambda r: f"{_pair(r.turn_server_ms.get('all'))}  "
                    f"[{_pair(r.turn_server_ms.get('get_available_slots'))} | "
                    f"{_pair(r.turn_server_ms.get('book_appointment'))}]", width=34)  # fmt: skip

    print("2. Tool time by tool, ms p50 / p95 (ToolInvocation.duration_ms: waiting for a database thread included).")
    print("   alone: the same tool through agent.tools.registry.run_tool in this process, N calls one at a time")
    print("   (the work without the queue; its booking is never refused).")
    tools = sorted({name for r in rounds for name in r.tool_ms})
    print(f"  {'calls':>5}  {'tool':<22}  " + "  ".join(f"{names[m]:>20}" for m in modes) + f"  {'alone':>14}")
    for calls in counts:
        for tool in tools:
            cells = [_pair(by[(calls, m)].tool_ms.get(tool), 1) if (calls, m) in by else "-" for m in modes]
            print(f"  {calls:>5}  {tool:<22}  " + "  ".join(f"{c:>20}" for c in cells)
                  + f"  {_pair(alone.get(calls, {}).get(tool), 1):>14}")  # fmt: skip
    print()

    def first_frames(r: Round) -> str:
        by_tool = r.turn_first_frame_ms
        return (f"{_pair(by_tool.get('all'))} [{_pair(by_tool.get('get_available_slots'))} | "
                f"{_pair(by_tool.get('book_appointment'))}] tok {_pair(r.turn_first_token_ms)}")

    table(["3. First agent audio on tool turns (the preface), ms p50 / p95: Turn.first_frame_ms, final transcript ->",
           "   first frame sent; budget p95 <= 700 ms. [slots turns (\"Let me check that day.\") | booking turns",
           "   (\"Okay, booking it now.\")]; tok: the model's first token (Turn.agent_first_token_ms), same clock."],
          first_frames, width=50)  # fmt: skip
    table(["4. Answer after the tool, at the caller, ms p50 / p95: end of the caller's words -> start of hearing the",
           "   first sentence after the preface (peer timeline). Includes the stand-in STT's 150 ms, the preface, the",
           "   tool, a second model round (350 ms + tokens) and the first TTS byte; it cannot start before the preface",
           "   has played (about 1.3 s of audio at the stand-in's 60 ms a character). [offer after get_available_slots",
           "   | answer after book_appointment]"],
          lambda r: f"{_pair(r.answer_ms.get('offer'))} | {_pair(r.answer_ms.get('booking'))}", width=26)  # fmt: skip
    table(["4b. Dead air after the preface, at the caller, ms p50 / p95: end of hearing the preface -> start of",
           "   hearing the answer (about 20 ms, one frame, when the answer was queued before the preface ended).",
           "   [offer | booking]"],
          lambda r: f"{_pair(r.dead_air_ms.get('offer'))} | {_pair(r.dead_air_ms.get('booking'))}",
          width=26)  # fmt: skip

    print("5. Correctness: bookings made / expected; racers' slot booked / expected (min(racers, bays)); clean")
    print("   refusals / expected (ok false with a sentence and alternatives, no error), of which (taken)")
    print("   SlotTakenError's \"just taken\" rather than the tool's own \"isn't open\" check; racers told all set /")
    print("   refused; callers booked twice or left without one (racers who lost excepted); tool errors; overlapping")
    print("   active appointments in one bay (tstzrange overlap); calls completed / errors.")
    print(f"  {'calls':>5}  {'mode':>5}  {'bookings':>9}  {'race slot':>9}  {'refusals (taken)':>16}  "
          f"{'told set/refused':>16}  {'twice':>5}  {'none':>4}  {'tool err':>8}  {'overlaps':>8}  {'completed':>9}  "
          f"{'errors':>6}")  # fmt: skip
    for calls in counts:
        for m in modes:
            r = by.get((calls, m))
            if r is None:
                continue
            c = r.checks
            print(f"  {calls:>5}  {m:>5}  {c.get('bookings', 0):>4}/{c.get('bookings expected', 0):<4}  "
                  f"{c.get('race slot booked', 0):>4}/{c.get('race slot expected', 0):<4}  "
                  f"{c.get('clean refusals', 0):>7}/{c.get('refusals expected', 0):<2}"
                  f"{'(' + str(c.get('refused as just taken', 0)) + ')':<5}  "
                  f"{c.get('racers told all set', 0):>7}/{c.get('racers told a refusal', 0):<8}  "
                  f"{c.get('booked twice', 0):>5}  {c.get('callers without one', 0):>4}  "
                  f"{c.get('tool errors', 0):>8}  {c.get('overlaps', 0):>8}  {r.ok:>4}/{r.calls:<4}  "
                  f"{len(r.errors):>6}")  # fmt: skip
    for r in rounds:
        for error in sorted(set(r.errors))[:3]:
            print(f"  ({r.calls} calls, threads {r.threads}) error: {error}")
    print()

    two = sum(q > 1 for q in lookup.queries)
    print(f"6. Caller lookup, crm.selectors.customer_find_by_phone in this process: {CUSTOMERS:,} customers, "
          f"{len(lookup.total_ms)} random numbers")  # fmt: skip
    print(f"   in mixed spellings (80% main numbers, 10% other numbers, 10% unknown; {lookup.found} found, {two} took "
          "a second query), ms.")  # fmt: skip
    print("   whole: the function (number parsing and the ORM included); database: time inside cursor.execute.")
    for label, values in (("whole", lookup.total_ms), ("database", lookup.database_ms)):
        print(f"   {label:<9} p50 {_f(percentile(values, 0.5), 3)}   p95 {_f(percentile(values, 0.95), 3)}   "
              f"p99 {_f(percentile(values, 0.99), 3)}   max {_f(max(values, default=None), 3)}")  # fmt: skip
    print()

    table(["Server health, talk phase: inbound frame lag p99 (voice.metrics INBOUND_LAG_MS) / the load generator's own",
           "send lag p99, ms; the server's CPU; the whole machine's CPUs busy (every process: Postgres, the load",
           "generator, anyone else's work; 200% = both cores); seconds of the round."],
          lambda r: f"{_f(_lag_p99(r), 1)} / {_f(percentile(r.send_lags_ms, 0.99), 1)} ms, {_cpu(r)}, "
                    f"{_f(None if r.machine_busy is None else 100 * r.machine_busy)}%, {r.seconds:.0f} s",
          width=34)  # fmt: skip


def _lag_p99(r: Round) -> float | None:
    return r.phases.get("talk", {}).get("inbound_lag_ms", {}).get("p99")


def _cpu(r: Round) -> str:
    talk = r.phases.get("talk", {})
    return f"{100 * talk['cpu_seconds'] / talk['seconds']:.0f}%" if talk.get("seconds") else "-"


def print_verdicts(rounds: list[Round], lookup: Lookups, pool: int) -> None:
    judged_calls = JUDGED_AT if any(r.calls == JUDGED_AT for r in rounds) else max(r.calls for r in rounds)
    print(f"Budgets (DESIGN.md), judged at {judged_calls} calls")
    rows = []
    for threads in (0, pool):
        r = next((r for r in rounds if r.calls == judged_calls and r.threads == threads), None)
        if r is None:
            continue
        label = f"AGENT_DATABASE_THREADS={threads}"
        rows += [
            (f"server's own time per tool turn p95 <= {BUDGETS['tool_turn_server_p95_ms']} ms, {label}",
             percentile(r.turn_server_ms.get("all", []), 0.95), BUDGETS["tool_turn_server_p95_ms"], "ms"),
            (f"tool turn first audio p95 <= {BUDGETS['tool_turn_first_frame_p95_ms']} ms, {label}",
             percentile(r.turn_first_frame_ms.get("all", []), 0.95), BUDGETS["tool_turn_first_frame_p95_ms"], "ms"),
            (f"inbound frame lag p99 < {BUDGETS['lag_p99_ms']} ms, {label}", _lag_p99(r), BUDGETS["lag_p99_ms"],
             "ms"),
        ]  # fmt: skip
    rows += [(f"caller lookup p95 <= {BUDGETS['lookup_p95_ms']:g} ms, the whole function",
              percentile(lookup.total_ms, 0.95), BUDGETS["lookup_p95_ms"], "ms"),
             (f"caller lookup p95 <= {BUDGETS['lookup_p95_ms']:g} ms, its database part",
              percentile(lookup.database_ms, 0.95), BUDGETS["lookup_p95_ms"], "ms")]  # fmt: skip
    for label, value, budget, unit in rows:
        verdict = "-" if value is None else ("ok" if value <= budget else "OVER BUDGET")
        print(f"  {label:<72} {_f(value, 1):>8} {unit}   {verdict}")
    wrong = [r for r in rounds if not _correct(r)]
    print(f"  {'bookings as expected, race slot min(racers, bays), no overlap, no tool error':<72} "
          f"{len(rounds) - len(wrong):>5}/{len(rounds)} rounds   {'ok' if not wrong else 'WRONG'}")  # fmt: skip


def _correct(r: Round) -> bool:
    c = r.checks
    return (c.get("bookings") == c.get("bookings expected") and c.get("race slot booked") == c.get("race slot expected")
            and c.get("clean refusals") == c.get("refusals expected") and not c.get("tool errors")
            and not c.get("overlaps") and not c.get("booked twice") and r.ok == r.calls)  # fmt: skip


# --------------------------------------------------------------------------- main


def warm_up(servers: dict, standins: Standins, setup: dict) -> None:
    """WARM_UP_CALLS calls on each server, not reported: first calls pay for imports, templates, connections."""
    plan = make_plan(WARM_UP_CALLS * len(servers), 0)

    async def both() -> list[Round]:
        return await asyncio.gather(*[
            run_round(WARM_UP_CALLS, threads, server, standins,
                      Plan(plan.requests[k * WARM_UP_CALLS:(k + 1) * WARM_UP_CALLS], frozenset(), plan.race),
                      setup["callers"][k * WARM_UP_CALLS:(k + 1) * WARM_UP_CALLS], seed=100 + k)
            for k, (threads, server) in enumerate(servers.items())])  # fmt: skip

    clear_schedule()
    began = time.monotonic()
    done = asyncio.run(both())
    clear_schedule()
    print(f"  warm-up: {WARM_UP_CALLS} calls on each server, {sum(r.ok for r in done)} ok, "
          f"{time.monotonic() - began:.0f} s", flush=True)  # fmt: skip


def parse_args():
    parser = argparse.ArgumentParser(description="N simulated calls at once, each booking through the agent's tools.")
    parser.add_argument("--calls", type=int, help="one round of this many calls (instead of the sweep)")
    parser.add_argument("--sweep", default=",".join(map(str, SWEEP)), help="rounds to run, e.g. 25,50,100")
    parser.add_argument("--racers", type=int, default=RACERS, help="callers per round racing for one slot")
    parser.add_argument("--pool", type=int, default=4, help="AGENT_DATABASE_THREADS of the second mode")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and this process to CPUs")
    parser.add_argument("--talk-window", type=float, default=TALK_JITTER_SECONDS,
                        help="seconds over which the callers start talking (default: all at once)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    counts = [args.calls] if args.calls else [int(n) for n in args.sweep.split(",")]
    if args.pool < 1 or min(counts) < 1 or max(counts) > CUSTOMERS:
        raise SystemExit(f"--pool must be at least 1 and each round between 1 and {CUSTOMERS} calls")
    server_cpu, own_cpus = base.pin_cpus(args.no_pin)
    sys.setswitchinterval(0.001)  # many threads here (peers' loop, each stand-in's): hand the GIL over promptly
    base.isolate()
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    servers = {}
    try:
        setup = set_up_dealership(max(*counts, 2 * WARM_UP_CALLS))
        model = BookingModel(setup["service_id"])
        with Standins(LATENCIES, responder=model, use_real_providers=False) as standins:
            environment = {**standins.settings_values(), "DEBUG": "1", "KNOWLEDGE_EMBEDDING_PROVIDER": "none",
                           "GOOGLE_SERVICE_ACCOUNT_FILE": "", "GOOGLE_CALENDAR_ID": "",
                           "VOICE_SILENCE_SECONDS": "300"}  # callers wait silently for the others: no "still there?"
            for threads in (0, args.pool):
                servers[threads] = base.ServerProcess({**environment, "AGENT_DATABASE_THREADS": str(threads)},
                                                      server_cpu)  # fmt: skip
            print_header(args, server_cpu, own_cpus)
            warm_up(servers, standins, setup)
            rounds, alone = [], {}
            for calls in counts:
                plan = make_plan(calls, args.racers)
                for threads in (0, args.pool):
                    clear_schedule()
                    servers[threads].wait_until_idle()
                    result = asyncio.run(run_round(calls, threads, servers[threads], standins, plan,
                                                   setup["callers"], seed=len(rounds) + 1,
                                                   window=args.talk_window))  # fmt: skip
                    rounds.append(result)
                    print(f"  round of {calls} calls, AGENT_DATABASE_THREADS={threads}: {result.ok} ok, "
                          f"{result.checks.get('bookings')} booked, {result.seconds:.0f} s, inbound lag p99 "
                          f"{_f(_lag_p99(result), 1)} ms", flush=True)  # fmt: skip
                alone[calls] = tools_alone(calls, plan, setup["callers"], setup["service_id"])
            lookup = caller_lookups(setup, LOOKUPS)
            print()
            print_tables(rounds, alone, lookup, args.pool)
            print_verdicts(rounds, lookup, args.pool)
            print(f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} at the end; server logs: "
                  + ", ".join(server.log.name for server in servers.values()))  # fmt: skip
    finally:
        for server in servers.values():
            server.stop()
        base._end_connections()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
