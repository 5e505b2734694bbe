"""The calling window: when a reminder call may ring, on the customer's own clock.

Automated calls ring only 08:00-21:00 where the customer is (narrower if REMINDER_WINDOW_START/END say so,
never wider). Where the customer is comes from their number: a number with one time zone (an area code)
gives it; one with none or several (toll-free, mobile ranges spread over a country) falls back to the
dealership's zone, whose customers are mostly local.

A day-before reminder belongs to the eve of its appointment: the dealership's calendar day before it. Its
last chance is the end of the window that evening, on the customer's clock.

Pure functions of their arguments and the settings; all datetimes aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from phonenumbers import timezone as phone_zones

from scheduling.selectors import dealership_zone

# The legal outer bounds (TCPA): no automated call before 8 in the morning or from 9 in the evening.
EARLIEST = time(8)
LATEST = time(21)


@dataclass(frozen=True)
class Window:
    """[opens, closes) as aware instants."""

    opens: datetime
    closes: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.opens <= moment < self.closes


def _clock(text: str, fallback: time) -> time:
    try:
        return time.fromisoformat((text or "").strip())
    except ValueError:
        return fallback


def window_hours(start: str | None = None, end: str | None = None) -> tuple[time, time]:
    """The configured window, clamped to 08:00-21:00. A window that closes before it opens is empty
    (start == end): a misconfiguration must mean "do not call", never "call at any hour"."""
    start_text = settings.REMINDER_WINDOW_START if start is None else start
    end_text = settings.REMINDER_WINDOW_END if end is None else end
    opens = max(_clock(start_text, EARLIEST), EARLIEST)
    closes = min(_clock(end_text, LATEST), LATEST)
    return (opens, closes) if opens < closes else (opens, opens)


def customer_zone(phone: str, *, default: ZoneInfo | None = None) -> ZoneInfo:
    """The zone of ``phone`` (E.164) when its number names exactly one, else ``default`` (the dealership's)."""
    fallback = default or dealership_zone()
    try:
        parsed = phonenumbers.parse(phone or "", None)
    except phonenumbers.NumberParseException:
        return fallback
    zones = [name for name in phone_zones.time_zones_for_number(parsed) if name != phone_zones.UNKNOWN_TIMEZONE]
    if len(zones) != 1:
        return fallback
    try:
        return ZoneInfo(zones[0])
    except (ZoneInfoNotFoundError, ValueError):  # a zone this system's tz database does not have
        return fallback


def window_on(day: date, zone: ZoneInfo, hours: tuple[time, time] | None = None) -> Window:
    """The window of calendar ``day`` on the clock of ``zone`` (its own UTC offset that day, DST included)."""
    opens, closes = hours or window_hours()
    return Window(datetime.combine(day, opens, tzinfo=zone), datetime.combine(day, closes, tzinfo=zone))


def is_inside(now: datetime, zone: ZoneInfo, hours: tuple[time, time] | None = None) -> bool:
    """Whether ``now`` is inside the window on the clock of ``zone``."""
    return now in window_on(now.astimezone(zone).date(), zone, hours)


def eve(appointment_start: datetime) -> date:
    """The dealership's calendar day before the appointment: the day of its reminder call."""
    return appointment_start.astimezone(dealership_zone()).date() - timedelta(days=1)


def eve_window(appointment_start: datetime, zone: ZoneInfo, hours: tuple[time, time] | None = None) -> Window:
    """The last window in which a day-before reminder of this appointment may ring, on the customer's clock."""
    return window_on(eve(appointment_start), zone, hours)


def next_opening(now: datetime, zone: ZoneInfo, hours: tuple[time, time] | None = None) -> datetime:
    """``now`` when inside the window, else when it next opens on the customer's clock."""
    today = now.astimezone(zone).date()
    for day in (today, today + timedelta(days=1)):
        window = window_on(day, zone, hours)
        if now < window.closes and window.opens < window.closes:
            return max(now, window.opens)
    # An empty window never opens: a week ahead keeps the answer an instant while saying "not soon".
    return now + timedelta(days=7)
