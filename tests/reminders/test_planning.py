"""Planning: which appointments get a reminder row, queued or skipped with which reason, exactly once.

Fixtures (tests/reminders/conftest.py): appointments on ``plan_day`` for maria (called), dev (no consent),
ann (do-not-call), lee (unusable number) and sam (already confirmed); ``evening`` is 17:00 the day before.
"""

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from reminders.models import ReminderCall, ReminderEvent, ReminderKind, ReminderStatus, SkipReason
from reminders.planning import plan_missing, plan_reminders
from scheduling import services as scheduling_services
from scheduling.models import ActorKind
from standins._background import WAIT_SECONDS
from tests.reminders.conftest import store_phone_as_is

pytestmark = pytest.mark.django_db


def rows_by_appointment() -> dict[int, ReminderCall]:
    return {row.appointment_id: row for row in ReminderCall.objects.all()}


# --------------------------------------------------------------------------- the rules


def test_each_appointment_gets_one_row_queued_or_skipped_with_its_reason(planned, appointments, evening):
    rows = rows_by_appointment()
    assert len(rows) == 5
    called = rows[appointments.called.pk]
    assert (called.kind, called.status, called.skip_reason) == (ReminderKind.DAY_BEFORE, ReminderStatus.QUEUED, "")
    assert called.phone == "+16025550100"
    assert called.next_attempt_at == evening
    assert called.attempts == 0
    expected = {
        appointments.no_consent.pk: SkipReason.NO_CONSENT,
        appointments.do_not_call.pk: SkipReason.DO_NOT_CALL,
        appointments.no_number.pk: SkipReason.NO_NUMBER,
        appointments.confirmed.pk: SkipReason.CONFIRMED,
    }
    assert {pk: (rows[pk].status, rows[pk].skip_reason) for pk in expected} == {
        pk: (ReminderStatus.SKIPPED, reason) for pk, reason in expected.items()
    }
    assert all(rows[pk].next_attempt_at is None for pk in expected)
    assert rows[appointments.no_number.pk].phone == ""


def test_the_plan_reports_each_decision_with_a_masked_number(planned, appointments):
    assert (len(planned.queued), len(planned.skipped), planned.created, planned.existing) == (1, 4, 5, 0)
    [queued] = planned.queued
    assert (queued.appointment_id, queued.customer, queued.phone, queued.reason, queued.new) == (
        appointments.called.pk, "Maria Lopez", "***0100", "", True
    )
    assert planned.skipped_by_reason == {
        SkipReason.NO_CONSENT: 1, SkipReason.DO_NOT_CALL: 1, SkipReason.NO_NUMBER: 1, SkipReason.CONFIRMED: 1
    }
    assert all("555" not in entry.phone for entry in planned.queued + planned.skipped)


def test_do_not_call_wins_over_every_other_reason(make_customer, book, plan_day, at, evening):
    # No consent, do-not-call and already confirmed at once: the customer's "never call" is what is recorded.
    customer = make_customer("Ida", "(602) 555-0110", consent=False, do_not_call=True)
    book(customer, at(plan_day, "09:00"), confirmed=True)
    plan_reminders(plan_day, now=evening)
    assert ReminderCall.objects.get().skip_reason == SkipReason.DO_NOT_CALL


def test_a_number_stored_in_another_spelling_is_dialled_in_e164(make_customer, book, plan_day, at, evening):
    customer = make_customer("Joe", "(602) 555-0120")
    book(customer, at(plan_day, "09:00"))
    store_phone_as_is(customer, "602.555.0120")
    plan_reminders(plan_day, now=evening)
    assert ReminderCall.objects.get().phone == "+16025550120"


def test_only_booked_and_confirmed_appointments_of_that_day_get_rows(
    appointments, people, book, make_customer, plan_day, at, evening, staff
):
    scheduling_services.appointment_cancel(appointment=appointments.no_consent, actor=staff)
    book(people.maria, at(plan_day + timedelta(days=1), "09:00"))  # the day after
    book(people.maria, at(plan_day - timedelta(days=1), "09:00"))  # the day before
    plan_reminders(plan_day, now=evening)
    assert set(rows_by_appointment()) == {
        appointments.called.pk, appointments.do_not_call.pk, appointments.no_number.pk, appointments.confirmed.pk
    }


def test_every_created_row_has_its_event_by_the_system(planned, appointments, evening):
    events = {event.reminder.appointment_id: event for event in ReminderEvent.objects.select_related("reminder")}
    assert len(events) == ReminderEvent.objects.count() == 5
    called = events[appointments.called.pk]
    assert (called.from_status, called.to_status, called.note) == ("", ReminderStatus.QUEUED, "planned")
    skipped = events[appointments.do_not_call.pk]
    assert (skipped.to_status, skipped.note) == (ReminderStatus.SKIPPED, SkipReason.DO_NOT_CALL.label)
    assert {(event.actor_kind, event.actor_user_id, event.at) for event in events.values()} == {
        (ActorKind.SYSTEM, None, evening)
    }


# --------------------------------------------------------------------------- exactly once


def test_running_again_creates_nothing_and_leaves_rows_as_they_are(planned, appointments, people, plan_day, evening):
    maria = ReminderCall.objects.get(appointment=appointments.called)
    ReminderCall.objects.filter(pk=maria.pk).update(status=ReminderStatus.COMPLETED)  # called meanwhile
    before = ReminderEvent.objects.count()

    again = plan_reminders(plan_day, now=evening + timedelta(hours=1))

    assert (again.created, again.existing, again.total) == (0, 5, 5)
    assert not any(entry.new for entry in again.queued + again.skipped)
    assert ReminderCall.objects.count() == 5
    assert ReminderEvent.objects.count() == before
    maria.refresh_from_db()
    assert (maria.status, maria.next_attempt_at) == (ReminderStatus.COMPLETED, evening)


@pytest.mark.django_db(transaction=True)
def test_a_planner_that_finds_its_rows_inserted_meanwhile_adds_nothing(appointments, plan_day, evening):
    """Two planners at once (Beat's run and a dispatcher's plan_missing): the second one read the day before
    the first committed, so it tries the same inserts, waits on the first one's rows, then must skip them."""
    first_inserted, commit_first, second = threading.Event(), threading.Event(), {}

    def first_planner():
        try:
            with transaction.atomic():
                plan_reminders(plan_day, now=evening)
                first_inserted.set()
                commit_first.wait(WAIT_SECONDS)
        finally:
            connection.close()

    def second_planner():
        try:
            second["plan"] = plan_reminders(plan_day, now=evening + timedelta(seconds=1))
        finally:
            connection.close()

    threads = [threading.Thread(target=first_planner), threading.Thread(target=second_planner)]
    threads[0].start()
    assert first_inserted.wait(WAIT_SECONDS)
    threads[1].start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not sessions_waiting_on_a_lock():
        assert time.monotonic() < deadline, "the second planner never waited on the first one's rows"
        time.sleep(0.02)
    commit_first.set()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    plan = second["plan"]
    assert (plan.created, plan.existing, plan.total) == (0, 5, 5)
    assert ReminderCall.objects.count() == ReminderEvent.objects.count() == 5
    assert set(ReminderEvent.objects.values_list("at", flat=True)) == {evening}


def sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")  # fmt: skip
        return cursor.fetchone()[0]


def test_a_dry_run_writes_nothing_but_decides_the_same(appointments, plan_day, evening):
    dry = plan_reminders(plan_day, now=evening, dry_run=True)
    assert not ReminderCall.objects.exists() and not ReminderEvent.objects.exists()
    assert (dry.dry_run, dry.created, len(dry.queued), len(dry.skipped)) == (True, 0, 1, 4)
    real = plan_reminders(plan_day, now=evening)
    assert [(e.appointment_id, e.reason) for e in dry.queued + dry.skipped] == [
        (e.appointment_id, e.reason) for e in real.queued + real.skipped
    ]


def test_an_appointment_booked_after_planning_gets_its_row_from_plan_missing(
    planned, make_customer, book, plan_day, at, evening
):
    late = book(make_customer("Kai", "(602) 555-0130"), at(plan_day, "15:00"))
    later = evening + timedelta(minutes=30)

    plan = plan_missing(now=later)

    assert plan.day == plan_day
    assert [(entry.appointment_id, entry.new) for entry in plan.queued] == [(late.pk, True)]
    assert (plan.skipped, plan.created) == ([], 1)
    row = ReminderCall.objects.get(appointment=late)
    assert (row.status, row.next_attempt_at) == (ReminderStatus.QUEUED, later)
    assert row.events.get().note == "planned"
    assert plan_missing(now=later).created == 0
    assert ReminderCall.objects.count() == 6


def test_plan_missing_is_two_queries_when_nothing_is_missing(planned, evening, django_assert_num_queries):
    # One for appointments with no row, one for rows planned for another day (a moved appointment).
    with django_assert_num_queries(2):
        plan = plan_missing(now=evening + timedelta(minutes=1))
    assert plan.total == 0


def test_plan_missing_plans_only_tomorrow(appointments, evening):
    plan_missing(now=evening - timedelta(days=1))  # two days before plan_day
    assert not ReminderCall.objects.exists()
    plan_missing(now=evening)
    assert ReminderCall.objects.count() == 5


# --------------------------------------------------------------------------- the day, in the dealership's zone


def test_the_day_runs_from_local_midnight_to_local_midnight(people, place, plan_day, at, evening):
    inside = [place(people.maria, at(plan_day, "00:00")), place(people.maria, at(plan_day, "23:30"))]
    place(people.maria, at(plan_day, "00:00") - timedelta(minutes=1))
    place(people.maria, at(plan_day + timedelta(days=1), "00:00"))
    plan_reminders(plan_day, now=evening)
    assert set(rows_by_appointment()) == {appointment.pk for appointment in inside}


@pytest.mark.parametrize("change", ["spring", "fall"])
def test_a_dst_change_day_has_its_own_length(dst, change, people, place, at):
    """23 hours in spring, 25 in the fall: planning a fixed 24 hours from midnight would take in the next
    day's 00:30 in spring and miss this day's 23:30 in the fall."""
    day = getattr(dst, change)
    inside = [place(people.maria, at(day, "00:30")), place(people.maria, at(day, "23:30"))]
    place(people.maria, at(day - timedelta(days=1), "23:30"))
    place(people.maria, at(day + timedelta(days=1), "00:30"))
    evening = at(day - timedelta(days=1), "17:00")
    plan = plan_reminders(day, now=evening)
    assert sorted(entry.appointment_id for entry in plan.queued) == sorted(a.pk for a in inside)
    assert set(rows_by_appointment()) == {appointment.pk for appointment in inside}


# --------------------------------------------------------------------------- manage.py plan_reminders


def run(*args: str) -> str:
    out = StringIO()
    call_command("plan_reminders", *args, stdout=out)
    return out.getvalue()


def test_the_dry_run_command_prints_who_would_be_called_and_why_not(appointments, plan_day):
    output = run("--date", plan_day.isoformat(), "--dry-run")
    assert not ReminderCall.objects.exists()
    lines = output.splitlines()
    assert any("Maria Lopez" in line and "***0100" in line and "09:00" in line for line in lines)
    assert any("Dev Patel" in line and SkipReason.NO_CONSENT.label in line for line in lines)
    assert any("Ann Kim" in line and SkipReason.DO_NOT_CALL.label in line for line in lines)
    assert any("Lee Wong" in line and SkipReason.NO_NUMBER.label in line for line in lines)
    assert any("Sam Ortiz" in line and SkipReason.CONFIRMED.label in line for line in lines)
    assert "555-0100" not in output and "5550100" not in output
    assert "dry run" in output.lower()


def test_the_command_creates_the_rows_once(appointments, plan_day):
    first = run("--date", plan_day.isoformat())
    assert ReminderCall.objects.count() == 5
    assert "5 new" in first
    second = run("--date", plan_day.isoformat())
    assert ReminderCall.objects.count() == 5
    assert "0 new" in second and "5 already planned" in second


def test_the_command_plans_tomorrow_by_default(people, place, at):
    from reminders.planning import tomorrow

    place(people.maria, at(tomorrow(), "10:00"))
    place(people.dev, at(tomorrow() + timedelta(days=1), "10:00"))
    output = run("--dry-run")
    assert tomorrow().isoformat() in output
    assert "Maria Lopez" in output and "Dev Patel" not in output


def test_the_command_refuses_a_malformed_date(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("--date", "03/12/2027")


def test_an_appointment_moved_to_another_day_is_planned_again_for_that_day(planned, appointments, plan_day, evening):
    reminder = ReminderCall.objects.get(appointment=appointments.called)
    assert reminder.planned_for == plan_day
    ReminderCall.objects.filter(pk=reminder.pk).update(status=ReminderStatus.COMPLETED, attempts=1, call_sid="CA1",
                                                       result="rescheduled")  # fmt: skip
    new_day = plan_day + timedelta(days=2)
    moved = appointments.called
    moved.starts_at += timedelta(days=2)
    moved.ends_at += timedelta(days=2)
    moved.save(update_fields=["starts_at", "ends_at"])

    later = evening + timedelta(days=2)
    plan = plan_reminders(new_day, now=later)
    reminder.refresh_from_db()
    assert plan.replanned == 1
    assert (reminder.status, reminder.planned_for, reminder.attempts, reminder.call_sid, reminder.result) == (
        ReminderStatus.QUEUED, new_day, 0, "", "")
    assert reminder.next_attempt_at == later
    assert reminder.events.filter(note__startswith="planned again", to_status=ReminderStatus.QUEUED).count() == 1
    assert plan_reminders(new_day, now=later).replanned == 0, "once"


def test_a_moved_appointment_whose_reminder_call_is_under_way_is_left_to_finish(planned, appointments, plan_day,
                                                                               evening):  # fmt: skip
    reminder = ReminderCall.objects.get(appointment=appointments.called)
    ReminderCall.objects.filter(pk=reminder.pk).update(status=ReminderStatus.IN_PROGRESS)
    moved = appointments.called
    moved.starts_at += timedelta(days=2)
    moved.ends_at += timedelta(days=2)
    moved.save(update_fields=["starts_at", "ends_at"])
    assert plan_reminders(plan_day + timedelta(days=2), now=evening).replanned == 0
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.IN_PROGRESS and reminder.planned_for == plan_day
