"""In-process measurements of the voice server's own work, for benchmarks and support (not business data).

Kept in bounded memory; a benchmark running the server in-process reads them with ``snapshot()``.
"""

from __future__ import annotations

import threading
from collections import deque


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

    def percentile(self, fraction: float) -> float | None:
        values = sorted(self.values())
        if not values:
            return None
        return values[min(len(values) - 1, int(fraction * len(values)))]


# How late an inbound media frame was handled, against the time its timestamp says it was captured
# (relative to the stream's first frame): the event loop's own delay, since frames arrive on time.
INBOUND_LAG_MS = Reservoir()
# The server's own time in a turn: between the caller's final transcript and the first audio frame,
# everything except waiting for the model and the speech provider.
SERVER_TURN_MS = Reservoir()


def snapshot() -> dict[str, dict[str, float | None]]:
    return {
        name: {"count": len(reservoir.values()), "p50": reservoir.percentile(0.5),
               "p95": reservoir.percentile(0.95), "p99": reservoir.percentile(0.99)}  # fmt: skip
        for name, reservoir in (("inbound_lag_ms", INBOUND_LAG_MS), ("server_turn_ms", SERVER_TURN_MS))
    }


def reset() -> None:
    INBOUND_LAG_MS.reset()
    SERVER_TURN_MS.reset()
