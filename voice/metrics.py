"""Measurements of the voice server's work: in-process reservoirs for benchmarks and support, and the same
observations in Prometheus (operations.metrics) for production.

The reservoirs are kept in bounded memory; a benchmark running the server in-process reads them with
``snapshot()`` (or installs its own in their place). The Prometheus histograms get the very values the
reservoirs get (``observe_turn``; the inbound lag reservoir's own histogram), so the two never measure
different things.
"""

from __future__ import annotations

import threading
from collections import Counter, deque

# When the agent's request left for the model: the agent's own measure, read here by the call session.
from agent.metrics import REQUEST_SENT, Moment, mark_request_sent  # noqa: F401
from operations import metrics as prometheus


class Reservoir:
    """The most recent observations of one quantity (milliseconds)."""

    def __init__(self, size: int = 200_000, *, histogram=None):
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._histogram = histogram  # a Prometheus histogram in seconds, also fed each observation

    def observe(self, value: float) -> None:
        with self._lock:
            self._values.append(value)
        if self._histogram is not None:
            self._histogram.observe(value / 1000)

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
# Observed for every 20 ms frame of every call; its Prometheus histogram costs about 2 us an observation.
INBOUND_LAG_MS = Reservoir(histogram=prometheus.INBOUND_LAG_SECONDS)
# The server's own time in a turn: between the caller's final transcript and the first audio frame,
# everything except waiting for the model and the speech provider (fed through observe_turn).
SERVER_TURN_MS = Reservoir()


def snapshot() -> dict[str, dict[str, float | None]]:
    return {"inbound_lag_ms": INBOUND_LAG_MS.summary(), "server_turn_ms": SERVER_TURN_MS.summary()}


def reset() -> None:
    INBOUND_LAG_MS.reset()
    SERVER_TURN_MS.reset()


def observe_turn(*, server_ms: float | None, first_audio_ms: float | None) -> None:
    """A turn's first frame went out: its server time (the reservoir the benchmarks read, and Prometheus) and
    the caller's wait from the final transcript to that frame (Prometheus). None: not known for this turn."""
    if server_ms is not None:
        SERVER_TURN_MS.observe(server_ms)  # looked up now: a benchmark may have installed its own
        prometheus.SERVER_TURN_SECONDS.observe(server_ms / 1000)
    if first_audio_ms is not None:
        prometheus.FIRST_AUDIO_SECONDS.observe(first_audio_ms / 1000)


# Replies started on the caller's words before their final transcript (voice.session.preemption), by result:
# "kept" or "discarded". A benchmark may install its own Counter here, as with the reservoirs.
PREEMPTIVE_REPLIES: Counter[str] = Counter()
KEPT, DISCARDED = "kept", "discarded"


def preemptive_reply(result: str) -> None:
    PREEMPTIVE_REPLIES[result] += 1  # looked up now: a benchmark may have installed its own
    prometheus.PREEMPTIVE_REPLIES.labels(result=result).inc()


def turn_saved(speaker: str, *, interrupted: bool) -> None:
    prometheus.CALL_TURNS.labels(speaker=speaker, interrupted="true" if interrupted else "false").inc()


# The outcome counted for a call the session gave to Twilio's TwiML (a transfer or a message): its webhooks
# write the call's real outcome later, in another request.
HANDED_OVER = "handed_over"


class LiveCall:
    """One call's place in the calls-in-progress gauge (counted in once, out once, never in after out) and,
    when its session ends, in the ended calls by outcome."""

    __slots__ = ("purpose", "_state")

    def __init__(self, purpose: str):
        self.purpose = purpose
        self._state = "new"  # new -> live -> ended

    def begin(self) -> None:
        if self._state == "new":
            self._state = "live"
            prometheus.CALLS_IN_PROGRESS.labels(purpose=self.purpose).inc()

    def end(self) -> None:
        if self._state == "live":
            prometheus.CALLS_IN_PROGRESS.labels(purpose=self.purpose).dec()
        self._state = "ended"

    def count_outcome(self, outcome: str | None) -> None:
        """How the session ended (None: handed over to Twilio)."""
        prometheus.CALLS_ENDED.labels(purpose=self.purpose, outcome=outcome or HANDED_OVER).inc()
