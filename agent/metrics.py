"""When the agent's request left for the model, for the driver's measure of the server's own time.

The driver (a call session) puts a fresh Moment here in each reply's task and the model's provider marks it
just before the request goes out, so the prompt and the SDK's request building count as the server's own
time and only what follows as the model's.
"""

from __future__ import annotations

import time
from contextvars import ContextVar


class Moment:
    """A time.monotonic() reading, taken the first time it is marked."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None

    def mark(self) -> None:
        if self.at is None:
            self.at = time.monotonic()


REQUEST_SENT: ContextVar[Moment | None] = ContextVar("request_sent", default=None)


def mark_request_sent() -> None:
    moment = REQUEST_SENT.get()
    if moment is not None:
        moment.mark()
