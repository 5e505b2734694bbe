"""Busy time on the dealership's calendar, for availability: cached briefly, never an error.

Availability is asked for while a caller waits, so Google is asked at most
once per window and cache period; when Google fails, availability goes on
without the calendar (and says so in the log) rather than failing the call.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from scheduling.calendar import google
from scheduling.calendar.errors import CalendarError

logger = logging.getLogger(__name__)

Interval = tuple[datetime, datetime]

# After a failure, wait this long (at most) before asking Google again, so that
# an outage costs one timeout per period instead of one per lookup.
FAILURE_CACHE_SECONDS = 15


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floored = _floor_hour(moment)
    return floored if floored == moment else floored + timedelta(hours=1)


def _cache_key(calendar_id: str, start: datetime, end: datetime) -> str:
    calendar = hashlib.sha256(calendar_id.encode()).hexdigest()[:16]
    return f"scheduling:calendar-busy:{calendar}:{start:%Y%m%dT%H}:{end:%Y%m%dT%H}"


def busy_intervals(start: datetime, end: datetime) -> list[Interval]:
    """Busy intervals overlapping [start, end) on the configured calendar; [] when none is configured."""
    calendar_id = (settings.GOOGLE_CALENDAR_ID or "").strip()
    if not calendar_id or not (settings.GOOGLE_SERVICE_ACCOUNT_FILE or "").strip() or not start < end:
        return []
    # Ask for whole hours so that lookups of nearby windows share one answer.
    window_start, window_end = _floor_hour(start), _ceil_hour(end)
    key = _cache_key(calendar_id, window_start, window_end)
    intervals = cache.get(key)
    if intervals is None:
        intervals = _fetch(window_start, window_end)
        if intervals is None:
            cache.set(key, [], timeout=min(FAILURE_CACHE_SECONDS, settings.GOOGLE_CALENDAR_BUSY_CACHE_SECONDS))
            return []
        cache.set(key, intervals, timeout=settings.GOOGLE_CALENDAR_BUSY_CACHE_SECONDS)
    return [(s, e) for s, e in intervals if s < end and start < e]


def _fetch(start: datetime, end: datetime) -> list[Interval] | None:
    try:
        calendar = google.calendar_from_settings(timeout=google.BUSY_TIMEOUT_SECONDS)
        if calendar is None:
            return []
        return calendar.busy(start, end)
    except CalendarError as error:
        logger.warning(
            "Calendar busy time unavailable, availability ignores it for now: %s (status %s)",
            error,
            getattr(error, "status", None),
        )
        return None
