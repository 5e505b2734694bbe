"""The calling window on the customer's own clock: zones from numbers, the 08:00-21:00 bound, DST and no-DST
zones, the next opening and the eve of an appointment. Pure functions: fixed instants, no database."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.window import Window, customer_zone, eve, eve_window, is_inside, next_opening, window_hours, window_on

DENVER, PHOENIX, NEW_YORK = ZoneInfo("America/Denver"), ZoneInfo("America/Phoenix"), ZoneInfo("America/New_York")
HOURS = (time(8), time(21))

# 2030's DST changes in the US: Sunday March 10 (spring forward) and Sunday November 3 (fall back).
SPRING, FALL = datetime(2030, 3, 10).date(), datetime(2030, 11, 3).date()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_dst_days_used_here_are_the_real_ones():
    assert datetime(2030, 3, 9, 12, tzinfo=DENVER).utcoffset() == timedelta(hours=-7)
    assert datetime(2030, 3, 10, 12, tzinfo=DENVER).utcoffset() == timedelta(hours=-6)
    assert datetime(2030, 11, 2, 12, tzinfo=DENVER).utcoffset() == timedelta(hours=-6)
    assert datetime(2030, 11, 3, 12, tzinfo=DENVER).utcoffset() == timedelta(hours=-7)
    assert {datetime(2030, month, 10, 12, tzinfo=PHOENIX).utcoffset() for month in range(1, 13)} == {
        timedelta(hours=-7)
    }


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+16025550100", "America/Phoenix"),  # 602: Phoenix
        ("+14805550177", "America/Phoenix"),  # 480: Phoenix's suburbs
        ("+13035550100", "America/Denver"),  # 303: Denver
        ("+12125550100", "America/New_York"),  # 212: New York
        ("+18085550100", "Pacific/Honolulu"),  # 808: Hawaii, no DST either
        ("+442079460018", "Europe/London"),  # a London landline abroad
        ("+18005550100", "America/Chicago"),  # toll-free: every North American zone -> the dealership's
        ("+19075550100", "America/Chicago"),  # Alaska: two zones -> the dealership's
        ("+15550100", "America/Chicago"),  # too short: no zone -> the dealership's
        ("", "America/Chicago"),
        ("not a number", "America/Chicago"),
    ],
)
def test_customer_zone_is_the_numbers_only_zone_or_the_dealerships(settings, phone, expected):
    settings.TIME_ZONE = "America/Chicago"
    assert customer_zone(phone).key == expected


def test_customer_zone_falls_back_to_a_given_default():
    assert customer_zone("+18005550100", default=DENVER) is DENVER


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("08:00", "21:00", (time(8), time(21))),
        ("09:30", "20:00", (time(9, 30), time(20))),  # narrower is kept
        ("07:00", "22:30", (time(8), time(21))),  # wider is cut to the legal bounds
        ("06:00", "09:00", (time(8), time(9))),
        ("20:00", "09:00", (time(20), time(20))),  # closes before it opens: empty, never "all day"
        ("21:30", "23:00", (time(21, 30), time(21, 30))),  # entirely outside the bounds: empty
        ("soon", "", (time(8), time(21))),  # unreadable: the legal bounds
    ],
)
def test_window_hours_are_never_wider_than_8_to_21(start, end, expected):
    assert window_hours(start, end) == expected


def test_window_hours_read_the_settings(settings):
    settings.REMINDER_WINDOW_START, settings.REMINDER_WINDOW_END = "10:00", "19:30"
    assert window_hours() == (time(10), time(19, 30))


@pytest.mark.parametrize(
    ("now", "zone", "inside"),
    [
        # Denver in summer (MDT, UTC-6)
        (utc(2030, 7, 15, 14, 0), DENVER, True),  # 08:00
        (utc(2030, 7, 15, 13, 59), DENVER, False),  # 07:59
        (utc(2030, 7, 16, 2, 59), DENVER, True),  # 20:59
        (utc(2030, 7, 16, 3, 0), DENVER, False),  # 21:00: the end is not inside
        # Denver in winter (MST, UTC-7): the same clock times are an hour later in UTC
        (utc(2030, 1, 15, 14, 30), DENVER, False),  # 07:30
        (utc(2030, 1, 15, 15, 0), DENVER, True),  # 08:00
        (utc(2030, 1, 16, 3, 30), DENVER, True),  # 20:30
        (utc(2030, 1, 16, 4, 0), DENVER, False),  # 21:00
        # Phoenix all year at UTC-7: in July, 14:30 UTC is 08:30 in Denver but 07:30 in Phoenix
        (utc(2030, 7, 15, 14, 30), DENVER, True),
        (utc(2030, 7, 15, 14, 30), PHOENIX, False),
        (utc(2030, 7, 15, 15, 0), PHOENIX, True),
        (utc(2030, 1, 15, 15, 0), PHOENIX, True),
        (utc(2030, 7, 16, 3, 30), PHOENIX, True),  # 20:30 in Phoenix, 21:30 in Denver
        (utc(2030, 7, 16, 3, 30), DENVER, False),
        # The DST change days themselves
        (utc(2030, 3, 10, 13, 59), DENVER, False),  # spring: 07:59 MDT
        (utc(2030, 3, 10, 14, 0), DENVER, True),  # 08:00 MDT
        (utc(2030, 3, 11, 2, 59), DENVER, True),  # 20:59 MDT
        (utc(2030, 3, 11, 3, 0), DENVER, False),  # 21:00 MDT
        (utc(2030, 11, 3, 14, 59), DENVER, False),  # fall: 07:59 MST
        (utc(2030, 11, 3, 15, 0), DENVER, True),  # 08:00 MST
        (utc(2030, 11, 4, 3, 59), DENVER, True),  # 20:59 MST
        (utc(2030, 11, 4, 4, 0), DENVER, False),  # 21:00 MST
        # A New York customer: 08:30 EST while it is 06:30 in Phoenix
        (utc(2030, 1, 15, 13, 30), NEW_YORK, True),
        (utc(2030, 1, 15, 13, 30), PHOENIX, False),
    ],
)
def test_is_inside_on_the_customers_clock(now, zone, inside):
    assert is_inside(now, zone, HOURS) is inside


def test_a_narrower_configured_window_is_kept(settings):
    settings.REMINDER_WINDOW_START, settings.REMINDER_WINDOW_END = "09:00", "20:00"
    assert not is_inside(utc(2030, 1, 15, 15, 30), PHOENIX)  # 08:30
    assert is_inside(utc(2030, 1, 15, 16, 0), PHOENIX)  # 09:00
    assert not is_inside(utc(2030, 1, 16, 3, 0), PHOENIX)  # 20:00


def test_the_window_on_dst_days_has_the_days_own_offsets():
    spring = window_on(SPRING, DENVER, HOURS)
    assert (spring.opens, spring.closes) == (utc(2030, 3, 10, 14), utc(2030, 3, 11, 3))  # 13 hours, all MDT
    fall = window_on(FALL, DENVER, HOURS)
    assert (fall.opens, fall.closes) == (utc(2030, 11, 3, 15), utc(2030, 11, 4, 4))
    day_before_spring = window_on(SPRING - timedelta(days=1), DENVER, HOURS)
    assert day_before_spring.opens == utc(2030, 3, 9, 15)  # still MST
    assert utc(2030, 3, 10, 14) in spring and utc(2030, 3, 11, 3) not in spring


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        (utc(2030, 1, 15, 14), PHOENIX, utc(2030, 1, 15, 15)),  # 07:00 -> 08:00 today
        (utc(2030, 1, 15, 18), PHOENIX, utc(2030, 1, 15, 18)),  # inside: now
        (utc(2030, 1, 16, 4), PHOENIX, utc(2030, 1, 16, 15)),  # 21:00 -> 08:00 tomorrow
        (utc(2030, 3, 10, 4, 30), DENVER, utc(2030, 3, 10, 14)),  # Sat 21:30 MST -> Sun 08:00 MDT (spring)
        (utc(2030, 11, 3, 3, 30), DENVER, utc(2030, 11, 3, 15)),  # Sat 21:30 MDT -> Sun 08:00 MST (fall)
    ],
)
def test_next_opening(now, zone, expected):
    assert next_opening(now, zone, HOURS) == expected


def test_an_empty_window_never_opens_soon():
    now = utc(2030, 1, 15, 18)
    assert next_opening(now, PHOENIX, (time(20), time(20))) >= now + timedelta(days=7)


def test_the_eve_is_the_dealerships_day_before_and_its_window_is_on_the_customers_clock(settings):
    settings.TIME_ZONE = "America/Denver"
    appointment = datetime(2030, 3, 11, 9, tzinfo=DENVER)  # Monday after the spring change
    assert eve(appointment) == SPRING
    assert eve_window(appointment, DENVER, HOURS) == Window(utc(2030, 3, 10, 14), utc(2030, 3, 11, 3))
    # A New York customer's window that evening closes at 21:00 in New York (EDT since that morning too).
    assert eve_window(appointment, NEW_YORK, HOURS).closes == utc(2030, 3, 11, 1)
    # 00:30 Denver time on the appointment's day is still the dealership's same day: the eve is the day before.
    assert eve(datetime(2030, 3, 11, 0, 30, tzinfo=DENVER)) == SPRING
