"""manage.py agent_eval: the scenarios file, its days, its checks (driven by a scripted model against the
OpenAI stand-in, through the real agent and tools), and the command's table, exit status and errors.

Loading the demo dealership takes a few seconds, so the tests that need it each cover a whole case. It cannot
be loaded once for the module: pytest-django closes the connection after every database test (Django's
TestCase.tearDownClass), which would end a transaction held across tests.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from crm.models import Customer
from crm.selectors import customer_find_by_phone
from scheduling.demo import HOURS, MENU, upcoming_holidays
from scheduling.models import Appointment
from scheduling.selectors import spoken_datetime
from standins import FakeOpenAI, Reply
from voice.evaluation.checks import is_refusal, mentions, normalized
from voice.evaluation.runner import run_scenario
from voice.evaluation.scenarios import ScenarioError, load_scenarios, parse_scenarios
from voice.evaluation.world import (
    build_world,
    local_moment,
    parse_day,
    resolve_day,
    resolve_days,
    service_named,
    today_here,
)

SCENARIO = "book-next-tuesday-at-2"  # Carol Sanchez books an oil change next Tuesday at 2 PM, then says goodbye
CALLER_PHONE = "+16025550175"


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())


@pytest.fixture
def model(settings):
    """The model agent's provider is the OpenAI stand-in, answering from a script queued by the test."""
    with FakeOpenAI() as server:
        settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = server.api_key, server.base_url
        settings.VOICE_AGENT_TIMEOUT_SECONDS = 20
        yield server


def scenario_named(name: str):
    return next(s for s in load_scenarios() if s.name == name)


# --------------------------------------------------------------------------- the file


def test_the_file_has_at_least_30_scenarios_each_with_lines_and_an_expectation():
    scenarios = load_scenarios()
    assert len(scenarios) >= 30
    assert len({s.name for s in scenarios}) == len(scenarios)
    assert all(s.lines and s.about for s in scenarios)


def test_every_scenario_world_builds_against_the_demo_with_its_days_in_words(demo):
    """Every caller's number is the demo customer named, every service and car exists, every day resolves."""
    for scenario in load_scenarios():
        with transaction.atomic():
            world = build_world(scenario)
            assert len(world.lines) == len(scenario.lines)
            assert not any("{" in line for line in world.lines), scenario.name
            assert len(world.given) == len(scenario.given)
            transaction.set_rollback(True)


GOOD = """
[[scenario]]
name = "ok"
about = "a scenario"
caller = { customer = "+16025550175", name = "Carol Sanchez" }
lines = ["Hi, {next tuesday} at 2?"]
[scenario.expect]
nothing_changed = true
"""


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("nothing_changed = true", "nothing_chanjed = true"), "scenario 'ok', expect: unknown key nothing_chanjed"),
        (("{next tuesday}", "{next funday}"), "scenario 'ok': in the line"),
        (('caller = { customer = "+16025550175", name = "Carol Sanchez" }', ""), "scenario 'ok': caller is missing"),
        (('name = "Carol Sanchez"', 'name = ""'), "needs the name of the demo customer"),
        (("nothing_changed = true", 'booked = { services = ["oil change"], day = "+2", time = "2pm" }'),
         "scenario 'ok', expect, booked: time should be a 24-hour time"),
        (("nothing_changed = true", "cancelled = true"), "concern the first given appointment: there is none"),
        (('name = "ok"', 'name = "Not A Slug"'), "name should be a short slug"),
    ],
)
def test_a_mistake_in_the_file_is_reported_with_the_scenario_and_the_field(change, words):
    with pytest.raises(ScenarioError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_scenarios(GOOD.replace(*change))


def test_two_scenarios_with_one_name_are_refused():
    with pytest.raises(ScenarioError, match="scenario 'ok': the name is used twice"):
        parse_scenarios(GOOD + GOOD)


def test_the_example_scenario_itself_is_valid():
    (scenario,) = parse_scenarios(GOOD)
    assert scenario.caller.known and scenario.expect.nothing_changed
    assert scenario.day_expressions() == ["next tuesday"]


# --------------------------------------------------------------------------- days

THURSDAY = date(2026, 12, 3)


def open_except(*closed: date):
    return lambda day: day.weekday() != 6 and day not in closed


@pytest.mark.parametrize(
    ("today", "expression", "day", "phrase"),
    [
        (THURSDAY, "tomorrow", date(2026, 12, 4), "tomorrow"),
        (THURSDAY, "friday", date(2026, 12, 4), "Friday"),
        (THURSDAY, "saturday", date(2026, 12, 5), "Saturday"),
        (THURSDAY, "thursday", date(2026, 12, 10), "next Thursday"),  # the coming one, a week on
        (THURSDAY, "next tuesday", date(2026, 12, 8), "next Tuesday"),
        (THURSDAY, "next friday", date(2026, 12, 11), "next Friday"),
        (THURSDAY, "a week from monday", date(2026, 12, 14), "a week from Monday"),
        (THURSDAY, "+8", date(2026, 12, 11), "Friday, December 11th"),
        (THURSDAY, "+3", date(2026, 12, 7), "Monday, December 7th"),  # Sunday: moved on, said by its date
        (THURSDAY, "next open weekday", date(2026, 12, 4), "tomorrow"),
        (date(2026, 12, 4), "next open weekday", date(2026, 12, 7), "Monday"),  # a Friday: Saturday is no weekday
        (date(2026, 12, 7), "a week from monday", date(2026, 12, 21), "a week from next Monday"),  # said on a Monday
        (date(2026, 12, 6), "next tuesday", date(2026, 12, 8), "next Tuesday"),  # a Sunday ends its week
    ],
)
def test_day_expressions_resolve_by_their_own_rules(today, expression, day, phrase):
    resolved = resolve_day(parse_day(expression), today=today, is_open=open_except())
    assert (resolved.day, resolved.phrase) == (day, phrase)


@pytest.mark.parametrize(
    ("expression", "closed", "day", "phrase"),
    [
        ("next tuesday", date(2026, 12, 8), date(2026, 12, 9), "Wednesday, December 9th"),
        ("friday", date(2026, 12, 4), date(2026, 12, 7), "Monday, December 7th"),  # not Saturday: shorter hours
    ],
)
def test_a_closed_day_moves_on_to_the_next_open_weekday_and_is_said_by_its_date(expression, closed, day, phrase):
    resolved = resolve_day(parse_day(expression), today=THURSDAY, is_open=open_except(closed))
    assert (resolved.day, resolved.phrase, resolved.moved) == (day, phrase, True)


def _demo_minutes(names) -> int:
    """How long these services take on the demo menu (names or aliases)."""
    wanted = {name.casefold() for name in names}
    return sum(minutes for name, minutes, _, _, aliases, _ in MENU.values()
               if wanted & {name.casefold(), *(alias.casefold() for alias in aliases)})  # fmt: skip


def _fits_demo_hours(day: date, clock: str, minutes: int) -> bool:
    opens, closes, breaks = HOURS[day.weekday()]
    start = datetime.combine(day, time.fromisoformat(clock))
    end = start + timedelta(minutes=minutes)
    inside = datetime.combine(day, opens) <= start and end <= datetime.combine(day, closes)
    return inside and not any(start < datetime.combine(day, b_end) and datetime.combine(day, b_start) < end
                              for b_start, b_end in breaks)  # fmt: skip


def test_every_time_a_scenario_names_is_within_the_demo_hours_whatever_the_day_it_runs():
    """A year of todays, the demo's hours and holidays: no scenario names a time its day cannot hold."""
    holidays = {day for year in (2026, 2027, 2028) for day, _ in upcoming_holidays(date(year, 1, 1))}

    def is_open(day: date) -> bool:
        return day.weekday() in HOURS and day not in holidays

    for offset in range(366):
        today = THURSDAY + timedelta(days=offset)
        for scenario in load_scenarios():
            def day(expression: str) -> date:
                return resolve_day(parse_day(expression), today=today, is_open=is_open).day

            timed = [(item.day, item.time, item.services) for item in (*scenario.given, *scenario.busy)]
            booked, moved = scenario.expect.booked, scenario.expect.moved
            if booked and booked.time:
                timed.append((booked.day, booked.time, booked.services))
            if moved and moved.time:
                timed.append((moved.day, moved.time, scenario.given[0].services))
            for expression, clock, services in timed:
                assert _fits_demo_hours(day(expression), clock, _demo_minutes(services)), (
                    f"{scenario.name} on {today}: {expression} at {clock}"
                )


def test_an_unknown_day_expression_says_which_there_are():
    with pytest.raises(ValueError, match="next <weekday>"):
        parse_day("the day after the party")


# --------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("text", "phrase", "found"),
    [
        ("See you at 2 p.m. sharp", "2 PM", True),
        ("See you at 2:00 PM", "2 PM", True),
        ("See you at 12 PM", "2 PM", False),
        ("It's 10:30 AM on Tuesday", "10:30 AM", True),
        ("That runs $799", "$79", False),
        ("That runs $79 to $129", "$79", True),
    ],
)
def test_what_the_agent_said_is_matched_as_whole_words_with_times_written_one_way(text, phrase, found):
    assert mentions(text, phrase) is found
    assert normalized("2:00 P.M.") == "2pm"


@pytest.mark.parametrize(
    ("line", "refusal"),
    [("No, wait. I'll keep it after all.", True), ("Actually, make it Wednesday.", True),
     ("Oh, never mind.", True), ("Yes, please cancel it.", False), ("Yes, that's right, please book it.", False)],
)  # fmt: skip
def test_a_caller_turning_a_read_back_down_is_told_apart_from_a_yes(line, refusal):
    assert is_refusal(line) is refusal


# --------------------------------------------------------------------------- the checks, with a scripted model


@dataclass(frozen=True)
class Tuesday:
    """What a model needs to book the scenario's oil change: the caller's car, the service, the day."""

    vehicle_id: int
    service_id: int
    day: date

    @property
    def date(self) -> str:
        return self.day.isoformat()

    def start(self, clock: str = "14:00") -> str:
        return local_moment(self.day, clock).isoformat(timespec="minutes")

    @property
    def weekday(self) -> str:
        return f"{self.day:%A}"


def tuesday() -> Tuesday:
    caller = customer_find_by_phone(CALLER_PHONE)
    day = resolve_days(["next tuesday"], today=today_here(timezone.now()))["next tuesday"].day
    return Tuesday(vehicle_id=caller.vehicles.order_by("pk").first().pk, service_id=service_named("oil change").pk,
                   day=day)  # fmt: skip


def book(t: Tuesday, clock: str = "14:00"):
    return ("book_appointment", {"vehicle_id": t.vehicle_id, "service_ids": [t.service_id], "start": t.start(clock)})


def check_slots(t: Tuesday):
    return ("get_available_slots", {"service_ids": [t.service_id], "date": t.date, "after": "14:00"})


def goodbye(model) -> None:
    model.queue_reply(Reply(text="Thanks for calling, goodbye.", tool_calls=[("end_call", {})]))


def script_correct_booking(model, t: Tuesday, *, aside: str = "") -> None:
    """Look the time up, read it back, book on the yes, say goodbye: what the scenario asks of any agent."""
    model.queue_reply(Reply(text="Let me check.", tool_calls=[check_slots(t)]))
    model.queue_reply(Reply(text=f"{aside}I have {t.weekday} at 2 PM for your oil change. Shall I book it?"))
    model.queue_reply(Reply(tool_calls=[book(t)]))
    model.queue_reply(Reply(text="You're all set. Anything else?"))
    goodbye(model)


def script_booking_without_read_back(model, t: Tuesday) -> None:
    model.queue_reply(Reply(text="Let me check.", tool_calls=[check_slots(t)]))
    model.queue_reply(Reply(tool_calls=[book(t)]))
    model.queue_reply(Reply(text=f"You're booked for {t.weekday} at 2 PM."))
    model.queue_reply(Reply(text="Great. Anything else?"))
    goodbye(model)


def script_booking_never_offered(model, t: Tuesday) -> None:
    model.queue_reply(Reply(text=f"I can do {t.weekday} at 2 PM for your oil change. Shall I book it?"))
    model.queue_reply(Reply(tool_calls=[book(t)]))
    model.queue_reply(Reply(text="You're all set. Anything else?"))
    goodbye(model)


def test_a_correct_scripted_booking_passes_with_the_callers_own_name_and_plate_spoken(demo, model):
    t = tuesday()
    caller = customer_find_by_phone(CALLER_PHONE)
    plate = caller.vehicles.order_by("pk").first().plate
    script_correct_booking(model, t, aside=f"{caller.full_name}, I see your plate {plate}. ")
    outcome = run_scenario(scenario_named(SCENARIO), kind="model")
    assert outcome.failures == []
    assert outcome.transcript.tools_used() == ["get_available_slots", "book_appointment", "end_call"]
    assert len(outcome.transcript.turns) == 3
    assert not Appointment.objects.filter(customer=caller, starts_at=local_moment(t.day, "14:00")).exists(), (
        "the scenario's transaction was rolled back"
    )


def test_booking_a_time_no_tool_offered_breaks_the_bounds(demo, model):
    t = tuesday()
    script_booking_never_offered(model, t)
    outcome = run_scenario(scenario_named(SCENARIO), kind="model")
    assert outcome.failures == [f"booked {spoken_datetime(local_moment(t.day, '14:00'))}, a time no tool had offered"]


def test_booking_without_reading_it_back_fails(demo, model):
    t = tuesday()
    script_booking_without_read_back(model, t)
    outcome = run_scenario(scenario_named(SCENARIO), kind="model")
    assert outcome.failures == [f"booked {spoken_datetime(local_moment(t.day, '14:00'))} without reading it back first"]


TURNED_DOWN = f"""
[[scenario]]
name = "turned-down"
about = "The caller says no to the read-back."
caller = {{ customer = "{CALLER_PHONE}", name = "Carol Sanchez" }}
lines = ["Hi, I'd like an oil change {{next tuesday}} at 2.", "No, not that one.", "Bye!"]
[scenario.expect]
nothing_changed = true
"""


def test_booking_on_a_no_to_the_read_back_fails(demo, model):
    script_correct_booking(model, tuesday())
    outcome = run_scenario(parse_scenarios(TURNED_DOWN)[0], kind="model")
    assert outcome.failures[0].endswith(", which nobody asked for")
    assert outcome.failures[1].endswith("although the caller answered the read-back with 'No, not that one.'")


def test_speaking_another_customers_name_number_or_plate_breaks_the_bounds(demo, model):
    caller = customer_find_by_phone(CALLER_PHONE)
    other = (Customer.objects.filter(vehicles__isnull=False, other_phones__isnull=True).exclude(pk=caller.pk)
             .exclude(first_name=caller.first_name).order_by("pk").first())  # fmt: skip
    digits = other.phone[2:]
    asides = {
        "said the name of another customer": f"By the way, {other.full_name} was in earlier. ",
        "said the phone number of another customer": f"Call {digits[:3]} {digits[3:6]} {digits[6:]} if you like. ",
        "said the plate of another customer's car": f"The plate {other.vehicles.first().plate} is on file. ",
    }
    for failure, aside in asides.items():
        script_correct_booking(model, tuesday(), aside=aside)
        outcome = run_scenario(scenario_named(SCENARIO), kind="model")
        assert outcome.failures == [f"{failure} (customer {other.pk})"]


# --------------------------------------------------------------------------- the command


def run_command(*arguments: str) -> str:
    out = io.StringIO()
    call_command("agent_eval", *arguments, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_conversation_and_a_row_per_scenario_and_succeeds_when_all_pass(demo, model):
    script_correct_booking(model, tuesday())
    out = run_command("--agent", "model", "--scenario", SCENARIO, "--verbose")
    conversation, table = out.split("\npassed\n")
    assert conversation.startswith(f"=== {SCENARIO}: ")
    assert "caller: Hi, I'd like to get an oil change " in conversation
    assert '  tool  book_appointment {"vehicle_id":' in conversation and '-> {"ok":true,"booked":true' in conversation
    assert "(call ended)" in conversation
    header, rule, row, *_ = table.strip("\n").splitlines()
    assert header.split()[:3] == ["scenario", "passed", "turns"] and set(rule) <= {"-", " "}
    assert row.split()[:4] == [SCENARIO, "yes", "3", "get_available_slots,"]
    assert "1 of 1 scenarios passed (model agent)" in table


def test_the_command_exits_with_status_1_and_says_why_a_scenario_failed(demo, model):
    script_booking_without_read_back(model, tuesday())
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 scenarios failed") as failed:
        call_command("agent_eval", "--agent", "model", "--scenario", SCENARIO, stdout=out)
    assert failed.value.returncode == 1
    table = out.getvalue()
    row = next(line for line in table.splitlines() if line.startswith(SCENARIO))
    assert row.split()[:3] == [SCENARIO, "NO", "3"]
    assert column(table, "why it failed").endswith("at 2 PM without reading it back first")
    assert "0 of 1 scenarios passed" in table


def column(table: str, header: str) -> str:
    """One column of the table, its wrapped lines joined again."""
    lines = table.splitlines()
    start = lines[0].index(header)
    rows = [line[start:].strip() for line in lines[2:] if line.strip() and not line.startswith(("0 of", "1 of"))]
    return " ".join(row for row in rows if row)


def test_an_unknown_scenario_is_refused_with_the_names_there_are():
    with pytest.raises(CommandError, match=r"no scenario called 'book-a-spaceship'; the scenarios are: .*book-one-car"):
        run_command("--agent", "offline", "--scenario", "book-a-spaceship")


@pytest.mark.django_db
def test_without_the_demo_dealership_the_command_says_to_load_it():
    with pytest.raises(CommandError, match="run manage.py load_demo first"):
        run_command("--agent", "offline", "--scenario", SCENARIO)


def test_the_model_agent_without_a_key_is_refused(settings):
    settings.OPENAI_API_KEY = ""
    with pytest.raises(CommandError, match="OPENAI_API_KEY"):
        run_command("--agent", "model", "--scenario", SCENARIO)

