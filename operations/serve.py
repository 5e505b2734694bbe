"""Several server processes on one port, restarted without cutting a call.

    python -m operations.serve --host 0.0.0.0 --port 8000 --processes 2 [--proxy-headers] [--access-log]

The runner opens the listening socket once and hands it to ``--processes`` processes of ``operations.server``
(``--fd``); the kernel gives each new connection to one of them. A call's webhooks and its media stream may
reach different processes: everything a call needs between them is in PostgreSQL and Redis. The runner:

- replaces a process that dies (after a pause when it dies right after starting, so a broken deploy does not
  spin); the calls on the others go on;
- on SIGHUP (a deploy: new code is read by new processes) starts a new set, waits until each accepts
  connections, then drains the old set: their calls end on the code they started with;
- on SIGTERM or SIGINT closes its own copy of the socket (once every process has stopped accepting, new
  connections are refused and Twilio's fallback URL takes new calls), drains every process and exits once all
  have exited. A second signal is passed on (the calls say goodbye now), a third kills them.

It imports no Django: it is a supervisor, and a broken setting shows in its processes' output.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from operations.metrics import process_exited  # prometheus-client only: no Django here

logger = logging.getLogger("operations.serve")

READY_SECONDS = 90  # a new process that does not accept connections by then is taken for broken
QUICK_DEATH_SECONDS = 10  # a process dying sooner than this after starting is restarted only after a pause
RESTART_PAUSE_SECONDS = 5


@dataclass
class Child:
    process: subprocess.Popen
    started: float = field(default_factory=time.monotonic)
    draining: bool = False  # sent SIGTERM: it serves its calls to the end and exits; not replaced
    signals: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self) -> None:
        if self.process.poll() is None:
            self.signals += 1
            self.process.send_signal(signal.SIGKILL if self.signals > 2 else signal.SIGTERM)


class Runner:
    def __init__(self, *, listener: socket.socket, processes: int, server_args: list[str]):
        self.listener = listener
        self.processes = processes
        self.server_args = server_args
        self.children: list[Child] = []
        self.pending: list[int] = []  # signals received, handled by the loop
        self.stopping = 0  # how many stop signals so far
        self.restart_due: float | None = None

    # ------------------------------------------------------------------ processes

    def start_child(self) -> Child | None:
        """Start one server process and wait until it accepts connections; None if it could not."""
        ready_read, ready_write = os.pipe()
        command = [sys.executable, "-m", "operations.server", "--fd", str(self.listener.fileno()),
                   "--ready-fd", str(ready_write), *self.server_args]  # fmt: skip
        # A session of its own: a terminal's Ctrl-C reaches the runner, which drains the processes in order.
        process = subprocess.Popen(command, pass_fds=(self.listener.fileno(), ready_write), start_new_session=True)
        os.close(ready_write)
        child = Child(process)
        self.children.append(child)
        try:
            ready, _, _ = select.select([ready_read], [], [], READY_SECONDS)
            said = os.read(ready_read, 64) if ready else b""
        finally:
            os.close(ready_read)
        if not said:  # closed unsaid: it died; or silent: it hangs
            logger.error("server process %s did not start accepting connections", child.pid)
            child.process.kill()
            child.process.wait()
            self.children.remove(child)
            process_exited(child.pid)
            return None
        logger.info("server process %s accepts connections", child.pid)
        return child

    def start_set(self) -> list[Child]:
        return [child for child in (self.start_child() for _ in range(self.processes)) if child is not None]

    def reap(self) -> None:
        """Forget processes that exited; schedule a replacement for one that died while serving."""
        for child in list(self.children):
            code = child.process.poll()
            if code is None:
                continue
            self.children.remove(child)
            process_exited(child.pid)
            if child.draining:
                logger.info("server process %s drained and exited (status %s)", child.pid, code)
                continue
            logger.error("server process %s died (status %s)", child.pid, code)
            if not self.stopping:
                quick = time.monotonic() - child.started < QUICK_DEATH_SECONDS
                self.restart_due = time.monotonic() + (RESTART_PAUSE_SECONDS if quick else 0)

    def serving(self) -> list[Child]:
        return [child for child in self.children if not child.draining]

    def drain(self, children: list[Child]) -> None:
        for child in children:
            child.draining = True
            child.signal()

    # ------------------------------------------------------------------ signals

    def on_signal(self, signum, frame) -> None:
        self.pending.append(signum)

    def handle_signals(self) -> None:
        while self.pending:
            signum = self.pending.pop(0)
            if signum == signal.SIGHUP and not self.stopping:
                self.replace_all()
            elif signum in (signal.SIGTERM, signal.SIGINT):
                self.stop(signal.Signals(signum).name)

    def replace_all(self) -> None:
        old = self.serving()
        logger.info("SIGHUP: starting %d new server processes, then draining %d", self.processes, len(old))
        new = self.start_set()
        if len(new) < self.processes:
            logger.error("only %d of %d new processes started: keeping the old ones", len(new), self.processes)
            self.drain(new)
            return
        self.drain(old)

    def stop(self, why: str) -> None:
        self.stopping += 1
        if self.stopping == 1:
            logger.info("%s: draining %d server processes", why, len(self.children))
            self.listener.close()  # ours; the processes close theirs as they start draining
            self.drain(self.children)
        else:
            for child in self.children:
                child.signal()

    # ------------------------------------------------------------------ the loop

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self.on_signal)
        status = 0
        if len(self.start_set()) < self.processes:
            logger.error("the server processes could not start")
            self.stop("start-up failure")
            status = 1
        while self.children or not self.stopping:
            self.handle_signals()
            self.reap()
            if self.restart_due is not None and time.monotonic() >= self.restart_due and not self.stopping:
                self.restart_due = None
                missing = self.processes - len(self.serving())
                for _ in range(missing):
                    if self.start_child() is None:
                        self.restart_due = time.monotonic() + RESTART_PAUSE_SECONDS
            time.sleep(0.1)
        logger.info("every server process has exited")
        return status


def open_listener(host: str, port: int) -> socket.socket:
    listener = socket.create_server((host, port), backlog=1024)
    listener.set_inheritable(True)
    return listener


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description="Several server processes on one port.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--processes", type=int, default=int(os.environ.get("SERVER_PROCESSES", "1")))
    # The rest (--proxy-headers, --access-log) is passed to each operations.server process.
    return parser.parse_known_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args, server_args = parse_args(argv)
    if args.processes < 1:
        sys.exit("--processes must be at least 1")
    listener = open_listener(args.host, args.port)
    logger.info("listening on %s:%s with %d server processes", args.host, args.port, args.processes)
    return Runner(listener=listener, processes=args.processes, server_args=server_args).run()


if __name__ == "__main__":
    sys.exit(main())
