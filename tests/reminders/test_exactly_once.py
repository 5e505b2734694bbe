"""Exactly one call per reminder: two dispatchers at once (real PostgreSQL row locks, in threads), a place task
delivered twice, a worker killed before or while asking Twilio, and the repair that asks Twilio before any retry.

A killed worker leaves one of three states, each made here the way it happens:
- claimed, Twilio never asked: ``dispatch_due`` alone;
- asked, Twilio's answer lost after it created the call: ``place`` with a short timeout against a stand-in that
  answers late (the call exists, the row has no CallSid);
- asked, Twilio never got the request: ``place`` while the stand-in fails (no call, no CallSid).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone

from reminders.dispatch import apply_call_status, dispatch_due, place, repair_stuck
from reminders.models import ReminderCall, ReminderEvent, ReminderResult, ReminderStatus
from reminders.planning import plan_reminders
from reminders.tasks import repair_stuck_reminder_calls
from standins._background import WAIT_SECONDS, wait_until
from tests.reminders import test_dispatch as dispatch_tests
from tests.reminders.conftest import local
from tests.reminders.test_dispatch import AROUND_THE_WORLD, OUR_NUMBER, refreshed, reminder_of
from voice.models import Call, Purpose
from voice.providers.twilio import TwilioCalls

pytestmark = pytest.mark.django_db

twilio = dispatch_tests.twilio  # the Twilio stand-in with the settings on it (a fixture)

STUCK = timedelta(minutes=6)  # past REMINDER_STUCK_DIALING_MINUTES (5)


def run_in_threads(*targets) -> list:
    """Run each target in a thread of its own (own database connection), all released at once; their results."""
    barrier, results, errors = threading.Barrier(len(targets)), [None] * len(targets), []

    def run(index, target):
        try:
            barrier.wait(WAIT_SECONDS)
            results[index] = target()
        except BaseException as exc:  # surfaced in the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, target)) for n, target in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 2)
    assert not errors, errors
    return results


def as_if_created_at(server, call_sid: str, moment: datetime) -> None:
    """The stand-in stamps calls with the real clock; these tests run on the plan day's evening."""
    call = server.calls[call_sid]
    call.created = moment.astimezone(UTC).replace(microsecond=0)
    if call.start_time is not None:
        call.start_time = call.created


def late_answers(server, seconds: float = 1.0) -> TwilioCalls:
    """A client that gives up after 0.3 s, and a stand-in that creates the call but answers after ``seconds``:
    the create went through, its answer is lost (as when the worker dies waiting for it)."""
    server.on_create(lambda call: time.sleep(seconds))
    return TwilioCalls(timeout=0.3)


@pytest.fixture
def six(twilio, make_customer, book, plan_day, evening) -> list[int]:
    """Six customers with an appointment each, planned: six reminder rows due at ``evening``."""
    for n in range(6):
        book(make_customer(f"Six{n}", f"(602) 555-01{60 + n}"), local(plan_day, f"{9 + n}:00"))
    plan_reminders(plan_day, now=evening)
    return sorted(ReminderCall.objects.filter(status=ReminderStatus.QUEUED).values_list("pk", flat=True))


# --------------------------------------------------------------------------- two dispatchers


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_claim_disjoint_rows_and_place_each_call_once(twilio, six, evening):
    def dispatcher():
        claimed = dispatch_due(now=evening, limit=3)
        for reminder_id in claimed:
            place(reminder_id, now=evening)
        return claimed

    first, second = run_in_threads(dispatcher, dispatcher)
    assert len(first) == len(second) == 3
    assert sorted(first + second) == six
    assert sorted(reminder_of(create) for create in twilio.creates) == six
    assert ReminderCall.objects.filter(status=ReminderStatus.DIALING).exclude(call_sid="").count() == 6


@pytest.mark.django_db(transaction=True)
def test_two_workers_placing_every_row_at_once_still_place_each_call_once(twilio, six, evening):
    """Every place task delivered to both workers: each row is asked for by one of them only."""
    assert sorted(dispatch_due(now=evening)) == six

    def worker():
        return [place(reminder_id, now=evening) for reminder_id in six]

    first, second = run_in_threads(worker, worker)
    assert sorted(first + second).count("placed") == 6
    assert sorted(reminder_of(create) for create in twilio.creates) == six


@pytest.mark.django_db(transaction=True)
def test_a_row_another_session_holds_is_skipped_not_waited_for(twilio, six, evening):
    held, taken, release = six[0], threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            ReminderCall.objects.select_for_update().get(pk=held)
            taken.set()
            release.wait(WAIT_SECONDS)
        connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert taken.wait(WAIT_SECONDS)
        began = time.monotonic()
        claimed = dispatch_due(now=evening)
        assert time.monotonic() - began < WAIT_SECONDS / 2
        assert sorted(claimed) == six[1:]
    finally:
        release.set()
        thread.join(WAIT_SECONDS)
    assert dispatch_due(now=evening) == [held]


# --------------------------------------------------------------------------- a task delivered twice


@pytest.mark.django_db(transaction=True)
def test_the_same_place_task_twice_at_once_places_one_call(twilio, reminder, evening):
    dispatch_due(now=evening)
    twilio.on_create(lambda call: time.sleep(0.3))  # a slow Twilio: the second task arrives mid-create
    outcomes = run_in_threads(lambda: place(reminder.pk, now=evening), lambda: place(reminder.pk, now=evening))
    assert sorted(outcomes) == ["nothing to do", "placed"]
    assert len(twilio.creates) == 1


def test_the_same_place_task_again_later_places_nothing(twilio, reminder, evening):
    dispatch_due(now=evening)
    assert place(reminder.pk, now=evening) == "placed"
    assert place(reminder.pk, now=evening) == "nothing to do"
    assert len(twilio.creates) == 1


# --------------------------------------------------------------------------- a killed worker


def test_claimed_but_never_asked_goes_back_to_the_queue_and_is_called_once(twilio, reminder, evening):
    dispatch_due(now=evening)  # ... and the worker dies before its place task runs
    assert repair_stuck(now=evening + timedelta(minutes=4)) == {}  # not stuck yet
    assert repair_stuck(now=evening + STUCK) == {"back in the queue": 1}
    row = refreshed(reminder)
    assert (row.status, row.attempts, row.next_attempt_at, row.dialing_since) == (
        ReminderStatus.QUEUED, 0, evening + STUCK, None)
    assert dispatch_due(now=evening + STUCK) == [row.pk]
    assert place(row.pk, now=evening + STUCK) == "placed"
    assert len(twilio.creates) == 1 and refreshed(row).attempts == 1


def test_a_lost_create_answer_is_never_dialled_blindly_and_the_repair_finds_the_call(twilio, reminder, evening):
    dispatch_due(now=evening)
    assert place(reminder.pk, now=evening, twilio=late_answers(twilio)) == "not known: left for the repair"
    wait_until(lambda: len(twilio.creates) == 1)
    (create,) = twilio.creates  # Twilio did create it
    row = refreshed(reminder)
    assert (row.status, row.call_sid, row.next_attempt_at) == (ReminderStatus.DIALING, "", None)

    assert place(row.pk, now=evening) == "nothing to do"  # the task again: no second call
    assert dispatch_due(now=evening + timedelta(minutes=1)) == []
    as_if_created_at(twilio, create.sid, evening + timedelta(seconds=1))
    assert repair_stuck(now=evening + STUCK) == {"Twilio says queued": 1}
    row = refreshed(row)
    assert (row.status, row.call_sid, row.attempts) == (ReminderStatus.DIALING, create.sid, 1)
    call = Call.objects.get(call_sid=create.sid)
    assert (row.call, call.purpose, call.appointment_id) == (call, Purpose.REMINDER, row.appointment_id)
    assert ReminderEvent.objects.filter(reminder=row, call_sid=create.sid, note="call found by the repair").exists()

    twilio.set_status(create.sid, "in-progress")
    twilio.set_status(create.sid, "completed")
    as_if_created_at(twilio, create.sid, evening + timedelta(seconds=1))
    assert repair_stuck(now=evening + STUCK * 2) == {"Twilio says completed": 1}
    row = refreshed(row)
    assert (row.status, row.result) == (ReminderStatus.COMPLETED, ReminderResult.NO_RESPONSE)
    assert len(twilio.creates) == 1


def test_a_call_twilio_placed_after_a_lost_answer_that_ended_unanswered_is_retried_later(twilio, reminder, evening):
    dispatch_due(now=evening)
    place(reminder.pk, now=evening, twilio=late_answers(twilio))
    wait_until(lambda: len(twilio.creates) == 1)
    (create,) = twilio.creates
    twilio.set_status(create.sid, "no-answer")
    as_if_created_at(twilio, create.sid, evening + timedelta(seconds=1))
    repair_stuck(now=evening + STUCK)  # queued calls and calls not yet started are both found
    row = refreshed(reminder)
    assert (row.status, row.call_sid, row.next_attempt_at) == (
        ReminderStatus.QUEUED, create.sid, evening + STUCK + timedelta(minutes=90))


def test_asked_but_twilio_never_got_it_goes_back_to_the_queue_after_asking(twilio, reminder, evening):
    dispatch_due(now=evening)
    twilio.fail_next(status=502, code=20502, message="Bad Gateway")
    assert place(reminder.pk, now=evening) == "not known: left for the repair"
    assert place(reminder.pk, now=evening) == "nothing to do"
    requests_before = len(twilio.requests)
    assert repair_stuck(now=evening + STUCK) == {"back in the queue": 1}
    listed = [path for method, path, _ in twilio.requests[requests_before:] if method == "GET"]
    assert listed and all(path.endswith("/Calls.json") for path in listed)  # Twilio was asked first
    row = refreshed(reminder)
    assert (row.status, row.attempts) == (ReminderStatus.QUEUED, 0)
    dispatch_due(now=evening + STUCK)
    assert place(row.pk, now=evening + STUCK) == "placed"
    assert len(twilio.creates) == 1


def test_while_twilio_cannot_be_asked_the_row_stays_as_it_is(twilio, reminder, evening):
    dispatch_due(now=evening)
    twilio.fail_next(status=502, code=20502, message="Bad Gateway")
    place(reminder.pk, now=evening)
    twilio.fail_next(status=500)
    assert repair_stuck(now=evening + STUCK) == {"Twilio not reachable": 1}
    row = refreshed(reminder)
    assert (row.status, row.call_sid) == (ReminderStatus.DIALING, "")
    assert twilio.creates == []


def test_the_status_callback_brings_the_callsid_of_a_lost_answer_before_the_repair(twilio, reminder, evening):
    dispatch_due(now=evening)
    place(reminder.pk, now=evening, twilio=late_answers(twilio))
    wait_until(lambda: len(twilio.creates) == 1)
    (create,) = twilio.creates
    apply_call_status(reminder.pk, call_sid=create.sid, status="initiated", now=evening + timedelta(seconds=2))
    row = refreshed(reminder)
    assert (row.status, row.call_sid) == (ReminderStatus.DIALING, create.sid)
    assert Call.objects.get(call_sid=create.sid).appointment_id == row.appointment_id
    apply_call_status(reminder.pk, call_sid=create.sid, status="in-progress", now=evening + timedelta(seconds=9))
    assert refreshed(row).status == ReminderStatus.IN_PROGRESS


def test_another_appointments_call_to_the_same_number_is_not_taken_for_this_one(twilio, reminder, book, plan_day,
                                                                                  evening):  # fmt: skip
    """Maria has two appointments tomorrow: two rows, one number. The second row's worker died mid-create with
    no call made; the first row's call to the same number, at the same time, is not the second's."""
    second = book(reminder.appointment.customer, local(plan_day, "15:00"))
    plan_reminders(plan_day, now=evening)
    other = ReminderCall.objects.get(appointment=second)
    assert sorted(dispatch_due(now=evening)) == sorted([reminder.pk, other.pk])
    assert place(reminder.pk, now=evening) == "placed"
    twilio.fail_next(status=502, code=20502, message="Bad Gateway")
    place(other.pk, now=evening)
    (create,) = twilio.creates
    as_if_created_at(twilio, create.sid, evening + timedelta(seconds=1))
    assert repair_stuck(now=evening + STUCK) == {"Twilio says queued": 1, "back in the queue": 1}
    other = refreshed(other)
    assert (other.status, other.call_sid) == (ReminderStatus.QUEUED, "")


def test_a_call_from_an_earlier_day_is_not_taken_for_this_attempt(twilio, reminder, evening):
    old = twilio.make_client().calls.create(to=reminder.phone, from_=OUR_NUMBER, twiml="<Response/>")
    twilio.set_status(old.sid, "in-progress")
    twilio.set_status(old.sid, "completed")
    as_if_created_at(twilio, old.sid, evening - timedelta(days=2))
    dispatch_due(now=evening)
    assert repair_stuck(now=evening + STUCK) == {"back in the queue": 1}


# --------------------------------------------------------------------------- the repair of known calls


@pytest.mark.parametrize(("twilio_status", "expected"), [
    ("completed", ReminderStatus.COMPLETED), ("busy", ReminderStatus.QUEUED), ("in-progress",
                                                                                ReminderStatus.IN_PROGRESS),
    ("ringing", ReminderStatus.DIALING),
])  # fmt: skip
def test_a_row_stuck_with_its_callsid_takes_twilios_status(twilio, reminder, evening, twilio_status, expected):
    dispatch_due(now=evening)
    place(reminder.pk, now=evening)
    sid = refreshed(reminder).call_sid
    if twilio_status == "completed":
        twilio.set_status(sid, "in-progress")
    twilio.set_status(sid, twilio_status)
    assert repair_stuck(now=evening + STUCK) == {f"Twilio says {twilio_status}": 1}
    assert refreshed(reminder).status == expected
    assert len(twilio.creates) == 1


def test_a_row_in_progress_long_after_any_call_could_end_is_settled(twilio, reminder, evening):
    """The completed callback was lost: the row would hold a live-call place for ever."""
    dispatch_due(now=evening)
    place(reminder.pk, now=evening)
    sid = refreshed(reminder).call_sid
    apply_call_status(reminder.pk, call_sid=sid, status="in-progress", now=evening + timedelta(seconds=10))
    twilio.set_status(sid, "in-progress")
    twilio.set_status(sid, "completed")
    assert repair_stuck(now=evening + STUCK) == {}  # a call may still be going on
    assert repair_stuck(now=evening + STUCK + timedelta(seconds=325)) == {"Twilio says completed": 1}
    assert refreshed(reminder).status == ReminderStatus.COMPLETED


def test_the_repair_task_runs_on_the_real_clock(twilio, make_customer, book, plan_day):
    """A row claimed ten minutes ago whose worker died: the task (eager here) gives it back to the queue."""
    now = timezone.now()
    phone = next(phone for phone, zone in AROUND_THE_WORLD if 9 <= now.astimezone(ZoneInfo(zone)).hour < 20)
    appointment = book(make_customer("Ola", phone), local(plan_day, "10:00"))
    plan_reminders(plan_day, now=now - timedelta(minutes=20))
    claimed = dispatch_due(now=now - timedelta(minutes=10))
    assert len(claimed) == 1
    assert repair_stuck_reminder_calls.delay().get() == "1 back in the queue"
    assert ReminderCall.objects.get(appointment=appointment).status == ReminderStatus.QUEUED


# --------------------------------------------------------------------------- asking Twilio


def test_listing_a_numbers_calls_by_start_day_or_most_recent_first(twilio, settings):
    client, calls = twilio.make_client(), TwilioCalls()
    started = client.calls.create(to="+16025550100", from_=OUR_NUMBER, twiml="<Response/>")
    twilio.set_status(started.sid, "in-progress")
    unstarted = client.calls.create(to="+16025550100", from_=OUR_NUMBER, twiml="<Response/>")
    twilio.set_status(unstarted.sid, "no-answer")
    client.calls.create(to="+16025550100", from_="+16025559999", twiml="<Response/>")  # another caller
    client.calls.create(to="+16025550101", from_=OUR_NUMBER, twiml="<Response/>")  # another number
    today = datetime.now(UTC).date()

    by_day = calls.calls_to("+16025550100", from_=OUR_NUMBER, since=today)
    assert [call.sid for call in by_day] == [started.sid]  # the unstarted one has no start time
    recent = calls.calls_to("+16025550100", from_=OUR_NUMBER)
    assert [call.sid for call in recent] == [unstarted.sid, started.sid]  # newest first
    assert (recent[0].status, recent[0].direction, recent[0].from_) == ("no-answer", "outbound-api", OUR_NUMBER)
    assert calls.calls_to("+16025550100", from_=OUR_NUMBER, since=today + timedelta(days=1)) == []
    assert calls.fetch_call(started.sid).status == "in-progress"
