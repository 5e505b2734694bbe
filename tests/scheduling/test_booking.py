"""Booking, rescheduling and cancelling through the services, and the database's own guarantee against overlaps."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from crm.errors import ServiceError
from scheduling import services
from scheduling.actors import Actor
from scheduling.models import (
    ActorKind,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Closure,
    OpeningHours,
    Source,
    Transport,
    Weekday,
)
from scheduling.services import BookingError, SlotTakenError

pytestmark = pytest.mark.django_db

Action = AppointmentEvent.Action


@pytest.fixture
def refused(django_capture_on_commit_callbacks):
    """Run a booking that must be refused: returns the error after checking that nothing was written."""

    def check(call, code: str) -> BookingError:
        appointments_before = list(Appointment.objects.values_list("pk", "starts_at", "bay_id", "status"))
        events_before = AppointmentEvent.objects.count()
        with django_capture_on_commit_callbacks() as callbacks:
            with pytest.raises(BookingError) as caught:
                call()
        assert caught.value.code == code, caught.value.message
        # A sentence that can be read to a caller as it is.
        assert caught.value.message[0].isupper() and caught.value.message.endswith(".")
        assert "_" not in caught.value.message
        assert list(Appointment.objects.values_list("pk", "starts_at", "bay_id", "status")) == appointments_before
        assert AppointmentEvent.objects.count() == events_before
        assert callbacks == [], "nothing is mirrored to the calendar for a refused change"
        return caught.value

    return check


def _fill(book, start, bays):
    return [book(start) for _ in bays]


# --------------------------------------------------------------------------- a successful booking


def test_book_picks_a_bay_and_records_everything(
    book, bays, menu, monday, at, staff_user, django_capture_on_commit_callbacks
):
    start = at(monday, "10:00")
    with django_capture_on_commit_callbacks() as callbacks:
        appointment = book(
            start, service_types=[menu.oil, menu.rotation], transport=Transport.DROP_OFF, notes="rattle up front"
        )
    assert len(callbacks) == 1, "the calendar mirror is scheduled to run after commit"

    appointment = Appointment.objects.get(pk=appointment.pk)
    assert appointment.bay == bays[0]
    assert appointment.starts_at == start
    assert appointment.ends_at == start + timedelta(minutes=90)  # 60 + 30
    assert (appointment.during.lower, appointment.during.upper, appointment.during.bounds) == (
        start,
        start + timedelta(minutes=90),
        "[)",
    )
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.source == Source.STAFF
    assert appointment.transport == Transport.DROP_OFF
    assert appointment.notes == "rattle up front"
    assert appointment.created_by == staff_user
    assert set(appointment.service_types.all()) == {menu.oil, menu.rotation}

    event = AppointmentEvent.objects.get(appointment=appointment)
    assert (event.action, event.from_status, event.to_status) == (Action.BOOKED, "", AppointmentStatus.BOOKED)
    assert (event.actor_kind, event.actor_user, event.call_sid) == (ActorKind.STAFF, staff_user, "")
    assert event.changes["bay"] == [None, "Bay 1"]
    assert event.changes["services"] == [None, ["Oil change", "Tire rotation"]]
    assert event.changes["starts_at"] == [None, start.isoformat()]


def test_each_booking_at_the_same_time_gets_the_next_free_bay(book, bays, monday, at):
    assert [a.bay for a in _fill(book, at(monday, "10:00"), bays)] == bays


def test_the_phone_agent_books_as_itself(book, monday, at, agent):
    appointment = book(at(monday, "10:00"), actor=agent)
    assert appointment.source == Source.PHONE_AGENT
    assert appointment.created_by is None
    event = appointment.events.get()
    assert (event.actor_kind, event.actor_user, event.call_sid) == (ActorKind.PHONE_AGENT, None, agent.call_sid)
    assert event.actor == f"phone agent ({agent.call_sid})"


def test_a_booking_on_a_reminder_call_says_so(book, monday, at):
    appointment = book(at(monday, "10:00"), actor=Actor.phone_agent("CA42", reminder=True))
    assert appointment.source == Source.REMINDER_CALL


def test_a_job_across_the_fall_back_hour_lasts_its_real_length(bays, menu, book, settings):
    """01:30 on the night Denver falls back: a 30-minute job ends 30 real minutes later, not 90."""
    settings.TIME_ZONE = "America/Denver"
    OpeningHours.objects.create(weekday=Weekday.SUNDAY, opens=time(1), closes=time(4))
    denver = ZoneInfo("America/Denver")

    first = book(datetime(2027, 11, 7, 1, 30, tzinfo=denver), service_types=[menu.rotation])  # 01:30 MDT
    second = book(datetime(2027, 11, 7, 1, 30, fold=1, tzinfo=denver), service_types=[menu.rotation])  # 01:30 MST
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.starts_at, first.ends_at) == (
        datetime(2027, 11, 7, 7, 30, tzinfo=UTC),
        datetime(2027, 11, 7, 8, 0, tzinfo=UTC),
    )
    assert (second.starts_at, second.ends_at) == (
        datetime(2027, 11, 7, 8, 30, tzinfo=UTC),
        datetime(2027, 11, 7, 9, 0, tzinfo=UTC),
    )
    # An hour apart in real time, so both fit in the first bay.
    assert first.bay_id == second.bay_id == bays[0].pk


# --------------------------------------------------------------------------- every validation error


def test_vehicle_of_another_customer(book, monday, at, other_vehicle, refused):
    error = refused(lambda: book(at(monday, "10:00"), vehicle=other_vehicle), "vehicle_not_owned")
    assert error.message == "That vehicle isn't on this customer's account."
    assert isinstance(error, ServiceError)


def test_no_service(book, monday, at, refused):
    error = refused(lambda: book(at(monday, "10:00"), service_types=[]), "no_service")
    assert error.message == "Please choose at least one service."


def test_inactive_service(book, menu, monday, at, refused):
    error = refused(lambda: book(at(monday, "10:00"), service_types=[menu.oil, menu.retired]), "service_inactive")
    assert error.message == "We no longer offer Carburetor tune-up."


def test_unknown_transport(book, monday, at, refused):
    error = refused(lambda: book(at(monday, "10:00"), transport="bicycle"), "bad_transport")
    assert error.message == "Please choose waiter, drop-off, shuttle or loaner."


def test_naive_datetime(book, monday, refused):
    error = refused(lambda: book(datetime.combine(monday, time(10))), "naive_time")
    assert "time zone" in error.message


def test_time_in_the_past(book, monday, at, refused):
    a_monday_two_weeks_ago = monday - timedelta(days=14)  # inside opening hours, so only the date is wrong
    error = refused(lambda: book(at(a_monday_two_weeks_ago, "10:00")), "in_the_past")
    assert error.message == "That time has already passed."


def test_phone_agent_inside_the_lead_time_staff_allowed(book, monday, at, agent, settings, refused):
    settings.SCHEDULING_MIN_LEAD_MINUTES = 14 * 24 * 60  # two weeks: next week's Monday is too soon for callers
    start = at(monday, "10:00")
    error = refused(lambda: book(start, actor=agent), "too_soon")
    assert error.message.startswith("That's too soon for us to get ready; the earliest we can do is ")

    assert book(start).starts_at == start  # staff can
    later = at(monday + timedelta(days=14), "10:00")  # three or more weeks ahead
    assert book(later, actor=agent).starts_at == later


def test_closed_weekday(book, monday, at, refused):
    sunday = monday + timedelta(days=6)
    error = refused(lambda: book(at(sunday, "10:00")), "closed_day")
    assert error.message == "We're closed that day."


def test_closure(book, monday, at, refused):
    Closure.objects.create(date=monday, reason="Staff training")
    error = refused(lambda: book(at(monday, "10:00")), "closed_day")
    assert error.message == "We're closed that day."
    assert book(at(monday + timedelta(days=1), "10:00"))  # the day after is open


@pytest.mark.parametrize(
    ("weekday_offset", "clock"),
    [
        (0, "06:00"),  # before opening
        (0, "06:30"),  # would start before opening and end after it
        (0, "17:30"),  # 60 minutes past 18:00 closing
        (0, "18:00"),  # at closing
        (0, "20:00"),  # after closing
        (5, "13:30"),  # Saturday closes at 14:00
    ],
)
def test_outside_opening_hours(book, monday, at, refused, weekday_offset, clock):
    error = refused(lambda: book(at(monday + timedelta(days=weekday_offset), clock)), "outside_hours")
    assert "opening hours" in error.message


@pytest.mark.parametrize("clock", ["11:15", "11:45", "12:00", "12:15"])
def test_across_or_inside_the_break(book, monday, at, refused, clock):
    refused(lambda: book(at(monday, clock)), "outside_hours")


def test_the_edges_of_the_opening_windows_are_bookable(book, menu, monday, at):
    book(at(monday, "07:00"))  # opening
    book(at(monday, "11:00"))  # ends as the break starts
    book(at(monday, "12:30"))  # starts as the break ends
    book(at(monday, "17:30"), service_types=[menu.rotation])  # ends at closing
    assert Appointment.objects.count() == 4


# --------------------------------------------------------------------------- a full slot


def test_full_slot_is_refused_with_the_next_free_times(book, bays, monday, tuesday, at, refused):
    taken = at(monday, "10:00")
    _fill(book, taken, bays)
    error = refused(lambda: book(taken), "slot_taken")
    assert isinstance(error, SlotTakenError)
    assert "just taken" in error.message
    # The alternatives are free, do not overlap the taken hour, and are read out in the message.
    assert [a.start for a in error.alternatives] == [at(monday, "11:00"), at(monday, "13:00"), at(tuesday, "07:00")]
    for alternative in error.alternatives:
        assert not (alternative.start < taken + timedelta(hours=1) and taken < alternative.end)
        assert alternative.spoken() in error.message
    assert error.message == (
        f"Sorry, that time was just taken. The next openings are {error.alternatives[0].spoken()}, "
        f"{error.alternatives[1].spoken()} or {error.alternatives[2].spoken()}."
    )
    # One of them can indeed be booked.
    assert book(error.alternatives[0].start).bay == bays[0]


def test_a_partly_overlapping_job_is_refused_too(book, bays, menu, monday, at, refused):
    _fill(book, at(monday, "10:00"), bays)
    refused(lambda: book(at(monday, "09:30")), "slot_taken")  # 09:30-10:30 overlaps every bay
    assert book(at(monday, "09:30"), service_types=[menu.rotation]).bay == bays[0]  # 09:30-10:00 touches


# --------------------------------------------------------------------------- rescheduling


def test_reschedule_keeps_the_bay_when_it_is_free(book, bays, monday, at, staff):
    _, second = _fill(book, at(monday, "10:00"), bays[:2])
    assert second.bay == bays[1]
    moved = services.appointment_reschedule(appointment=second, start=at(monday, "15:00"), actor=staff)
    assert moved.bay == bays[1]  # not the first free bay, its own
    assert (moved.starts_at, moved.ends_at) == (at(monday, "15:00"), at(monday, "16:00"))


def test_reschedule_moves_to_another_bay_when_its_own_is_taken(book, bays, monday, at, staff):
    _, second = _fill(book, at(monday, "10:00"), bays[:2])
    _fill(book, at(monday, "15:00"), bays[:2])  # bays 1 and 2 are busy at 15:00
    moved = services.appointment_reschedule(appointment=second, start=at(monday, "15:00"), actor=staff)
    assert moved.bay == bays[2]
    event = moved.events.get(action=Action.RESCHEDULED)
    assert event.changes["bay"] == ["Bay 2", "Bay 3"]


def test_reschedule_over_its_own_time_is_not_blocked_by_itself(book, bays, monday, at, staff):
    mine, *_ = _fill(book, at(monday, "10:00"), bays)
    moved = services.appointment_reschedule(appointment=mine, start=at(monday, "10:30"), actor=staff)
    assert (moved.bay, moved.starts_at) == (bays[0], at(monday, "10:30"))


def test_reschedule_resets_confirmed_to_booked_and_writes_the_event(
    book, monday, tuesday, at, agent, django_capture_on_commit_callbacks
):
    appointment = book(at(monday, "10:00"))
    services.appointment_confirm(appointment=appointment, actor=agent)
    with django_capture_on_commit_callbacks() as callbacks:
        moved = services.appointment_reschedule(appointment=appointment, start=at(tuesday, "08:00"), actor=agent)
    assert len(callbacks) == 1

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert (appointment.starts_at, appointment.ends_at) == (at(tuesday, "08:00"), at(tuesday, "09:00"))
    assert moved.status == AppointmentStatus.BOOKED

    event = appointment.events.get(action=Action.RESCHEDULED)
    assert (event.from_status, event.to_status) == (AppointmentStatus.CONFIRMED, AppointmentStatus.BOOKED)
    assert (event.actor_kind, event.call_sid) == (ActorKind.PHONE_AGENT, agent.call_sid)
    assert set(event.changes) == {"starts_at", "bay"}
    assert [datetime.fromisoformat(value) for value in event.changes["starts_at"]] == [
        at(monday, "10:00"),
        at(tuesday, "08:00"),
    ]
    assert event.changes["bay"] == ["Bay 1", "Bay 1"]


def test_reschedule_with_other_services_changes_the_length(book, menu, monday, at, staff):
    appointment = book(at(monday, "10:00"))
    moved = services.appointment_reschedule(
        appointment=appointment, start=at(monday, "14:00"), actor=staff, service_types=[menu.oil, menu.rotation]
    )
    assert moved.ends_at - moved.starts_at == timedelta(minutes=90)
    assert set(Appointment.objects.get(pk=appointment.pk).service_types.all()) == {menu.oil, menu.rotation}
    event = moved.events.get(action=Action.RESCHEDULED)
    assert event.changes["services"] == [["Oil change"], ["Oil change", "Tire rotation"]]


def test_reschedule_into_a_full_slot_leaves_the_appointment_as_it_was(book, bays, monday, at, staff, refused):
    appointment = book(at(monday, "09:00"))
    services.appointment_confirm(appointment=appointment, actor=staff)
    _fill(book, at(monday, "14:00"), bays)
    error = refused(
        lambda: services.appointment_reschedule(appointment=appointment, start=at(monday, "14:00"), actor=staff),
        "slot_taken",
    )
    assert isinstance(error, SlotTakenError) and "just taken" in error.message
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.bay, appointment.status) == (
        at(monday, "09:00"),
        bays[0],
        AppointmentStatus.CONFIRMED,
    )
    assert not appointment.events.filter(action=Action.RESCHEDULED).exists()


@pytest.mark.parametrize(("day_offset", "clock", "code"), [(6, "10:00", "closed_day"), (0, "11:45", "outside_hours")])
def test_reschedule_validates_the_new_time(book, monday, at, staff, refused, day_offset, clock, code):
    appointment = book(at(monday, "09:00"))
    refused(
        lambda: services.appointment_reschedule(
            appointment=appointment, start=at(monday + timedelta(days=day_offset), clock), actor=staff
        ),
        code,
    )


def test_reschedule_refuses_an_inactive_service(book, menu, monday, at, staff, refused):
    appointment = book(at(monday, "09:00"))
    refused(
        lambda: services.appointment_reschedule(
            appointment=appointment, start=at(monday, "14:00"), actor=staff, service_types=[menu.retired]
        ),
        "service_inactive",
    )


# --------------------------------------------------------------------------- cancelling


def test_cancel_frees_the_slot_for_a_new_booking(book, bays, monday, at, staff, other_customer, other_vehicle):
    first, second, third = _fill(book, at(monday, "10:00"), bays)
    cancelled = services.appointment_cancel(appointment=second, actor=staff, note="car sold")
    assert cancelled.status == AppointmentStatus.CANCELLED
    event = second.events.get(action=Action.CANCELLED)
    assert (event.from_status, event.to_status, event.note) == (
        AppointmentStatus.BOOKED,
        AppointmentStatus.CANCELLED,
        "car sold",
    )

    again = book(at(monday, "10:00"), customer=other_customer, vehicle=other_vehicle)
    assert again.bay == bays[1]
    assert Appointment.objects.filter(starts_at=at(monday, "10:00")).count() == 4


# --------------------------------------------------------------------------- PostgreSQL's own guarantee


@pytest.fixture
def raw(bays, customer, vehicle, monday, at):
    """Create an appointment with the ORM alone, bypassing every check of the services."""

    def create(bay_index: int, start: str, end: str, status=AppointmentStatus.BOOKED) -> Appointment:
        return Appointment.objects.create(
            customer=customer,
            vehicle=vehicle,
            bay=bays[bay_index],
            starts_at=at(monday, start),
            ends_at=at(monday, end),
            status=status,
        )

    return create


def test_the_exclusion_constraint_refuses_an_overlap_in_one_bay(raw):
    raw(0, "10:00", "11:00")
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        raw(0, "10:30", "11:30")
    assert caught.value.__cause__.sqlstate == "23P01"  # exclusion_violation
    assert "appointment_no_double_booking" in str(caught.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        raw(0, "09:00", "12:00", status=AppointmentStatus.CHECKED_IN)  # contains it
    assert Appointment.objects.count() == 1


def test_back_to_back_and_other_bays_are_fine(raw):
    raw(0, "10:00", "11:00")
    raw(0, "11:00", "12:00")
    raw(0, "09:00", "10:00")
    raw(1, "10:00", "11:00")
    assert Appointment.objects.count() == 4


@pytest.mark.parametrize(
    "status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED]
)
def test_an_inactive_appointment_does_not_block_the_bay(raw, status):
    raw(0, "10:00", "11:00", status=status)
    raw(0, "10:00", "11:00")
    assert Appointment.objects.count() == 2


def test_bringing_back_a_cancelled_appointment_over_a_new_one_is_refused(raw):
    old = raw(0, "10:00", "11:00", status=AppointmentStatus.CANCELLED)
    raw(0, "10:30", "11:30")
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.filter(pk=old.pk).update(status=AppointmentStatus.BOOKED)


def test_a_deadlock_reported_by_postgresql_is_retried_not_raised(book, bays, monday, at):
    """Two inserts that check the exclusion constraint at the same instant can each wait for the other; PostgreSQL
    then stops one with "deadlock detected" (see execIndexing.c). The booking must try that bay again, not fail.

    The first insert here gets that error from a trigger; a sequence counts the attempts (sequences are not rolled
    back). Everything is undone with the test's transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE booking_attempts")
        cursor.execute(
            """
            CREATE FUNCTION first_insert_deadlocks() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('booking_attempts') = 1 THEN
                    RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        cursor.execute(
            "CREATE TRIGGER first_insert_deadlocks BEFORE INSERT ON scheduling_appointment "
            "FOR EACH ROW EXECUTE FUNCTION first_insert_deadlocks()"
        )

    appointment = book(at(monday, "10:00"))

    assert appointment.bay == bays[0]
    assert Appointment.objects.filter(pk=appointment.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM booking_attempts")
        assert cursor.fetchone()[0] == 2


@pytest.mark.django_db
def test_update_details_records_what_changed_and_refuses_bad_transport(book, monday, at, agent):
    appointment = book(at(monday, "09:00"))
    services.appointment_update_details(appointment=appointment, actor=agent, transport="shuttle")
    event = appointment.events.get(action=AppointmentEvent.Action.EDITED)
    assert event.changes == {"transport": ["waiter", "shuttle"]}
    assert event.actor_kind == "phone_agent"

    # The same values again change nothing and record nothing.
    services.appointment_update_details(appointment=appointment, actor=agent, transport="shuttle")
    assert appointment.events.filter(action=AppointmentEvent.Action.EDITED).count() == 1

    with pytest.raises(BookingError) as refused:
        services.appointment_update_details(appointment=appointment, actor=agent, transport="rocket")
    assert refused.value.code == "bad_transport"
    appointment.refresh_from_db()
    assert appointment.transport == "shuttle"
