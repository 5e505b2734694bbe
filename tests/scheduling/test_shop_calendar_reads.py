"""The reads on every availability search and booking: the shop's calendar in one query, shared within one unit
of work (``shared_shop_calendar``) and never beyond it, and the bays' busy times and free bays written as SQL."""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling import services
from scheduling.models import Appointment, Bay, Closure, OpeningBreak, OpeningHours, Weekday
from scheduling.selectors import (
    BusyTimes,
    ShopCalendar,
    available_slots,
    shared_shop_calendar,
    shop_calendar,
)
from tests.scheduling.conftest import local_clock

pytestmark = pytest.mark.django_db


def calendar_reads(queries: CaptureQueriesContext) -> int:
    return sum(OpeningHours._meta.db_table in query["sql"] for query in queries.captured_queries)


def clocks_on(day, service_types) -> list[str]:
    return [local_clock(s.start) for s in available_slots(service_types=service_types, first_day=day, last_day=day)]


# --------------------------------------------------------------------------- one query, the same answers


def test_the_shop_calendar_is_one_query(shop, monday, django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar = ShopCalendar(monday, monday + timedelta(days=6))
    assert sorted(calendar.hours) == [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY,
                                      Weekday.FRIDAY, Weekday.SATURDAY]  # fmt: skip
    assert calendar.hours[Weekday.MONDAY].breaks == ((time(12), time(12, 30)),)
    assert calendar.hours[Weekday.SATURDAY].breaks == ()


def test_breaks_count_whatever_order_they_were_entered_in(bays, menu, shop, monday, at):
    OpeningBreak.objects.create(hours=shop[Weekday.MONDAY], starts=time(9, 30), ends=time(9, 45))

    working = ShopCalendar(monday, monday).working_day(monday)

    assert [(local_clock(s), local_clock(e)) for s, e in working.windows] == [
        ("07:00", "09:30"), ("09:45", "12:00"), ("12:30", "18:00")]  # fmt: skip
    starts = clocks_on(monday, [menu.rotation])
    assert "09:00" in starts and "09:15" not in starts and "09:45" in starts


def test_closures_are_loaded_for_the_dates_asked_only(shop, monday, tuesday):
    Closure.objects.create(date=monday - timedelta(days=1), reason="Before")
    Closure.objects.create(date=tuesday, reason="Inventory")
    Closure.objects.create(date=tuesday + timedelta(days=30), reason="Later")

    assert ShopCalendar(monday, tuesday).closures == {tuesday}
    assert ShopCalendar(monday, None).closures == {tuesday, tuesday + timedelta(days=30)}
    assert ShopCalendar(monday, tuesday).working_day(tuesday) is None


def test_a_week_without_hours_has_no_working_day(db, monday):
    calendar = ShopCalendar(monday, monday + timedelta(days=6))
    assert calendar.hours == {}
    assert all(calendar.working_day(monday + timedelta(days=n)) is None for n in range(7))


# --------------------------------------------------------------------------- shared within one unit of work


def test_inside_a_shared_block_the_calendar_is_read_once(shop, monday, tuesday):
    with CaptureQueriesContext(connection) as queries, shared_shop_calendar():
        first = shop_calendar(monday, monday)
        later = shop_calendar(tuesday, tuesday + timedelta(days=40))
    assert first is later
    assert calendar_reads(queries) == 1


def test_outside_a_shared_block_every_check_reads_the_calendar(shop, monday):
    with CaptureQueriesContext(connection) as queries:
        shop_calendar(monday, monday)
        shop_calendar(monday, monday)
    assert calendar_reads(queries) == 2


def test_a_date_before_the_shared_read_is_read_again(shop, monday):
    with CaptureQueriesContext(connection) as queries, shared_shop_calendar():
        shop_calendar(monday, monday)
        earlier = shop_calendar(monday - timedelta(days=1), monday)
    assert earlier.covers(monday - timedelta(days=1), monday)
    assert calendar_reads(queries) == 2


def test_a_shared_read_ends_with_its_block(bays, menu, shop, monday):
    with shared_shop_calendar():
        assert "07:00" in clocks_on(monday, [menu.oil])
    OpeningHours.objects.filter(weekday=Weekday.MONDAY).update(opens=time(9))
    Closure.objects.create(date=monday + timedelta(days=1), reason="Inventory")

    with shared_shop_calendar():
        assert clocks_on(monday, [menu.oil])[0] == "09:00"
        assert clocks_on(monday + timedelta(days=1), [menu.oil]) == []
    assert clocks_on(monday, [menu.oil])[0] == "09:00"


def test_the_booking_service_checks_the_hours_with_the_blocks_read(book, shop, monday, at):
    with CaptureQueriesContext(connection) as queries, shared_shop_calendar():
        shop_calendar(monday, monday)  # as the agent's offered-time check reads it
        book(at(monday, "10:00"))
    assert calendar_reads(queries) == 1


def test_blocks_nest_each_with_its_own_read(shop, monday):
    with CaptureQueriesContext(connection) as queries, shared_shop_calendar():
        outer = shop_calendar(monday, monday)
        with shared_shop_calendar():
            assert shop_calendar(monday, monday) is not outer
        assert shop_calendar(monday, monday) is outer
    assert calendar_reads(queries) == 2


# --------------------------------------------------------------------------- busy times and free bays (SQL)


def test_busy_times_are_the_active_bays_by_name_with_their_active_appointments(book, bays, monday, at, staff):
    kept, cancelled, in_a_closed_bay = (book(at(monday, "10:00")) for _ in bays)  # Bays 1, 2 and 3
    services.appointment_cancel(appointment=cancelled, actor=staff)
    Bay.objects.filter(pk=bays[2].pk).update(active=False)
    Bay.objects.create(name="Bay 0")
    book(at(monday, "15:00"))  # outside the window asked for

    busy = BusyTimes(at(monday, "09:00"), at(monday, "12:00"))

    assert busy.bay_ids == list(Bay.objects.filter(active=True).order_by("name").values_list("pk", flat=True))
    assert busy.per_bay == {bays[0].pk: [(kept.starts_at, kept.ends_at)]}
    assert in_a_closed_bay.bay_id not in busy.bay_ids


def test_busy_times_leave_out_the_appointment_being_moved(book, bays, monday, at):
    moving = book(at(monday, "10:00"))
    staying = book(at(monday, "10:30"))

    busy = BusyTimes(at(monday, "09:00"), at(monday, "12:00"), exclude_appointment_id=moving.pk)

    assert busy.per_bay == {staying.bay_id: [(staying.starts_at, staying.ends_at)]}
    assert busy.free_bays(at(monday, "10:00"), at(monday, "11:00")) == (bays[0].pk, bays[2].pk)


def test_free_bays_are_the_active_ones_without_an_overlap_by_name(book, bays, monday, at, staff):
    first = book(at(monday, "10:00"))
    cancelled = book(at(monday, "10:00"))
    services.appointment_cancel(appointment=cancelled, actor=staff)
    Bay.objects.filter(pk=bays[2].pk).update(active=False)
    spare = Bay.objects.create(name="Bay 0")

    start, end = at(monday, "10:30"), at(monday, "11:30")
    assert services._free_bays(start, end, None) == [spare, bays[1]]
    assert services._free_bays(start, end, first.pk) == [spare, bays[0], bays[1]]
    assert services._free_bays(at(monday, "11:00"), at(monday, "12:00"), None) == [spare, bays[0], bays[1]]


def test_a_booking_never_lands_in_an_inactive_bay(book, bays, monday, at):
    Bay.objects.filter(pk__in=[bays[0].pk, bays[1].pk]).update(active=False)

    booked = book(at(monday, "10:00"))

    assert booked.bay_id == bays[2].pk
    with pytest.raises(services.SlotTakenError):
        book(at(monday, "10:00"))
    assert Appointment.objects.filter(bay__active=False).count() == 0
