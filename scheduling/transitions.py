"""The appointment life cycle: which status may follow which. Checked in one place only."""

from crm.errors import ServiceError
from scheduling.models import AppointmentStatus as S

ALLOWED = {
    S.BOOKED: {S.CONFIRMED, S.CHECKED_IN, S.CANCELLED, S.NO_SHOW},
    S.CONFIRMED: {S.CHECKED_IN, S.CANCELLED, S.NO_SHOW},
    S.CHECKED_IN: {S.COMPLETED},
    S.COMPLETED: set(),
    S.NO_SHOW: set(),
    S.CANCELLED: set(),
}

# Only appointments that have not started can be moved.
RESCHEDULABLE = {S.BOOKED, S.CONFIRMED}

_SPOKEN_STATE = {
    S.BOOKED: "booked",
    S.CONFIRMED: "already confirmed",
    S.CHECKED_IN: "already checked in",
    S.COMPLETED: "already completed",
    S.NO_SHOW: "marked as a no-show",
    S.CANCELLED: "already cancelled",
}


class InvalidTransition(ServiceError):
    """The appointment's current status does not allow this change."""


_SPOKEN_CHANGE = {
    S.BOOKED: "booked",
    S.CONFIRMED: "confirmed",
    S.CHECKED_IN: "checked in",
    S.COMPLETED: "completed",
    S.NO_SHOW: "marked as a no-show",
    S.CANCELLED: "cancelled",
}


def check_transition(current: str, target: str) -> None:
    if target not in ALLOWED[S(current)]:
        raise InvalidTransition(
            f"That appointment is {_SPOKEN_STATE[S(current)]}, so it can't be {_SPOKEN_CHANGE[S(target)]} now.",
            code="invalid_transition",
        )


def check_reschedulable(current: str) -> None:
    if current not in RESCHEDULABLE:
        raise InvalidTransition(
            f"That appointment is {_SPOKEN_STATE[S(current)]}, so it can't be moved.", code="invalid_transition"
        )
