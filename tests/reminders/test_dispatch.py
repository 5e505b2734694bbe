"""Dispatching: which due rows are claimed when, what Twilio is asked (the real SDK against the REST stand-in),
the live-call cap, the rate limit, and the tasks.

Fixtures (tests/reminders/conftest.py): ``reminder`` is Maria's queued row (a Phoenix number, +1 602),
due at ``evening`` (17:00 the day before ``plan_day``); the dealership is in Phoenix unless ``dst`` moves it.
Here: ``twilio`` points Twilio's settings at the stand-in (shared by the other test files of the dispatcher).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, time, timedelta
from time import monotonic
from time import time as unix_time
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from crm import services as crm_services
from crm.models import ConsentKind, ConsentSource
from reminders.dispatch import dispatch_due, place
from reminders.models import ReminderCall, ReminderEvent, ReminderStatus, SkipReason
from reminders.planning import plan_reminders
from reminders.ratelimit import CallRateLimiter
from reminders.tasks import dispatch_reminder_calls, place_reminder_call
from scheduling import services as scheduling_services
from standins import FakeTwilio
from tests.reminders.conftest import local
from voice.models import Call, Direction, Purpose

pytestmark = pytest.mark.django_db

PUBLIC_BASE_URL = "https://crm.example.com"
OUR_NUMBER = "+16025550000"
MARIA = "+16025550100"


@pytest.fixture
def twilio(settings):
    """The Twilio REST stand-in, with Twilio's settings on it, the public address, and the dispatcher's settings
    at their defaults (the rate limit high, so that only the tests about it wait for call slots)."""
    with FakeTwilio() as server:
        _configure(settings, server)
        yield server


def _configure(settings, server: FakeTwilio) -> None:
    settings.TWILIO_ACCOUNT_SID = server.account_sid
    settings.TWILIO_AUTH_TOKEN = server.auth_token
    settings.TWILIO_API_BASE_URL = server.base_url
    settings.TWILIO_PHONE_NUMBER = OUR_NUMBER
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.REMINDER_CALLS_PER_SECOND = 1000
    settings.REMINDER_MAX_LIVE_CALLS = 10
    settings.REMINDER_RETRY_DELAY_MINUTES = 90
    settings.REMINDER_MAX_RETRIES = 2
    settings.REMINDER_RING_SECONDS = 25
    settings.REMINDER_TIME_LIMIT_SECONDS = 300
    settings.REMINDER_STUCK_DIALING_MINUTES = 5


def reminder_of(create) -> int:
    """The reminder id a create at the stand-in was for (from its status callback URL)."""
    return int(parse_qs(urlsplit(create.params["StatusCallback"]).query)["reminder"][0])


def events(reminder: ReminderCall) -> list[tuple[str, str, str]]:
    """In the order written (``at`` is the real clock, while planning was told its own ``now``)."""
    rows = ReminderEvent.objects.filter(reminder=reminder).order_by("pk")
    return list(rows.values_list("from_status", "to_status", "call_sid"))


def refreshed(reminder: ReminderCall) -> ReminderCall:
    reminder.refresh_from_db()
    return reminder


# --------------------------------------------------------------------------- claiming and placing


def test_a_due_row_is_claimed_then_placed_with_every_parameter_twilio_needs(twilio, reminder, evening, settings):
    assert dispatch_due(now=evening) == [reminder.pk]
    reminder = refreshed(reminder)
    assert (reminder.status, reminder.attempts, reminder.dialing_since, reminder.call_sid) == (
        ReminderStatus.DIALING, 1, evening, "")
    assert reminder.next_attempt_at == evening  # the attempt is pending until Twilio is asked
    assert twilio.creates == []  # the claim is committed before Twilio is asked

    assert place(reminder.pk, now=evening) == "placed"
    (create,) = twilio.creates
    params = create.params
    assert (params["To"], params["From"], params["Method"]) == (MARIA, OUR_NUMBER, "POST")
    assert params["Url"] == f"{PUBLIC_BASE_URL}/voice/reminder-answer/?reminder={reminder.pk}"
    assert params["StatusCallback"] == f"{PUBLIC_BASE_URL}/reminders/status/?reminder={reminder.pk}"
    assert params["StatusCallbackMethod"] == "POST"
    assert params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert params["MachineDetection"] == "DetectMessageEnd"
    assert params["AsyncAmd"] == "true"
    assert params["AsyncAmdStatusCallback"] == f"{PUBLIC_BASE_URL}/voice/machine-detection/"
    assert (params["Timeout"], params["TimeLimit"]) == ("25", "300")

    reminder = refreshed(reminder)
    assert (reminder.status, reminder.call_sid) == (ReminderStatus.DIALING, create.sid)
    call = Call.objects.get(call_sid=create.sid)
    assert reminder.call == call
    assert (call.direction, call.purpose, call.appointment_id, call.customer_id, call.to_number) == (
        Direction.OUTBOUND, Purpose.REMINDER, reminder.appointment_id, reminder.appointment.customer_id, MARIA)
    assert events(reminder) == [("", "queued", ""), ("queued", "dialing", ""), ("dialing", "dialing", ""),
                                ("dialing", "dialing", create.sid)]  # planned, claimed, asked, accepted
    assert reminder.next_attempt_at is None


def test_settings_reach_the_call(twilio, reminder, evening, settings):
    settings.REMINDER_RING_SECONDS, settings.REMINDER_TIME_LIMIT_SECONDS = 18, 240
    place(dispatch_due(now=evening)[0], now=evening)
    (create,) = twilio.creates
    assert (create.params["Timeout"], create.params["TimeLimit"]) == ("18", "240")


def test_rows_not_yet_due_wait(twilio, reminder, evening):
    assert dispatch_due(now=evening - timedelta(minutes=1)) == []
    assert refreshed(reminder).status == ReminderStatus.QUEUED


def test_nothing_is_claimed_while_twilio_or_the_public_address_is_missing(twilio, reminder, evening, settings):
    settings.TWILIO_PHONE_NUMBER = ""
    assert dispatch_due(now=evening) == []
    settings.TWILIO_PHONE_NUMBER, settings.PUBLIC_BASE_URL = OUR_NUMBER, ""
    assert dispatch_due(now=evening) == []
    settings.PUBLIC_BASE_URL, settings.TWILIO_AUTH_TOKEN = PUBLIC_BASE_URL, ""
    assert dispatch_due(now=evening) == []
    assert refreshed(reminder).status == ReminderStatus.QUEUED and twilio.creates == []


def test_rows_past_their_window_are_settled_even_while_twilio_is_missing(twilio, reminder, plan_day, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert dispatch_due(now=local(plan_day - timedelta(days=1), "21:00")) == []
    assert refreshed(reminder).skip_reason == SkipReason.WINDOW_CLOSED


def test_an_appointment_booked_after_planning_is_planned_and_called_at_the_next_dispatch(
        twilio, reminder, evening, make_customer, book, plan_day):  # fmt: skip
    late = book(make_customer("Rosa", "(602) 555-0110"), local(plan_day, "15:00"))
    claimed = dispatch_due(now=evening + timedelta(minutes=1))
    late_row = ReminderCall.objects.get(appointment=late)
    assert sorted(claimed) == sorted([reminder.pk, late_row.pk])


# --------------------------------------------------------------------------- the calling window


@pytest.fixture
def early(appointments, plan_day):
    """Planned at 06:00 on the eve: due before the window opens. Returns Maria's row."""
    plan_reminders(plan_day, now=local(plan_day - timedelta(days=1), "06:00"))
    return ReminderCall.objects.get(appointment=appointments.called)


def test_a_row_due_before_the_window_waits_for_it_to_open(twilio, early, plan_day):
    eve = plan_day - timedelta(days=1)
    assert dispatch_due(now=local(eve, "07:30")) == []
    row = refreshed(early)
    assert (row.status, row.next_attempt_at, row.attempts) == (ReminderStatus.QUEUED, local(eve, "08:00"), 0)
    note = ReminderEvent.objects.filter(reminder=row).latest("pk").note
    assert note == "waits for the calling window (08:00 America/Phoenix)"
    assert dispatch_due(now=local(eve, "07:59")) == []  # not due again before 08:00
    assert dispatch_due(now=local(eve, "08:00")) == [row.pk]


def test_the_configured_window_is_kept(twilio, early, plan_day, settings):
    settings.REMINDER_WINDOW_START, settings.REMINDER_WINDOW_END = "10:00", "19:00"
    eve = plan_day - timedelta(days=1)
    assert dispatch_due(now=local(eve, "09:00")) == []
    assert refreshed(early).next_attempt_at == local(eve, "10:00")


@pytest.mark.parametrize("clock", ["21:00", "23:30"])
def test_a_row_still_queued_when_the_eves_window_closes_is_skipped(twilio, reminder, plan_day, clock):
    assert dispatch_due(now=local(plan_day - timedelta(days=1), clock)) == []
    row = refreshed(reminder)
    assert (row.status, row.skip_reason, row.next_attempt_at) == (
        ReminderStatus.SKIPPED, SkipReason.WINDOW_CLOSED, None)
    assert twilio.creates == []


def test_on_the_appointments_day_it_is_too_late(twilio, reminder, plan_day):
    dispatch_due(now=local(plan_day, "08:30"))
    assert refreshed(reminder).skip_reason == SkipReason.WINDOW_CLOSED


def test_each_customer_is_called_inside_their_own_zones_window(twilio, reminder, make_customer, book, plan_day,
                                                                evening):  # fmt: skip
    """A New York customer of the Phoenix dealership: when it is 21:00 in New York, it is 18:00 or 19:00 in
    Phoenix (2 or 3 hours behind, with or without New York's DST): too late for one, fine for the other."""
    eve = plan_day - timedelta(days=1)
    new_yorker = book(make_customer("Nadia", "(212) 555-0123"), local(plan_day, "10:00"))
    plan_reminders(plan_day, now=evening)
    ny_close = datetime.combine(eve, time(21), tzinfo=ZoneInfo("America/New_York"))
    claimed = dispatch_due(now=ny_close)
    assert claimed == [reminder.pk]
    ny_row = ReminderCall.objects.get(appointment=new_yorker)
    assert (ny_row.status, ny_row.skip_reason) == (ReminderStatus.SKIPPED, SkipReason.WINDOW_CLOSED)


def test_a_new_yorker_is_called_from_8_in_new_york_while_phoenix_still_sleeps(twilio, make_customer, book,
                                                                               plan_day):  # fmt: skip
    eve = plan_day - timedelta(days=1)
    book(make_customer("Nadia", "(212) 555-0123"), local(plan_day, "10:00"))
    plan_reminders(plan_day, now=local(eve, "05:00"))
    ny_open = datetime.combine(eve, time(8), tzinfo=ZoneInfo("America/New_York"))
    assert local(eve, "08:00") > ny_open  # still before 08:00 in Phoenix
    assert dispatch_due(now=ny_open - timedelta(minutes=1)) == []
    assert len(dispatch_due(now=ny_open)) == 1


@pytest.mark.parametrize("change", ["spring", "fall"])
def test_a_denver_dealership_calls_on_its_dst_change_day_by_the_days_own_clock(twilio, dst, make_customer, book,
                                                                                change):  # fmt: skip
    eve = getattr(dst, change)  # the Sunday of the change; the appointment is on Monday
    appointment = book(make_customer("Dora", "(303) 555-0140"), local(eve + timedelta(days=1), "09:00"))
    plan_reminders(eve + timedelta(days=1), now=local(eve, "06:00"))
    row = ReminderCall.objects.get(appointment=appointment)
    assert dispatch_due(now=local(eve, "07:59")) == []
    assert refreshed(row).next_attempt_at == local(eve, "08:00")
    assert local(eve, "08:00").utcoffset() != local(eve, "00:00").utcoffset()  # the change happened at 02:00
    assert dispatch_due(now=local(eve, "08:00")) == [row.pk]
    place(row.pk, now=local(eve, "08:00"))
    assert len(twilio.creates) == 1


def test_a_denver_row_is_too_late_at_21_on_the_change_day(twilio, dst, make_customer, book):
    eve = dst.spring
    appointment = book(make_customer("Dora", "(303) 555-0140"), local(eve + timedelta(days=1), "09:00"))
    plan_reminders(eve + timedelta(days=1), now=local(eve, "06:00"))
    dispatch_due(now=local(eve, "21:00"))
    assert ReminderCall.objects.get(appointment=appointment).skip_reason == SkipReason.WINDOW_CLOSED


# --------------------------------------------------------------------------- re-checked at claim time


def test_a_customer_who_opted_out_since_planning_is_skipped(twilio, reminder, evening):
    crm_services.customer_set_consent(customer=reminder.appointment.customer, kind=ConsentKind.DO_NOT_CALL,
                                      value=True, source=ConsentSource.INBOUND_CALL)  # fmt: skip
    assert dispatch_due(now=evening) == []
    assert refreshed(reminder).skip_reason == SkipReason.DO_NOT_CALL


def test_a_customer_who_withdrew_consent_since_planning_is_skipped(twilio, reminder, evening):
    crm_services.customer_set_consent(customer=reminder.appointment.customer, kind=ConsentKind.REMINDER_CALLS,
                                      value=False, source=ConsentSource.STAFF)  # fmt: skip
    dispatch_due(now=evening)
    assert refreshed(reminder).skip_reason == SkipReason.NO_CONSENT


def test_a_cancelled_appointment_is_skipped(twilio, reminder, evening, staff):
    scheduling_services.appointment_cancel(appointment=reminder.appointment, actor=staff)
    dispatch_due(now=evening)
    assert refreshed(reminder).skip_reason == SkipReason.CANCELLED


def test_an_appointment_confirmed_since_planning_is_skipped(twilio, reminder, evening, staff):
    scheduling_services.appointment_confirm(appointment=reminder.appointment, actor=staff)
    dispatch_due(now=evening)
    assert refreshed(reminder).skip_reason == SkipReason.CONFIRMED


def test_an_appointment_moved_to_another_day_since_planning_is_skipped(twilio, appointments, plan_day, staff,
                                                                        evening):  # fmt: skip
    # Planned now (the reschedule below is stamped with the real clock, so planning must come before it).
    plan_reminders(plan_day, now=timezone.now())
    row = ReminderCall.objects.get(appointment=appointments.called)
    scheduling_services.appointment_reschedule(appointment=appointments.called,
                                               start=local(plan_day + timedelta(days=1), "09:00"), actor=staff)
    dispatch_due(now=evening)
    assert refreshed(row).skip_reason == SkipReason.MOVED


def test_an_appointment_moved_within_its_day_is_still_called(twilio, appointments, plan_day, staff, evening):
    plan_reminders(plan_day, now=timezone.now())
    row = ReminderCall.objects.get(appointment=appointments.called)
    scheduling_services.appointment_reschedule(appointment=appointments.called, start=local(plan_day, "14:00"),
                                               actor=staff)  # fmt: skip
    assert dispatch_due(now=evening) == [row.pk]


def test_place_checks_again_and_gives_the_attempt_back(twilio, reminder, evening):
    """Opted out between the claim and the call: no call, and the attempt does not count."""
    dispatch_due(now=evening)
    crm_services.customer_set_consent(customer=reminder.appointment.customer, kind=ConsentKind.DO_NOT_CALL,
                                      value=True, source=ConsentSource.INBOUND_CALL)  # fmt: skip
    assert place(reminder.pk, now=evening) == "not called: do_not_call"
    row = refreshed(reminder)
    assert (row.status, row.skip_reason, row.attempts) == (ReminderStatus.SKIPPED, SkipReason.DO_NOT_CALL, 0)
    assert twilio.creates == []


# --------------------------------------------------------------------------- Twilio says no


def test_a_call_twilio_refuses_is_a_failed_attempt_retried_later(twilio, reminder, evening):
    dispatch_due(now=evening)
    twilio.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")
    assert place(reminder.pk, now=evening) == "refused by Twilio"
    row = refreshed(reminder)
    assert (row.status, row.attempts, row.next_attempt_at, row.call_sid) == (
        ReminderStatus.QUEUED, 1, evening + timedelta(minutes=90), "")
    assert "21211" in ReminderEvent.objects.filter(reminder=row).latest("pk").note


def test_a_refusal_after_the_last_retry_is_final(twilio, reminder, evening, settings):
    settings.REMINDER_MAX_RETRIES = 0
    dispatch_due(now=evening)
    twilio.fail_next(status=400, code=21215, message="Geo permissions")
    place(reminder.pk, now=evening)
    assert refreshed(reminder).status == ReminderStatus.FAILED


def test_a_server_error_leaves_the_row_for_the_repair_never_for_a_blind_retry(twilio, reminder, evening):
    dispatch_due(now=evening)
    twilio.fail_next(status=503, code=20503, message="Service Unavailable")
    assert place(reminder.pk, now=evening) == "not known: left for the repair"
    row = refreshed(reminder)
    assert (row.status, row.call_sid, row.attempts) == (ReminderStatus.DIALING, "", 1)
    assert dispatch_due(now=evening + timedelta(minutes=1)) == []  # not claimable again
    assert place(reminder.pk, now=evening) == "nothing to do"  # nor placed again by a second task
    assert len(twilio.creates) == 0


# --------------------------------------------------------------------------- the live-call cap


def test_no_more_live_calls_than_the_cap(twilio, make_customer, book, plan_day, evening, settings):
    settings.REMINDER_MAX_LIVE_CALLS = 2
    for n in range(4):
        book(make_customer(f"Cap{n}", f"(602) 555-01{20 + n}"), local(plan_day, f"{9 + n}:00"))
    plan_reminders(plan_day, now=evening)
    first = dispatch_due(now=evening)
    assert len(first) == 2
    assert dispatch_due(now=evening + timedelta(minutes=1)) == []  # two live: no room
    done = ReminderCall.objects.get(pk=first[0])
    ReminderCall.objects.filter(pk=done.pk).update(status=ReminderStatus.COMPLETED)
    assert len(dispatch_due(now=evening + timedelta(minutes=2))) == 1
    assert ReminderCall.objects.filter(status__in=[ReminderStatus.DIALING, ReminderStatus.IN_PROGRESS]).count() == 2


def test_the_limit_caps_one_run(twilio, make_customer, book, plan_day, evening):
    for n in range(3):
        book(make_customer(f"Lim{n}", f"(602) 555-01{30 + n}"), local(plan_day, f"{9 + n}:00"))
    plan_reminders(plan_day, now=evening)
    assert len(dispatch_due(now=evening, limit=2)) == 2
    assert len(dispatch_due(now=evening, limit=2)) == 1


# --------------------------------------------------------------------------- the rate limit


class SharedClock:
    """One clock for several "workers": sleeping moves it on."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(per_second: float, prefix: str, clock: SharedClock) -> CallRateLimiter:
    return CallRateLimiter(per_second, key_prefix=prefix, clock=clock, sleep=clock.sleep)


def test_two_workers_take_turns_one_slot_each():
    prefix, clock = f"test-slots-{uuid.uuid4().hex}", SharedClock(1_000_000.3)
    first, second = limiter(2, prefix, clock), limiter(2, prefix, clock)  # two workers, one Redis
    starts = [first.acquire(max_wait=10), second.acquire(max_wait=10), first.acquire(max_wait=10),
              second.acquire(max_wait=10)]  # fmt: skip
    assert starts[0] == 1_000_000.0  # the current slot was free: no wait
    assert starts[1:] == [1_000_000.5, 1_000_001.0, 1_000_001.5]  # each waits for the next free slot
    assert clock.now == 1_000_001.5


def test_a_worker_that_finds_every_slot_taken_books_nothing():
    prefix, clock = f"test-slots-{uuid.uuid4().hex}", SharedClock(2_000_000.0)
    for slot in range(2_000_000, 2_000_004):
        cache.add(f"{prefix}:{slot}", 1, timeout=60)
    assert limiter(1, prefix, clock).acquire(max_wait=3) is None
    assert clock.now == 2_000_000.0  # did not sleep
    assert limiter(1, prefix, clock).acquire(max_wait=4) == 2_000_004.0


def test_two_worker_threads_on_the_real_clock_never_share_a_slot():
    prefix, rate, per_worker = f"test-slots-{uuid.uuid4().hex}", 20, 8
    starts, returned = [], []
    barrier = threading.Barrier(2)

    def work():
        worker = CallRateLimiter(rate, key_prefix=prefix)
        barrier.wait()
        for _ in range(per_worker):
            start = worker.acquire(max_wait=5)
            returned.append(unix_time())
            starts.append(start)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert None not in starts and len(starts) == 2 * per_worker
    slots = sorted(round(start * rate) for start in starts)
    assert len(set(slots)) == len(slots)  # no slot given twice
    assert slots[-1] - slots[0] >= len(slots) - 1  # so 16 calls span at least 15 slot widths
    assert all(moment >= start for moment, start in zip(sorted(returned), sorted(starts), strict=True))


def test_place_keeps_to_the_rate_limit(twilio, make_customer, book, plan_day, evening, settings):
    settings.REMINDER_CALLS_PER_SECOND = 2
    for n in range(3):
        book(make_customer(f"Rate{n}", f"(602) 555-01{40 + n}"), local(plan_day, f"{9 + n}:00"))
    plan_reminders(plan_day, now=evening)
    arrivals = []
    twilio.on_create(lambda call: arrivals.append(monotonic()))
    for reminder_id in dispatch_due(now=evening):
        assert place(reminder_id, now=evening) == "placed"
    assert len(arrivals) == 3
    assert arrivals[2] - arrivals[0] >= 0.45  # the second and third each waited for a slot of their own


def test_no_call_slot_within_the_wait_gives_the_row_back(twilio, reminder, evening):
    prefix, clock = f"test-slots-{uuid.uuid4().hex}", SharedClock(3_000_000.0)
    for slot in range(3_000_000, 3_000_000 + 62):
        cache.add(f"{prefix}:{slot}", 1, timeout=60)
    dispatch_due(now=evening)
    assert place(reminder.pk, now=evening, limiter=limiter(1, prefix, clock)) == "back in the queue"
    row = refreshed(reminder)
    assert (row.status, row.attempts, row.next_attempt_at) == (ReminderStatus.QUEUED, 0, evening)
    assert twilio.creates == []


# --------------------------------------------------------------------------- the tasks

# (phone, its zone): at any moment at least one of these has a local time between 09:00 and 20:00.
AROUND_THE_WORLD = [("(808) 555-0150", "Pacific/Honolulu"), ("(602) 555-0151", "America/Phoenix"),
                    ("(212) 555-0152", "America/New_York"), ("+44 20 7946 0018", "Europe/London"),
                    ("+1 671 555 0153", "Pacific/Guam")]  # fmt: skip


@pytest.fixture
def callable_now(twilio, make_customer, book, plan_day) -> ReminderCall:
    """The tasks read the real clock: a row planned a minute ago for a customer whose own clock is inside the
    window right now."""
    now = timezone.now()
    phone = next(phone for phone, zone in AROUND_THE_WORLD if 9 <= now.astimezone(ZoneInfo(zone)).hour < 20)
    appointment = book(make_customer("Ola", phone), local(plan_day, "10:00"))
    plan_reminders(plan_day, now=now - timedelta(minutes=1))
    return ReminderCall.objects.get(appointment=appointment)


def test_the_dispatch_task_places_each_claimed_call_after_the_claim_commits(
        twilio, callable_now, django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert dispatch_reminder_calls.delay().get() == "1 call(s) to place"
    assert len(callbacks) == 1
    row = refreshed(callable_now)
    (create,) = twilio.creates
    assert (row.status, row.call_sid, reminder_of(create)) == (ReminderStatus.DIALING, create.sid, row.pk)


def test_the_place_task_delivered_twice_places_one_call(twilio, callable_now):
    (reminder_id,) = dispatch_due()
    first = place_reminder_call.delay(reminder_id).get()
    second = place_reminder_call.delay(reminder_id).get()
    assert (first, second) == (f"reminder {reminder_id}: placed", f"reminder {reminder_id}: nothing to do")
    assert len(twilio.creates) == 1
