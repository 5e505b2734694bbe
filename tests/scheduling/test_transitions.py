"""The appointment life cycle, through the services: every (status, change) pair, allowed or refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.errors import ServiceError
from scheduling import services
from scheduling.models import Appointment, AppointmentEvent, AppointmentStatus, ActorKind
from scheduling.transitions import InvalidTransition

pytestmark = pytest.mark.django_db

S = AppointmentStatus
Action = AppointmentEvent.Action

# The life cycle, written out here rather than read from the code under test.
ALLOWED = {
    (S.BOOKED, S.CONFIRMED),
    (S.BOOKED, S.CHECKED_IN),
    (S.BOOKED, S.NO_SHOW),
    (S.BOOKED, S.CANCELLED),
    (S.CONFIRMED, S.CHECKED_IN),
    (S.CONFIRMED, S.NO_SHOW),
    (S.CONFIRMED, S.CANCELLED),
    (S.CHECKED_IN, S.COMPLETED),
}

# target status -> (service, event action)
CHANGES = {
    S.CONFIRMED: (services.appointment_confirm, Action.CONFIRMED),
    S.CHECKED_IN: (services.appointment_check_in, Action.CHECKED_IN),
    S.COMPLETED: (services.appointment_complete, Action.COMPLETED),
    S.NO_SHOW: (services.appointment_mark_no_show, Action.NO_SHOW),
    S.CANCELLED: (services.appointment_cancel, Action.CANCELLED),
}

MATRIX = [(current, target) for current in S.values for target in CHANGES]


@pytest.fixture
def appointment_in(bays, menu, customer, vehicle):
    """An appointment in the given status that started an hour ago (so that a no-show is possible)."""

    def make(status: str) -> Appointment:
        start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
        appointment = Appointment.objects.create(
            customer=customer, vehicle=vehicle, bay=bays[0], starts_at=start, ends_at=start + timedelta(hours=1),
            status=status,
        )  # fmt: skip
        appointment.service_types.set([menu.oil])
        return appointment

    return make


def test_matrix_covers_every_status_and_every_change():
    assert len(MATRIX) == 6 * 5
    assert {current for current, _ in MATRIX} == set(S.values)


@pytest.mark.parametrize(("current", "target"), MATRIX, ids=[f"{c}->{t}" for c, t in MATRIX])
def test_transition(current, target, appointment_in, staff, staff_user, django_capture_on_commit_callbacks):
    appointment = appointment_in(current)
    service, action = CHANGES[target]

    if (current, target) in ALLOWED:
        with django_capture_on_commit_callbacks() as callbacks:
            returned = service(appointment=appointment, actor=staff, note="customer called")
        assert returned.pk == appointment.pk
        assert returned.status == target
        appointment.refresh_from_db()
        assert appointment.status == target
        event = AppointmentEvent.objects.get(appointment=appointment)
        assert (event.action, event.from_status, event.to_status) == (action, current, target)
        assert (event.actor_kind, event.actor_user, event.note) == (ActorKind.STAFF, staff_user, "customer called")
        assert len(callbacks) == 1, "the calendar mirror is scheduled after commit"
    else:
        with django_capture_on_commit_callbacks() as callbacks:
            with pytest.raises(InvalidTransition) as caught:
                service(appointment=appointment, actor=staff)
        assert caught.value.code == "invalid_transition"
        assert isinstance(caught.value, ServiceError)
        appointment.refresh_from_db()
        assert appointment.status == current
        assert not AppointmentEvent.objects.filter(appointment=appointment).exists()
        assert callbacks == []


def test_the_full_life_cycle_of_a_booking(book, monday, at, staff, agent):
    appointment = book(at(monday, "09:00"))
    appointment = services.appointment_confirm(appointment=appointment, actor=agent)
    appointment = services.appointment_check_in(appointment=appointment, actor=staff)
    appointment = services.appointment_complete(appointment=appointment, actor=staff)

    assert Appointment.objects.get(pk=appointment.pk).status == S.COMPLETED
    history = list(
        AppointmentEvent.objects.filter(appointment=appointment)
        .order_by("at", "id")
        .values_list("action", "from_status", "to_status", "actor_kind", "call_sid")
    )
    assert history == [
        (Action.BOOKED, "", S.BOOKED, ActorKind.STAFF, ""),
        (Action.CONFIRMED, S.BOOKED, S.CONFIRMED, ActorKind.PHONE_AGENT, agent.call_sid),
        (Action.CHECKED_IN, S.CONFIRMED, S.CHECKED_IN, ActorKind.STAFF, ""),
        (Action.COMPLETED, S.CHECKED_IN, S.COMPLETED, ActorKind.STAFF, ""),
    ]


def test_a_stale_object_is_checked_against_the_database(appointment_in, staff):
    """The service re-reads the status: an object loaded before a cancellation cannot confirm it."""
    appointment = appointment_in(S.BOOKED)
    stale = Appointment.objects.get(pk=appointment.pk)
    services.appointment_cancel(appointment=appointment, actor=staff)
    assert stale.status == S.BOOKED
    with pytest.raises(InvalidTransition):
        services.appointment_confirm(appointment=stale, actor=staff)
    assert Appointment.objects.get(pk=appointment.pk).status == S.CANCELLED


@pytest.mark.parametrize(
    ("current", "change", "sentence"),
    [
        (S.COMPLETED, S.CANCELLED, "That appointment is already completed, so it can't be cancelled now."),
        (S.CANCELLED, S.CONFIRMED, "That appointment is already cancelled, so it can't be confirmed now."),
        (S.BOOKED, S.COMPLETED, "That appointment is booked, so it can't be completed now."),
        (S.CHECKED_IN, S.CHECKED_IN, "That appointment is already checked in, so it can't be checked in now."),
    ],
)
def test_invalid_transition_says_why_in_a_spoken_sentence(current, change, sentence, appointment_in, staff):
    appointment = appointment_in(current)
    service, _ = CHANGES[change]
    with pytest.raises(InvalidTransition) as caught:
        service(appointment=appointment, actor=staff)
    assert caught.value.message == sentence
    assert str(caught.value) == sentence


def test_no_show_is_refused_before_the_appointment_starts(book, monday, at, staff):
    appointment = book(at(monday, "09:00"))
    with pytest.raises(services.BookingError) as caught:
        services.appointment_mark_no_show(appointment=appointment, actor=staff)
    assert caught.value.code == "not_started"
    assert "hasn't started" in caught.value.message
    appointment.refresh_from_db()
    assert appointment.status == S.BOOKED
    assert list(appointment.events.values_list("action", flat=True)) == [Action.BOOKED]


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.COMPLETED, S.NO_SHOW, S.CANCELLED])
def test_reschedule_is_refused_once_the_appointment_started_or_ended(
    status, appointment_in, monday, at, staff, django_capture_on_commit_callbacks
):
    appointment = appointment_in(status)
    before = (appointment.starts_at, appointment.ends_at, appointment.bay_id)
    # A time that is free and inside opening hours: only the status stands in the way.
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(InvalidTransition) as caught:
            services.appointment_reschedule(appointment=appointment, start=at(monday, "09:00"), actor=staff)
    assert caught.value.message.endswith("so it can't be moved.")
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.ends_at, appointment.bay_id, appointment.status) == (*before, status)
    assert not appointment.events.exists()
    assert callbacks == []


@pytest.mark.parametrize("status", [S.BOOKED, S.CONFIRMED])
def test_reschedule_is_allowed_before_the_appointment_starts(status, appointment_in, monday, at, staff):
    appointment = appointment_in(status)
    moved = services.appointment_reschedule(appointment=appointment, start=at(monday, "09:00"), actor=staff)
    assert moved.starts_at == at(monday, "09:00")
    assert moved.status == S.BOOKED
