"""Availability: the one place that decides when a job can start.

Everything is computed in the dealership's zone (settings.TIME_ZONE) from its
opening hours, breaks and closures, then compared as absolute instants, so a
day with a DST change has the right number of hours.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Bay,
    Closure,
    OpeningBreak,
    OpeningHours,
    ServiceType,
)

Interval = tuple[datetime, datetime]


def dealership_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def slot_minutes() -> int:
    return settings.SCHEDULING_SLOT_MINUTES


def min_lead() -> timedelta:
    return timedelta(minutes=settings.SCHEDULING_MIN_LEAD_MINUTES)


@dataclass(frozen=True)
class Slot:
    """A start time at which at least one bay is free for the whole job."""

    start: datetime
    end: datetime
    bay_ids: tuple[int, ...] = field(default=(), compare=False)

    def local_start(self) -> datetime:
        return self.start.astimezone(dealership_zone())

    def spoken(self, *, today: date | None = None) -> str:
        """ "Tuesday, March 3rd at 2:30 PM", or "today at 9 AM" / "tomorrow at 9 AM"."""
        return spoken_datetime(self.start, today=today)


def spoken_datetime(moment: datetime, *, today: date | None = None) -> str:
    local = moment.astimezone(dealership_zone())
    return f"{spoken_day(local.date(), today=today)} at {spoken_clock(local)}"


def spoken_clock(moment: datetime) -> str:
    """ "2:30 PM", "2 PM": the time of day on the dealership's clock."""
    local = moment.astimezone(dealership_zone())
    return f"{local:%-I}:{local:%M} {local:%p}" if local.minute else f"{local:%-I} {local:%p}"


def spoken_day(day: date, *, today: date | None = None) -> str:
    """ "today", "tomorrow", or "Tuesday, March 3rd"."""
    today = today or timezone.now().astimezone(dealership_zone()).date()
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return f"{day:%A}, {day:%B} {_ordinal(day.day)}"


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def job_duration(service_types: Iterable[ServiceType]) -> timedelta:
    return timedelta(minutes=sum(s.duration_minutes for s in service_types))


# --------------------------------------------------------------------------- the shop's week


@dataclass(frozen=True)
class WorkingDay:
    """The windows of one local date in which a job may run, as aware datetimes."""

    day: date
    windows: tuple[Interval, ...]
    opens: datetime

    def window_containing(self, start: datetime, end: datetime) -> Interval | None:
        for window_start, window_end in self.windows:
            if window_start <= start and end <= window_end:
                return window_start, window_end
        return None


def _aware(day: date, clock: time, zone: ZoneInfo) -> datetime | None:
    """The instant of a local wall-clock time (in UTC), or None when DST skips it.

    In UTC because Python adds, subtracts and compares datetimes that share a
    tzinfo on the wall clock: stepping a grid in the local zone would repeat
    or skip an hour on a DST day.
    """
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return aware.astimezone(UTC)


@dataclass(frozen=True)
class DayHours:
    """One weekday's opening hours and the breaks inside them, on the wall clock."""

    opens: time
    closes: time
    breaks: tuple[tuple[time, time], ...] = ()


class ShopCalendar:
    """Opening hours, breaks and closures, loaded once (one query) for a range of dates.

    ``last`` None loads the closures of every date from ``first`` on: what a shared read
    (``shared_shop_calendar``) loads, so that the later checks of one tool call find their dates in it.
    """

    def __init__(self, first: date, last: date | None):
        self.zone = dealership_zone()
        self.first, self.last = first, last
        self.hours, self.closures = _read_hours_and_closures(first, last)

    def covers(self, first: date, last: date) -> bool:
        """Whether the closures of every date from ``first`` to ``last`` were loaded."""
        return self.first <= first and (self.last is None or last <= self.last)

    def working_day(self, day: date) -> WorkingDay | None:
        hours = self.hours.get(day.weekday())
        if hours is None or day in self.closures:
            return None
        opens = _aware(day, hours.opens, self.zone)
        closes = _aware(day, hours.closes, self.zone)
        if opens is None or closes is None:
            return None
        windows = [(opens, closes)]
        for starts, ends in hours.breaks:
            pause_start, pause_end = _aware(day, starts, self.zone), _aware(day, ends, self.zone)
            if pause_start is None or pause_end is None:
                continue
            windows = [piece for w in windows for piece in _subtract(w, (pause_start, pause_end))]
        return WorkingDay(day=day, windows=tuple(windows), opens=opens)


def _read_hours_and_closures(first: date, last: date | None) -> tuple[dict[int, DayHours], frozenset[date]]:
    """Every weekday's hours with its breaks, and the closures from ``first`` to ``last``, in one round trip."""
    hours: dict[int, tuple[time, time]] = {}
    breaks: dict[int, list[tuple[time, time]]] = defaultdict(list)
    closed: set[date] = set()
    with connection.cursor() as cursor:
        cursor.execute(_HOURS_AND_CLOSURES, [first, last or date.max])
        for weekday, opens, closes, break_starts, break_ends, closed_on in cursor.fetchall():
            if closed_on is not None:
                closed.add(closed_on)
                continue
            hours[weekday] = (opens, closes)
            if break_starts is not None:
                breaks[weekday].append((break_starts, break_ends))
    week = {
        weekday: DayHours(opens=opens, closes=closes, breaks=tuple(sorted(breaks[weekday])))
        for weekday, (opens, closes) in hours.items()
    }
    return week, frozenset(closed)


# Read by every availability search and booking, so written as SQL: one round trip where the ORM made three
# (hours, their breaks prefetched, closures), 0.3 ms against 1.9 ms (measured alone on the machine of
# bench/booking_path.py), nearly all of the difference the ORM's own work. Two row shapes padded to the same
# columns: an hours row (one per break, or one with no break) has no closure date; a closure row has nothing
# else.
_HOURS_AND_CLOSURES = f"""
    SELECT h.weekday, h.opens, h.closes, b.starts, b.ends, NULL::date
      FROM {OpeningHours._meta.db_table} h
      LEFT JOIN {OpeningBreak._meta.db_table} b ON b.hours_id = h.id
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, c.date
      FROM {Closure._meta.db_table} c
     WHERE c.date BETWEEN %s AND %s
"""


@dataclass
class _SharedRead:
    """The one ShopCalendar read of a shared_shop_calendar() block (None until something asks for it)."""

    calendar: ShopCalendar | None = None


_shared_read: ContextVar[_SharedRead | None] = ContextVar("shared_shop_calendar", default=None)


@contextmanager
def shared_shop_calendar() -> Iterator[None]:
    """Inside this block, ``shop_calendar`` reads the hours, breaks and closures once and hands that read to
    every later check: a booking's offered-time check and the booking service's own check of the hours then
    cost one read instead of two or three.

    For one unit of work only (one tool call): an edit of the hours made meanwhile is seen by the next
    block, as it would be by the next read without it. Not for use around a transaction that edits them.
    """
    token = _shared_read.set(_SharedRead())
    try:
        yield
    finally:
        _shared_read.reset(token)


def shop_calendar(first: date, last: date) -> ShopCalendar:
    """The shop's calendar for ``first`` to ``last``: the block's shared read inside shared_shop_calendar()
    (made on first use, with the closures of every date from ``first`` on), else a read of its own."""
    shared = _shared_read.get()
    if shared is None:
        return ShopCalendar(first, last)
    if shared.calendar is None or not shared.calendar.covers(first, last):
        shared.calendar = ShopCalendar(first, None)
    return shared.calendar


def _subtract(window: Interval, cut: Interval) -> list[Interval]:
    start, end = window
    cut_start, cut_end = cut
    if cut_end <= start or end <= cut_start:
        return [window]
    return [piece for piece in ((start, cut_start), (cut_end, end)) if piece[0] < piece[1]]


# --------------------------------------------------------------------------- who is busy


class BusyTimes:
    """Busy intervals per bay (active appointments) and for the whole shop (calendar busy time)."""

    def __init__(
        self,
        start: datetime,
        end: datetime,
        *,
        exclude_appointment_id: int | None = None,
        shop_busy: Sequence[Interval] = (),
    ):
        self.bay_ids: list[int] = []
        per_bay: dict[int, list[Interval]] = defaultdict(list)
        for bay_id, starts_at, ends_at in _active_bays_with_bookings(start, end, exclude_appointment_id):
            if not self.bay_ids or self.bay_ids[-1] != bay_id:  # a bay's rows come together (ordered by name)
                self.bay_ids.append(bay_id)
            if starts_at is not None:
                per_bay[bay_id].append((starts_at, ends_at))
        self.per_bay = {bay_id: sorted(intervals) for bay_id, intervals in per_bay.items()}
        self.shop_busy = sorted(shop_busy)

    @staticmethod
    def _overlaps(intervals: list[Interval], start: datetime, end: datetime) -> bool:
        # Intervals of one bay never overlap each other (the exclusion
        # constraint), so sorted by start they are sorted by end too.
        index = bisect.bisect_left(intervals, (start, start))
        if index > 0 and intervals[index - 1][1] > start:
            return True
        return index < len(intervals) and intervals[index][0] < end

    def shop_is_busy(self, start: datetime, end: datetime) -> bool:
        return any(s < end and start < e for s, e in self.shop_busy)

    def free_bays(self, start: datetime, end: datetime) -> tuple[int, ...]:
        if self.shop_is_busy(start, end):
            return ()
        return tuple(b for b in self.bay_ids if not self._overlaps(self.per_bay.get(b, []), start, end))


def _active_bays_with_bookings(
    start: datetime, end: datetime, exclude_appointment_id: int | None
) -> list[tuple[int, datetime | None, datetime | None]]:
    """(bay id, starts_at, ends_at) of each active appointment overlapping [start, end) in each active bay, and
    (bay id, None, None) for an active bay with none; by bay name."""
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_BAYS_WITH_BOOKINGS, [_ACTIVE, end, start, exclude_appointment_id])
        return cursor.fetchall()


_ACTIVE = [str(status) for status in ACTIVE_STATUSES]

# Read by every availability search, so written as SQL: one round trip (a LEFT JOIN) for the bays and their
# appointments where the ORM made two, 0.45 ms against 1.7 ms for a day (measured alone, as above).
_ACTIVE_BAYS_WITH_BOOKINGS = f"""
    SELECT bay.id, a.starts_at, a.ends_at
      FROM {Bay._meta.db_table} bay
      LEFT JOIN {Appointment._meta.db_table} a
        ON a.bay_id = bay.id AND a.status = ANY(%s) AND a.starts_at < %s AND a.ends_at > %s
       AND a.id IS DISTINCT FROM %s::bigint
     WHERE bay.active
     ORDER BY bay.name
"""


# --------------------------------------------------------------------------- slots


def shop_is_open(now: datetime | None = None) -> bool:
    """Whether the service department is open right now (opening hours and closures; lunch breaks count as open:
    they stop the bays, not the phones)."""
    now = now or timezone.now()
    today = now.astimezone(dealership_zone()).date()
    working_day = shop_calendar(today, today).working_day(today)
    if working_day is None or not working_day.windows:
        return False
    return working_day.opens <= now < working_day.windows[-1][1]


def earliest_start(*, now: datetime | None = None, apply_lead_time: bool = True) -> datetime:
    now = now or timezone.now()
    return now + min_lead() if apply_lead_time else now


def available_slots(
    *,
    service_types: Sequence[ServiceType],
    first_day: date,
    last_day: date,
    after: datetime | None = None,
    limit: int | None = None,
    exclude_appointment_id: int | None = None,
    now: datetime | None = None,
    shop_busy: Sequence[Interval] | None = None,
    apply_lead_time: bool = True,
) -> list[Slot]:
    """Start times from ``first_day`` to ``last_day`` (local dates, inclusive) where the job fits.

    A slot is on the grid (SCHEDULING_SLOT_MINUTES from opening time), inside
    one opening window (not across a break or closing time), not on a closure,
    no earlier than now plus the minimum lead time (and ``after``, if given),
    clear of busy time on the dealership's calendar, and has a bay free for the
    whole job. ``exclude_appointment_id`` ignores one appointment, for moving it.
    """
    duration = job_duration(service_types)
    if duration <= timedelta(0) or last_day < first_day:
        return []
    zone = dealership_zone()
    not_before = max(earliest_start(now=now, apply_lead_time=apply_lead_time), after or datetime.min.replace(tzinfo=UTC))
    range_start = datetime.combine(first_day, time.min, tzinfo=zone)
    range_end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
    if shop_busy is None:
        shop_busy = calendar_busy(range_start, range_end)
    shop = shop_calendar(first_day, last_day)
    busy = BusyTimes(range_start, range_end, exclude_appointment_id=exclude_appointment_id, shop_busy=shop_busy)
    grid = timedelta(minutes=slot_minutes())

    slots: list[Slot] = []
    day = first_day
    while day <= last_day:
        working = shop.working_day(day)
        if working is not None and working.windows[-1][1] > not_before:
            for window_start, window_end in working.windows:
                # Step from opening time in absolute minutes: the grid stays put
                # even when a break makes a window start off the grid.
                offset = max(timedelta(0), window_start - working.opens)
                steps = -(-offset // grid)  # ceiling division
                start = working.opens + steps * grid
                while start + duration <= window_end:
                    end = start + duration
                    if start >= not_before:
                        bays = busy.free_bays(start, end)
                        if bays:
                            slots.append(Slot(start=start, end=end, bay_ids=bays))
                            if limit is not None and len(slots) >= limit:
                                return slots
                    start += grid
        day += timedelta(days=1)
    return slots


def next_available_slots(
    *,
    service_types: Sequence[ServiceType],
    after: datetime | None = None,
    count: int = 3,
    horizon_days: int = 60,
    exclude_appointment_id: int | None = None,
    spread: bool = True,
    apply_lead_time: bool = True,
) -> list[Slot]:
    """The next few options after a moment ("after Tuesday 2 pm"), for the agent to offer.

    With ``spread``, at most two options per day, so that "the next three"
    are not 8:00, 8:15 and 8:30 on the same morning.
    """
    zone = dealership_zone()
    start_moment = max(after or timezone.now(), timezone.now())
    first_day = start_moment.astimezone(zone).date()
    found: list[Slot] = []
    per_day: dict[date, int] = defaultdict(int)
    # Look a week at a time: most answers are within the first week.
    window_start = first_day
    last_day = first_day + timedelta(days=horizon_days)
    while window_start <= last_day and len(found) < count:
        window_end = min(window_start + timedelta(days=6), last_day)
        for slot in available_slots(
            service_types=service_types,
            first_day=window_start,
            last_day=window_end,
            after=after,
            exclude_appointment_id=exclude_appointment_id,
            apply_lead_time=apply_lead_time,
        ):
            local_day = slot.local_start().date()
            if spread and per_day[local_day] >= 2:
                continue
            if spread and per_day[local_day] == 1 and slot.start - found[-1].start < timedelta(hours=2):
                continue
            per_day[local_day] += 1
            found.append(slot)
            if len(found) >= count:
                break
        window_start = window_end + timedelta(days=1)
    return found


def calendar_busy(start: datetime, end: datetime) -> list[Interval]:
    """Busy time on the dealership's Google Calendar, if one is configured (else none)."""
    from scheduling.calendar.busy import busy_intervals

    return busy_intervals(start, end)


# --------------------------------------------------------------------------- reads for pages and the agent


def appointments_on(day: date) -> QuerySet[Appointment]:
    """One local day's appointments with what a day view shows."""
    zone = dealership_zone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return (
        Appointment.objects.filter(starts_at__lt=end, ends_at__gt=start)
        .select_related("customer", "vehicle", "bay")
        .prefetch_related("service_types")
        .order_by("starts_at")
    )


def upcoming_appointments_for(customer_id: int, *, now: datetime | None = None) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(customer_id=customer_id, status__in=ACTIVE_STATUSES, ends_at__gt=now or timezone.now())
        .select_related("vehicle", "bay")
        .prefetch_related("service_types")
        .order_by("starts_at")
    )


# --------------------------------------------------------------------------- for the phone agent's tools


def active_service_menu() -> QuerySet[ServiceType]:
    """The services the shop offers now (inactive ones are hidden from callers), by name."""
    return ServiceType.objects.filter(active=True).order_by("name")


def service_types_by_ids(ids: Iterable[int]) -> list[ServiceType]:
    """The service types with these ids, active or not, in the order asked, each once; unknown ids are left out."""
    wanted = list(dict.fromkeys(ids))
    found = ServiceType.objects.in_bulk(wanted)
    return [found[pk] for pk in wanted if pk in found]


def appointment_for_customer(appointment_id: int, customer_id: int) -> Appointment | None:
    """The appointment with this id if it is this customer's (any status), with its vehicle and services.

    None when it is someone else's or does not exist: a caller is not told which.
    """
    return (
        Appointment.objects.filter(pk=appointment_id, customer_id=customer_id)
        .select_related("vehicle", "bay")
        .prefetch_related("service_types")
        .first()
    )


def current_visit(customer_id: int, *, now: datetime | None = None) -> Appointment | None:
    """The visit a customer asking "is my car ready?" means, or None.

    In this order: a car checked in (at the shop, on any day; the latest if several); a job completed
    today (its day, or its completion, is today in the dealership's zone); a booked or confirmed
    appointment today (the car is not in yet).
    """
    now = now or timezone.now()
    zone = dealership_zone()
    today = now.astimezone(zone).date()
    day_start = datetime.combine(today, time.min, tzinfo=zone)
    day_end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    visits = Appointment.objects.filter(customer_id=customer_id).select_related("vehicle").prefetch_related(
        "service_types"
    )
    checked_in = visits.filter(status=AppointmentStatus.CHECKED_IN).order_by("-starts_at").first()
    if checked_in is not None:
        return checked_in
    today_q = Q(starts_at__lt=day_end, ends_at__gt=day_start)
    completed_today = Q(
        events__action=AppointmentEvent.Action.COMPLETED, events__at__gte=day_start, events__at__lt=day_end
    )
    completed = (
        visits.filter(Q(status=AppointmentStatus.COMPLETED) & (today_q | completed_today))
        .distinct()
        .order_by("-ends_at")
        .first()
    )
    if completed is not None:
        return completed
    return (
        visits.filter(today_q, status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED))
        .order_by("starts_at")
        .first()
    )
