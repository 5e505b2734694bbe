"""The agent's measurements: when its request left for the model, and its tool calls.

The driver (a call session) puts a fresh Moment here in each reply's task and the model's provider marks it
just before the request goes out, so the prompt and the SDK's request building count as the server's own
time and only what follows as the model's.

Tool calls are counted in Prometheus (operations.metrics), whichever driver runs the agent.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from operations import metrics as prometheus


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


def tool_call_finished(tool: str, result: str, seconds: float) -> None:
    """A tool call ended (operations.metrics: ``result`` is ok, refused, error, timeout or cancelled)."""
    prometheus.TOOL_CALLS.labels(tool=tool, result=result).inc()
    prometheus.TOOL_SECONDS.labels(tool=tool).observe(seconds)
