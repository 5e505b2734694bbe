"""The server under test for bench/voice.py: Daphne serving dealership.asgi:application, in a process of its own.

    python bench/voice_server.py --database bench_voice [--cpu 1]

Started by bench/voice.py, which owns the database and the stand-ins and passes their settings in the
environment. A process of its own so that the load generator and the stand-ins cannot take its CPU
(``--cpu`` pins it to one core, the load generator takes the others) and so that what voice.metrics
records here is the server's alone.

Prints "listening <port>" once Daphne accepts connections, then answers each line read on stdin with
one JSON line:

    phase NAME   start measuring a new phase (the reservoirs are swapped, not read: nothing here may
                 hold the event loop while calls are being measured)
    reset        forget every phase
    dump         {"phases": [{"name", "seconds", "cpu_seconds", "inbound_lag_ms": {...}, "server_turn_ms": {...},
                 "gc": {"0"|"1"|"2": {"count", "total_ms", "max_ms"}}, "preemptive": {"kept", "discarded"}}]},
                 gc: the collector's pauses by generation; preemptive: the replies started before the final
                 transcript, by result (voice.metrics PREEMPTIVE_REPLIES)
    cpu          {"cpu_seconds": ...}, the process's CPU time so far (to wait until it is idle)
    quit         stop Daphne and exit (also on end of input)

The reservoirs of voice.metrics keep the last 200,000 values; a phase here can hold ten million.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

PHASE_CAPACITY = 10_000_000


class CollectorPauses:
    """How long each garbage collection held the process (every call on it waits), per generation."""

    def __init__(self):
        self.pauses_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started: float | None = None

    def __call__(self, phase: str, info: dict) -> None:  # a gc.callbacks entry
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.pauses_ms[info["generation"]].append((time.perf_counter() - self._started) * 1000)
            self._started = None

    def summary(self) -> dict:
        return {str(generation): {"count": len(pauses), "total_ms": sum(pauses), "max_ms": max(pauses, default=0.0)}
                for generation, pauses in self.pauses_ms.items()}  # fmt: skip


class Phase:
    """The measurements of one stretch of the benchmark, and the process CPU it took."""

    def __init__(self, name: str):
        from voice import metrics

        self.name = name
        self.started, self.cpu_started = time.monotonic(), time.process_time()
        self.ended = self.cpu_ended = None
        self.inbound_lag = metrics.Reservoir(size=PHASE_CAPACITY)
        self.server_turn = metrics.Reservoir(size=PHASE_CAPACITY)
        self.preemptive: collections.Counter[str] = collections.Counter()
        self.collector = CollectorPauses()

    def install(self) -> None:
        """Make voice.metrics record into this phase (module attributes are looked up at each observation)."""
        from voice import metrics

        metrics.INBOUND_LAG_MS, metrics.SERVER_TURN_MS = self.inbound_lag, self.server_turn
        metrics.PREEMPTIVE_REPLIES = self.preemptive
        gc.callbacks[:] = [c for c in gc.callbacks if not isinstance(c, CollectorPauses)] + [self.collector]

    def close(self) -> None:
        self.ended, self.cpu_ended = time.monotonic(), time.process_time()

    def summary(self) -> dict:
        ended = self.ended or time.monotonic()
        cpu_ended = self.cpu_ended or time.process_time()
        preemptive = {result: self.preemptive[result] for result in ("kept", "discarded")}  # 0 for none
        return {"name": self.name, "seconds": ended - self.started, "cpu_seconds": cpu_ended - self.cpu_started,
                "inbound_lag_ms": _stats(self.inbound_lag.values()),
                "server_turn_ms": _stats(self.server_turn.values()), "gc": self.collector.summary(),
                "preemptive": preemptive}  # fmt: skip


def _stats(values: list[float]) -> dict:
    from voice.metrics import nearest_rank

    values.sort()
    if not values:
        return {"count": 0}
    percentiles = {name: nearest_rank(values, q) for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99),
                                                                 ("p999", 0.999))}  # fmt: skip
    return {"count": len(values), **percentiles, "max": values[-1], "mean": sum(values) / len(values)}


def start_daphne():
    import daphne.server  # installs the asyncio reactor before anything imports Twisted's default
    from daphne.endpoints import build_endpoint_description_strings

    from dealership.asgi import application

    server = daphne.server.Server(application=application, signal_handlers=False, verbosity=0,
                                  endpoints=build_endpoint_description_strings(host="127.0.0.1", port=0))  # fmt: skip
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.listening_addresses:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("Daphne did not start")
        time.sleep(0.02)
    return server, thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, help="the bench database (made by bench/voice.py)")
    parser.add_argument("--cpu", type=int, help="pin this process to one CPU")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # before any thread starts: threads inherit it

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DEBUG = False  # DEBUG=1 only lets it start without SECRET_KEY; it would keep every query
    connections["default"].settings_dict["NAME"] = args.database

    phases: list[Phase] = [Phase("start")]
    phases[-1].install()
    server, thread = start_daphne()
    print(f"listening {server.listening_addresses[0][1]}", flush=True)

    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "phase":
            phases[-1].close()
            phases.append(Phase(argument or f"phase {len(phases)}"))
            phases[-1].install()
            reply = {"ok": True}
        elif command == "reset":
            phases = [Phase("start")]
            phases[-1].install()
            reply = {"ok": True}
        elif command == "dump":
            reply = {"phases": [phase.summary() for phase in phases], "threads": threading.active_count()}
        elif command == "cpu":
            reply = {"cpu_seconds": time.process_time()}
        elif command == "quit":
            break
        else:
            reply = {"error": f"unknown command {command!r}"}
        print(json.dumps(reply), flush=True)

    from twisted.internet import reactor

    reactor.callFromThread(reactor.stop)
    thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
