"""The day agenda shown in the admin: bays as columns, time as rows, each appointment a block.

``layout`` is pure arithmetic on a day's opening windows and appointments, so it
is tested without pages; ``day_agenda`` loads what it needs and calls it.
Times are stepped in absolute minutes (UTC) and only labelled in the
dealership's zone, so a day with a DST change gets the right rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from scheduling.models import Appointment, AppointmentStatus, Bay, Closure
from scheduling.selectors import Interval, ShopCalendar, appointments_on, dealership_zone, slot_minutes

# The grid has one header row (bay names) and one label column (times) before the slots.
HEADER_ROWS = 1
LABEL_COLUMNS = 1


@dataclass(frozen=True)
class Row:
    """One slot of the day: its local start time and whether the shop is open then."""

    index: int  # 0-based
    start: datetime
    open: bool

    @property
    def css_row(self) -> int:
        return self.index + HEADER_ROWS + 1

    @property
    def on_the_hour(self) -> bool:
        return self.start.minute == 0


@dataclass(frozen=True)
class Column:
    """A bay and the lanes it needs (more than one only when its appointments overlap, e.g. a cancelled one)."""

    bay: Bay
    first_lane: int  # 0-based, among all bays' lanes
    lanes: int

    @property
    def css_column(self) -> str:
        return f"{self.first_lane + LABEL_COLUMNS + 1} / span {self.lanes}"


@dataclass(frozen=True)
class Block:
    appointment: Appointment
    row: int  # 0-based index of the first slot it covers
    span: int  # how many slots it covers (at least one)
    lane: int  # 0-based, among all bays' lanes
    starts_earlier: bool  # began before the first row (e.g. the day before)
    ends_later: bool  # goes on after the last row

    @property
    def css_row(self) -> str:
        return f"{self.row + HEADER_ROWS + 1} / span {self.span}"

    @property
    def css_column(self) -> int:
        return self.lane + LABEL_COLUMNS + 1


@dataclass(frozen=True)
class Agenda:
    day: date
    rows: list[Row]
    columns: list[Column]
    blocks: list[Block]
    closed_reason: str = ""  # why the shop is closed that day, "" when it is open
    hidden_cancelled: int = 0  # cancelled appointments left out of the grid

    @property
    def lane_count(self) -> int:
        return sum(column.lanes for column in self.columns)

    @property
    def is_empty(self) -> bool:
        return not self.rows


def layout(
    *,
    day: date,
    windows: Sequence[Interval],
    bays: Sequence[Bay],
    appointments: Sequence[Appointment],
    slot: timedelta,
    zone: ZoneInfo,
) -> tuple[list[Row], list[Column], list[Block]]:
    """Rows from the earliest of opening time and first appointment to the latest of closing time and last
    appointment (within the local day, on the slot grid counted from opening time); a column per bay; a
    block per appointment, in a bay's second lane when it overlaps another one of that bay."""
    day_start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    windows = sorted((start.astimezone(UTC), end.astimezone(UTC)) for start, end in windows)
    spans = [(a.starts_at.astimezone(UTC), a.ends_at.astimezone(UTC)) for a in appointments]
    edges = windows + spans
    if not edges:
        return [], _columns(bays, {}), []

    anchor = windows[0][0] if windows else day_start
    first = max(min(start for start, _ in edges), day_start)
    last = min(max(end for _, end in edges), day_end)
    grid_start = anchor + ((first - anchor) // slot) * slot
    grid_start = max(grid_start, day_start)
    count = -(-(last - grid_start) // slot)  # ceiling division
    rows = []
    for index in range(count):
        moment = grid_start + index * slot
        is_open = any(start <= moment < end for start, end in windows)
        rows.append(Row(index=index, start=moment.astimezone(zone), open=is_open))
    grid_end = grid_start + count * slot

    lanes_of = _lanes(appointments)
    columns = _columns(bays, lanes_of)
    first_lane = {column.bay.pk: column.first_lane for column in columns}
    blocks = []
    for appointment, (start, end) in zip(appointments, spans, strict=True):
        top = (max(start, grid_start) - grid_start) // slot
        bottom = -(-(min(end, grid_end) - grid_start) // slot)
        blocks.append(
            Block(
                appointment=appointment,
                row=top,
                span=max(1, bottom - top),
                lane=first_lane[appointment.bay_id] + lanes_of[appointment.bay_id][appointment.pk],
                starts_earlier=start < grid_start,
                ends_later=end > grid_end,
            )
        )
    return rows, columns, blocks


def _lanes(appointments: Sequence[Appointment]) -> dict[int, dict[int, int]]:
    """Per bay, the lane of each appointment: the first lane free at its start (interval partitioning)."""
    by_bay: dict[int, list[Appointment]] = {}
    for appointment in appointments:
        by_bay.setdefault(appointment.bay_id, []).append(appointment)
    result: dict[int, dict[int, int]] = {}
    for bay_id, items in by_bay.items():
        lane_ends: list[datetime] = []
        result[bay_id] = {}
        for appointment in sorted(items, key=lambda a: (a.starts_at, a.ends_at, a.pk)):
            for lane, lane_end in enumerate(lane_ends):
                if lane_end <= appointment.starts_at:
                    break
            else:
                lane = len(lane_ends)
                lane_ends.append(appointment.ends_at)
            lane_ends[lane] = appointment.ends_at
            result[bay_id][appointment.pk] = lane
    return result


def _columns(bays: Sequence[Bay], lanes_of: dict[int, dict[int, int]]) -> list[Column]:
    columns = []
    next_lane = 0
    for bay in bays:
        lanes = max(lanes_of.get(bay.pk, {}).values(), default=0) + 1
        columns.append(Column(bay=bay, first_lane=next_lane, lanes=lanes))
        next_lane += lanes
    return columns


def day_agenda(day: date, *, show_cancelled: bool = False) -> Agenda:
    """The agenda of one local date: its opening windows, the bays and the appointments that touch it."""
    zone = dealership_zone()
    working = ShopCalendar(day, day).working_day(day)
    appointments = list(appointments_on(day))
    shown = [a for a in appointments if show_cancelled or a.status != AppointmentStatus.CANCELLED]
    # Active bays, and any other bay that still has an appointment that day.
    bays = list(Bay.objects.filter(Q(active=True) | Q(pk__in={a.bay_id for a in shown})).order_by("name"))
    rows, columns, blocks = layout(
        day=day,
        windows=working.windows if working else (),
        bays=bays,
        appointments=shown,
        slot=timedelta(minutes=slot_minutes()),
        zone=zone,
    )
    return Agenda(
        day=day,
        rows=rows,
        columns=columns,
        blocks=blocks,
        closed_reason="" if working else _closed_reason(day),
        hidden_cancelled=len(appointments) - len(shown),
    )


def _closed_reason(day: date) -> str:
    closure = Closure.objects.filter(date=day).first()
    if closure is not None:
        return f"Closed: {closure.reason}."
    return f"Closed: no opening hours on {day:%A}s."
