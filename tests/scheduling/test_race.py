"""Many callers booking the same slot at once: exactly as many win as there are free bays, the rest are told why.

These tests commit for real (transaction=True): each thread has its own connection and its own transaction,
as concurrent requests would.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from crm import services as crm_services
from scheduling import services
from scheduling.actors import Actor
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentEvent, Bay
from scheduling.services import SlotTakenError

pytestmark = pytest.mark.django_db(transaction=True)

OVERLAPPING_ACTIVE_PAIRS = """
    SELECT count(*)
    FROM scheduling_appointment a
    JOIN scheduling_appointment b ON a.bay_id = b.bay_id AND a.id < b.id AND a.during && b.during
    WHERE a.status = ANY(%s) AND b.status = ANY(%s)
"""


def _callers(count: int):
    """``count`` customers, each with their own vehicle."""
    people = []
    for n in range(count):
        customer = crm_services.customer_create(first_name=f"Racer{n}", phone=f"(602) 555-{200 + n:04d}")
        people.append((customer, crm_services.vehicle_create(customer=customer, make="Ford", model="F-150")))
    return people


def _race(people, service_types, start):
    """Every caller books ``start`` at the same moment; returns (winners, refusals, other errors)."""
    barrier = threading.Barrier(len(people))
    winners, refusals, others = [], [], []
    lock = threading.Lock()

    def attempt(n, customer, vehicle):
        try:
            barrier.wait(timeout=10)
            appointment = services.appointment_book(
                customer=customer,
                vehicle=vehicle,
                service_types=service_types,
                start=start,
                actor=Actor.phone_agent(f"CA-race-{n}"),
            )
            with lock:
                winners.append(appointment)
        except SlotTakenError as error:
            with lock:
                refusals.append(error)
        except BaseException as error:  # anything else is a failure of the test, reported below
            with lock:
                others.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n, c, v)) for n, (c, v) in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a booking thread hung"
    return winners, refusals, others


def _overlapping_active_pairs() -> int:
    statuses = [str(s) for s in ACTIVE_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPPING_ACTIVE_PAIRS, [statuses, statuses])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("free_bays", "racers"), [(3, 30), (2, 20)])
def test_exactly_as_many_bookings_as_free_bays(bays, menu, monday, at, free_bays, racers):
    Bay.objects.filter(pk__in=[bay.pk for bay in bays[free_bays:]]).update(active=False)
    people = _callers(racers)
    start = at(monday, "10:00")

    winners, refusals, others = _race(people, [menu.oil], start)

    assert others == [], "every loser gets SlotTakenError, never another exception"
    assert len(winners) == free_bays
    assert len(refusals) == racers - free_bays
    assert {w.bay_id for w in winners} == {bay.pk for bay in bays[:free_bays]}
    for refusal in refusals:
        assert "just taken" in refusal.message
        assert refusal.alternatives, "a refusal offers other times"
        assert all(alt.start >= start + timedelta(hours=1) for alt in refusal.alternatives)

    # What the database holds afterwards.
    booked = Appointment.objects.filter(starts_at=start, status__in=ACTIVE_STATUSES)
    assert booked.count() == free_bays
    assert {a.customer_id for a in booked} == {w.customer_id for w in winners}
    assert AppointmentEvent.objects.filter(action=AppointmentEvent.Action.BOOKED).count() == free_bays
    assert _overlapping_active_pairs() == 0


@pytest.mark.django_db(transaction=False)  # the DROP below is rolled back with the test's transaction
def test_the_overlap_query_finds_an_overlap(bays, customer, vehicle, monday, at):
    """The check above can fail: with the constraint gone, two overlapping active rows in one bay count as one pair."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE scheduling_appointment DROP CONSTRAINT appointment_no_double_booking")
    for offset in (0, 30):
        Appointment.objects.create(
            customer=customer,
            vehicle=vehicle,
            bay=bays[0],
            starts_at=at(monday, "10:00") + timedelta(minutes=offset),
            ends_at=at(monday, "11:00") + timedelta(minutes=offset),
        )
    assert _overlapping_active_pairs() == 1
