"""Daphne's server, taught to drain: stop accepting, let the calls it carries end, then stop.

Imported only once Daphne has installed its reactor (``operations.server`` does that first).
"""

from __future__ import annotations

import logging
import os
import time

from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

from operations import draining

logger = logging.getLogger("operations.server")


class DrainingServer(Server):
    """``signalled()`` drains on the first signal, ends the calls on the second and stops on the third."""

    def __init__(self, *, drain_seconds: float, goodbye_seconds: float, requests_seconds: float,
                 check_every: float = 0.25, ready_fd: int | None = None, **options):  # fmt: skip
        super().__init__(**options)
        self.drain_seconds = drain_seconds
        self.goodbye_seconds = goodbye_seconds
        self.requests_seconds = requests_seconds
        self.check_every = check_every
        self.ready_fd = ready_fd
        self.ports: list = []
        self.signals = 0
        self.ends_requested_at: float | None = None
        self.calls_ended_at: float | None = None
        self.exit_status = 0
        draining.reset()

    # ------------------------------------------------------------------ start

    def listen_success(self, port):
        self.ports.append(port)  # kept to stop listening on; Daphne keeps only the address
        super().listen_success(port)
        if self.ready_fd is not None:  # tell the runner this process accepts connections now
            os.write(self.ready_fd, f"{os.getpid()}\n".encode())
            os.close(self.ready_fd)
            self.ready_fd = None

    # ------------------------------------------------------------------ stop

    def signalled(self, name: str) -> None:
        self.signals += 1
        if self.signals == 1:
            self.begin_drain(name)
        elif self.signals == 2:
            logger.info("%s again: asking the %d live calls to end now", name, draining.live_count())
            self.request_ends()
        else:
            logger.warning("%s a third time: stopping now, cutting %d calls", name, draining.live_count())
            self.exit_status = 1
            self.stop()

    def begin_drain(self, why: str) -> None:
        draining.begin()
        for port in self.ports:
            port.stopListening()  # our copy of the socket: processes sharing it go on accepting
        logger.info("%s: draining, %d live calls, up to %.0f s", why, draining.live_count(), self.drain_seconds)
        reactor.callLater(0, self.check_drain)

    def request_ends(self) -> None:
        if self.ends_requested_at is None:
            self.ends_requested_at = time.monotonic()
        for work in draining.live():
            work.request_end()

    def check_drain(self) -> None:
        """Look again at what the process still carries; stop once nothing is left (or the limits are up)."""
        now = time.monotonic()
        calls = draining.live_count()
        if calls and self.ends_requested_at is None and draining.draining_for() >= self.drain_seconds:
            logger.info("drain limit reached: asking the %d live calls to end", calls)
            self.request_ends()
        if calls and self.ends_requested_at is not None and now - self.ends_requested_at >= self.goodbye_seconds:
            logger.warning("%d calls did not end %.0f s after being asked: cutting them", calls, self.goodbye_seconds)
            self.exit_status = 1
            self.stop()
            return
        if not calls:
            if self.calls_ended_at is None:
                self.calls_ended_at = now
            requests = self.requests_in_flight()
            if not requests:
                logger.info("drained: no live call, no request in flight")
                self.stop()
                return
            if now - self.calls_ended_at >= self.requests_seconds:
                logger.warning("drained, but %d HTTP requests still running: stopping anyway", requests)
                self.stop()
                return
        reactor.callLater(self.check_every, self.check_drain)

    def requests_in_flight(self) -> int:
        """HTTP requests whose application has not finished (webhooks, admin pages); sockets don't count."""
        return sum(1 for protocol, details in self.connections.items()
                   if not isinstance(protocol, WebSocketProtocol) and "application_instance" in details
                   and not details["application_instance"].done())  # fmt: skip
