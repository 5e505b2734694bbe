"""Availability: the grid, opening hours, breaks, closures, lead time, bays, and days with a DST change."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from scheduling.models import Bay, Closure, OpeningHours, Weekday
from scheduling.selectors import Slot, available_slots, next_available_slots, spoken_datetime
from tests.scheduling.conftest import local_clock

pytestmark = pytest.mark.django_db


def clocks(first: str, last: str, step: int) -> list[str]:
    """Wall-clock "HH:MM" labels from ``first`` to ``last`` inclusive, every ``step`` minutes."""
    start = datetime.combine(date(2000, 1, 1), time.fromisoformat(first))
    stop = datetime.combine(date(2000, 1, 1), time.fromisoformat(last))
    labels = []
    while start <= stop:
        labels.append(f"{start:%H:%M}")
        start += timedelta(minutes=step)
    return labels


def slot_clocks(slots: list[Slot]) -> list[str]:
    return [local_clock(slot.start) for slot in slots]


def slots_on(day: date, service_types, **kwargs) -> list[Slot]:
    kwargs.setdefault("shop_busy", [])
    return available_slots(service_types=service_types, first_day=day, last_day=day, **kwargs)


# --------------------------------------------------------------------------- the grid and the day's shape


def test_fifteen_minute_grid(bays, menu, monday):
    slots = slots_on(monday, [menu.oil])
    # 60 minutes: the morning ends at the 12:00 break, the afternoon at 18:00 closing.
    assert slot_clocks(slots) == clocks("07:00", "11:00", 15) + clocks("12:30", "17:00", 15)
    assert all(slot.end - slot.start == timedelta(minutes=60) for slot in slots)
    assert all(slot.bay_ids == tuple(bay.pk for bay in bays) for slot in slots)


def test_thirty_minute_grid(bays, menu, monday, settings):
    settings.SCHEDULING_SLOT_MINUTES = 30
    assert slot_clocks(slots_on(monday, [menu.oil])) == clocks("07:00", "11:00", 30) + clocks("12:30", "17:00", 30)


def test_the_grid_is_anchored_at_opening_time_not_at_the_end_of_the_break(bays, menu, monday, settings):
    settings.SCHEDULING_SLOT_MINUTES = 60
    # The break ends at 12:30, off an hourly grid counted from 07:00: the afternoon starts at 13:00.
    assert slot_clocks(slots_on(monday, [menu.oil])) == clocks("07:00", "11:00", 60) + clocks("13:00", "17:00", 60)


def test_first_and_last_slot_of_a_day(bays, menu, monday):
    slots = slots_on(monday, [menu.rotation])  # 30 minutes
    assert slot_clocks(slots)[0] == "07:00"
    assert slot_clocks(slots)[-1] == "17:30"  # ends exactly at closing
    assert "11:30" in slot_clocks(slots)  # ends exactly when the break starts
    assert "11:45" not in slot_clocks(slots)
    assert "12:30" in slot_clocks(slots)  # starts exactly when the break ends


@pytest.mark.parametrize("clock", ["06:45", "11:15", "11:30", "11:45", "12:00", "12:15", "17:15", "17:30"])
def test_an_hour_long_job_never_runs_into_the_break_or_past_closing(bays, menu, monday, clock):
    assert clock not in slot_clocks(slots_on(monday, [menu.oil]))


def test_saturday_has_its_own_hours_and_sunday_is_closed(bays, menu, monday):
    saturday, sunday = monday + timedelta(days=5), monday + timedelta(days=6)
    assert slot_clocks(slots_on(saturday, [menu.oil])) == clocks("08:00", "13:00", 15)
    assert slots_on(sunday, [menu.oil]) == []


def test_a_closure_day_has_no_slots(bays, menu, monday, tuesday):
    Closure.objects.create(date=monday, reason="Inventory")
    slots = available_slots(service_types=[menu.oil], first_day=monday, last_day=tuesday, shop_busy=[])
    assert slots
    assert {slot.local_start().date() for slot in slots} == {tuesday}


def test_multi_service_duration_is_the_sum(bays, menu, monday):
    slots = slots_on(monday, [menu.oil, menu.rotation])  # 90 minutes
    assert slot_clocks(slots) == clocks("07:00", "10:30", 15) + clocks("12:30", "16:30", 15)
    assert all(slot.end - slot.start == timedelta(minutes=90) for slot in slots)


def test_no_services_means_no_slots(bays, menu, monday):
    assert slots_on(monday, []) == []


def test_busy_time_on_the_shop_calendar_blocks_every_bay(bays, menu, monday, at):
    slots = slots_on(monday, [menu.oil], shop_busy=[(at(monday, "09:00"), at(monday, "10:00"))])
    labels = slot_clocks(slots)
    assert "08:00" in labels and "10:00" in labels
    assert not {"08:15", "08:45", "09:00", "09:45"} & set(labels)


# --------------------------------------------------------------------------- the clock


def test_slots_in_the_past_and_inside_the_lead_time_are_left_out(bays, menu, monday, at, settings):
    now = at(monday, "09:05")
    # Lead time 60 minutes: the first start on the grid at or after 10:05.
    assert slot_clocks(slots_on(monday, [menu.oil], now=now))[0] == "10:15"

    settings.SCHEDULING_MIN_LEAD_MINUTES = 0
    assert slot_clocks(slots_on(monday, [menu.oil], now=now))[0] == "09:15"

    settings.SCHEDULING_MIN_LEAD_MINUTES = 180
    assert slot_clocks(slots_on(monday, [menu.oil], now=now))[0] == "12:30"


def test_a_day_that_is_over_has_no_slots(bays, menu, monday, tuesday, at):
    now = at(monday, "17:30")
    assert slots_on(monday, [menu.oil], now=now) == []
    assert slot_clocks(slots_on(tuesday, [menu.oil], now=now))[0] == "07:00"
    assert slots_on(monday, [menu.oil], now=at(tuesday, "08:00")) == []


def test_after_is_a_lower_bound_too(bays, menu, monday, at):
    slots = slots_on(monday, [menu.oil], after=at(monday, "14:10"))
    assert slot_clocks(slots) == clocks("14:15", "17:00", 15)


# --------------------------------------------------------------------------- bays


def test_three_bays_taken_remove_the_slot_two_bays_taken_leave_the_free_bay(book, bays, menu, monday, at):
    book(at(monday, "10:00"))
    book(at(monday, "10:00"))
    slot = {local_clock(s.start): s for s in slots_on(monday, [menu.oil])}["10:00"]
    assert slot.bay_ids == (bays[2].pk,)

    book(at(monday, "10:00"))
    labels = slot_clocks(slots_on(monday, [menu.oil]))
    # Every start whose hour overlaps 10:00-11:00 is gone; 09:00 and 11:00 touch it and stay.
    assert not {"09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"} & set(labels)
    assert {"09:00", "11:00"} <= set(labels)


def test_back_to_back_an_appointment_ending_at_ten_does_not_block_ten(book, bays, menu, monday, at):
    for _ in bays:
        book(at(monday, "09:00"))
    slot = {local_clock(s.start): s for s in slots_on(monday, [menu.oil])}["10:00"]
    assert slot.bay_ids == tuple(bay.pk for bay in bays)


def test_an_inactive_bay_is_not_capacity(book, bays, menu, monday, at):
    Bay.objects.filter(pk=bays[2].pk).update(active=False)
    book(at(monday, "10:00"))
    book(at(monday, "10:00"))
    assert "10:00" not in slot_clocks(slots_on(monday, [menu.oil]))


def test_the_appointment_being_moved_does_not_block_itself(book, bays, menu, monday, at):
    appointments = [book(at(monday, "10:00")) for _ in bays]
    assert "10:00" not in slot_clocks(slots_on(monday, [menu.oil]))
    slots = slots_on(monday, [menu.oil], exclude_appointment_id=appointments[1].pk)
    assert {local_clock(s.start): s for s in slots}["10:00"].bay_ids == (bays[1].pk,)


def test_cancelled_appointments_free_their_bay(book, bays, menu, monday, at, staff):
    from scheduling.services import appointment_cancel

    appointments = [book(at(monday, "10:00")) for _ in bays]
    appointment_cancel(appointment=appointments[0], actor=staff)
    slot = {local_clock(s.start): s for s in slots_on(monday, [menu.oil])}["10:00"]
    assert slot.bay_ids == (bays[0].pk,)


# --------------------------------------------------------------------------- time zones and DST


def _open_sunday_small_hours():
    """Sunday 01:00-04:00: the hours in which America/Denver changes its clocks (at 02:00)."""
    OpeningHours.objects.create(weekday=Weekday.SUNDAY, opens=time(1), closes=time(4))


BEFORE_2027 = datetime(2027, 1, 4, tzinfo=UTC)  # "now" for the 2027 dates below


def _utc(slots: list[Slot]) -> list[datetime]:
    return [slot.start.astimezone(UTC) for slot in slots]


def test_spring_forward_in_denver_has_one_hour_less(bays, menu, settings):
    settings.TIME_ZONE = "America/Denver"
    settings.SCHEDULING_SLOT_MINUTES = 30
    _open_sunday_small_hours()
    spring = date(2027, 3, 14)  # 02:00 MST -> 03:00 MDT
    assert ZoneInfo("America/Denver").utcoffset(datetime(2027, 3, 13, 12)) != ZoneInfo("America/Denver").utcoffset(
        datetime(2027, 3, 15, 12)
    )

    slots = slots_on(spring, [menu.rotation], now=BEFORE_2027)
    # 01:00 MST is 08:00 UTC; 02:00-03:00 does not exist: 3 wall-clock hours are 2 real hours, 4 half hours.
    assert _utc(slots) == [datetime(2027, 3, 14, h, m, tzinfo=UTC) for h, m in ((8, 0), (8, 30), (9, 0), (9, 30))]
    assert slot_clocks(slots) == ["01:00", "01:30", "03:00", "03:30"]

    ordinary_sunday = slots_on(date(2027, 3, 7), [menu.rotation], now=BEFORE_2027)
    assert len(ordinary_sunday) == 6


def test_fall_back_in_denver_has_one_hour_more(bays, menu, settings):
    settings.TIME_ZONE = "America/Denver"
    settings.SCHEDULING_SLOT_MINUTES = 30
    _open_sunday_small_hours()
    fall = date(2027, 11, 7)  # 02:00 MDT -> 01:00 MST

    slots = slots_on(fall, [menu.rotation], now=BEFORE_2027)
    # 01:00 MDT is 07:00 UTC, 04:00 MST is 11:00 UTC: 4 real hours, 8 half hours, 01:00 and 01:30 twice.
    assert _utc(slots) == [datetime(2027, 11, 7, 7, 0, tzinfo=UTC) + timedelta(minutes=30 * n) for n in range(8)]
    assert slot_clocks(slots) == ["01:00", "01:30", "01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)


def test_opening_time_follows_the_wall_clock_across_the_dst_change_in_denver(bays, menu, settings):
    settings.TIME_ZONE = "America/Denver"
    before, after = date(2027, 3, 8), date(2027, 3, 15)  # the Mondays around spring forward
    assert slots_on(before, [menu.oil], now=BEFORE_2027)[0].start == datetime(2027, 3, 8, 14, tzinfo=UTC)  # MST
    assert slots_on(after, [menu.oil], now=BEFORE_2027)[0].start == datetime(2027, 3, 15, 13, tzinfo=UTC)  # MDT
    # Both days still have the same wall-clock shape.
    assert slot_clocks(slots_on(before, [menu.oil], now=BEFORE_2027)) == slot_clocks(
        slots_on(after, [menu.oil], now=BEFORE_2027)
    )


def test_phoenix_has_no_dst(bays, menu, settings):
    settings.SCHEDULING_SLOT_MINUTES = 30
    assert settings.TIME_ZONE == "America/Phoenix"
    _open_sunday_small_hours()
    for sunday in (date(2027, 3, 14), date(2027, 11, 7)):
        slots = slots_on(sunday, [menu.rotation], now=BEFORE_2027)
        # Always UTC-7: 01:00 local is 08:00 UTC, and three hours hold six half hours.
        eight_utc = datetime.combine(sunday, time(8), tzinfo=UTC)
        assert _utc(slots) == [eight_utc + timedelta(minutes=30 * n) for n in range(6)]
    assert slots_on(date(2027, 7, 5), [menu.oil], now=BEFORE_2027)[0].start == datetime(2027, 7, 5, 14, tzinfo=UTC)


def test_the_same_hours_are_different_instants_in_another_zone(bays, menu, monday, settings):
    phoenix = slots_on(monday, [menu.oil])[0].start
    settings.TIME_ZONE = "America/New_York"
    new_york = slots_on(monday, [menu.oil])[0].start
    assert local_clock(new_york) == "07:00"
    assert phoenix - new_york in (timedelta(hours=2), timedelta(hours=3))


# --------------------------------------------------------------------------- what the agent offers


def test_next_options_after_tuesday_two_pm(bays, menu, tuesday, at):
    wednesday = tuesday + timedelta(days=1)
    options = next_available_slots(service_types=[menu.oil], after=at(tuesday, "14:00"), count=3)
    # At most two a day, the second at least two hours after the first.
    assert [o.start for o in options] == [at(tuesday, "14:00"), at(tuesday, "16:00"), at(wednesday, "07:00")]


def test_next_options_skip_taken_times(book, bays, menu, tuesday, at):
    for _ in bays:
        book(at(tuesday, "14:00"))
    options = next_available_slots(service_types=[menu.oil], after=at(tuesday, "13:30"), count=2, spread=False)
    # 13:30 to 14:45 would overlap the 14:00 bookings; 15:00 is the first free start.
    assert [o.start for o in options] == [at(tuesday, "15:00"), at(tuesday, "15:15")]


def test_next_options_roll_over_to_the_next_open_day(bays, menu, monday, at):
    friday = monday + timedelta(days=4)
    next_monday = monday + timedelta(days=7)
    options = next_available_slots(service_types=[menu.oil], after=at(friday, "17:30"), count=3)
    # Saturday 08:00-14:00, Sunday closed.
    assert [o.start for o in options] == [
        at(friday + timedelta(days=1), "08:00"),
        at(friday + timedelta(days=1), "10:00"),
        at(next_monday, "07:00"),
    ]


def test_next_options_never_offer_the_past_nor_inside_the_lead_time(bays, menu):
    long_ago = datetime(2020, 1, 7, 14, tzinfo=UTC)
    earliest = timezone.now() + timedelta(minutes=60)
    options = next_available_slots(service_types=[menu.oil], after=long_ago, count=3)
    assert len(options) == 3
    assert all(o.start >= earliest for o in options)


def test_spoken_slot_reads_like_a_person_would_say_it(settings):
    # 21:30 UTC is 2:30 PM in Phoenix.
    slot = Slot(start=datetime(2026, 3, 3, 21, 30, tzinfo=UTC), end=datetime(2026, 3, 3, 22, 30, tzinfo=UTC))
    assert slot.spoken(today=date(2026, 2, 20)) == "Tuesday, March 3rd at 2:30 PM"
    morning = Slot(start=datetime(2026, 3, 3, 16, 0, tzinfo=UTC), end=datetime(2026, 3, 3, 17, 0, tzinfo=UTC))
    assert morning.spoken(today=date(2026, 3, 2)) == "tomorrow at 9 AM"
    assert morning.spoken(today=date(2026, 3, 3)) == "today at 9 AM"


@pytest.mark.parametrize(
    ("day", "expected"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st"),
     (22, "22nd"), (23, "23rd"), (31, "31st")],
)  # fmt: skip
def test_spoken_ordinals(day, expected):
    moment = datetime(2026, 12, day, 19, 0, tzinfo=UTC)  # noon in Phoenix
    assert spoken_datetime(moment, today=date(2026, 11, 1)).endswith(f"December {expected} at 12 PM")


def test_spoken_time_is_in_the_dealership_zone(settings):
    moment = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
    assert spoken_datetime(moment, today=date(2026, 6, 1)) == "Wednesday, July 1st at 8 AM"  # Phoenix, UTC-7
    settings.TIME_ZONE = "America/Denver"
    assert spoken_datetime(moment, today=date(2026, 6, 1)) == "Wednesday, July 1st at 9 AM"  # MDT, UTC-6
