"""In-process measurements of the voice server's own work, for benchmarks and support (not business data).

Kept in bounded memory; a benchmark running the server in-process reads them with ``snapshot()``.
"""

from __future__ import annotations

import threading
from collections import deque

# When the agent's request left for the model: the agent's own measure, read here by the call session.
from agent.metrics import REQUEST_SENT, Moment, mark_request_sent  # noqa: F401


class Reservoir:
    """The most recent observations of one quantity (milliseconds)."""

    def __init__(self, size: int = 200_000):
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._values.append(value)

    def reset(self) -> None:
        with self._lock:
            self._values.clear()

    def values(self) -> list[float]:
        with self._lock:
            return list(self._values)

    def summary(self) -> dict[str, float | None]:
        """count, p50, p95 and p99 of what is held now (one copy, one sort)."""
        values = sorted(self.values())
        return {"count": len(values), "p50": nearest_rank(values, 0.5), "p95": nearest_rank(values, 0.95),
                "p99": nearest_rank(values, 0.99)}  # fmt: skip


def nearest_rank(ordered: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of already sorted values (None for none): every voice figure uses this rule."""
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


# How late an inbound media frame was handled, against the time its timestamp says it was captured
# (relative to the stream's first frame): the event loop's own delay, since frames arrive on time.
INBOUND_LAG_MS = Reservoir()
# The server's own time in a turn: between the caller's final transcript and the first audio frame,
# everything except waiting for the model and the speech provider.
SERVER_TURN_MS = Reservoir()


def snapshot() -> dict[str, dict[str, float | None]]:
    return {"inbound_lag_ms": INBOUND_LAG_MS.summary(), "server_turn_ms": SERVER_TURN_MS.summary()}


def reset() -> None:
    INBOUND_LAG_MS.reset()
    SERVER_TURN_MS.reset()
