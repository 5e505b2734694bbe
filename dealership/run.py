"""Run the whole product in the foreground: ``python -m dealership.run`` (``make run``).

1. takes a lease on the embedded PostgreSQL and Redis (unless DATABASE_URL /
   REDIS_URL name real servers), so they stay up for the whole run;
2. migrates, loads the demo data and creates the demo admin user;
3. starts the server (``operations.serve``: SERVER_PROCESSES Daphne processes
   on one port, default 1), one Celery worker and exactly one Celery beat, and
   prints the admin URL;
4. on Ctrl-C (or SIGTERM, or any of the three dying) stops all three: the server
   first lets the calls in progress end (a second Ctrl-C ends them now, with a
   goodbye; a third kills), then drops its leases, which stops the embedded
   servers if nothing else uses them.

Defaults suit a laptop: DEBUG on unless set, listening on 127.0.0.1:8000
(HOST / PORT). A second run reuses var/ and its data. Every process counts its
metrics in var/run/metrics (PROMETHEUS_MULTIPROC_DIR), emptied at each start.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from dealership.devservices import EmbeddedPostgres, EmbeddedRedis, default_var_dir

PROJECT_DIR = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 20  # seconds the worker and beat get to finish their work before they are killed


class Stack:
    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping = False
        self.signals = 0  # Ctrl-C / SIGTERM received so far

    def manage(self, *args: str) -> None:
        """Run a management command to completion; any failure stops the start-up."""
        subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, check=True)

    def spawn(self, name: str, args: list[str]) -> None:
        # Own session: Ctrl-C reaches only this supervisor, which then stops the
        # children in order instead of every process reacting at once.
        self.processes[name] = subprocess.Popen(args, cwd=PROJECT_DIR, start_new_session=True)

    def stop(self) -> None:
        """SIGTERM to all; the server drains its calls for as long as it needs, each further Ctrl-C is passed on."""
        self.stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        signals_seen = self.signals
        while any(process.poll() is None for process in self.processes.values()):
            if self.signals > signals_seen:  # Ctrl-C again: the server's calls end now (a third time: killed)
                signals_seen = self.signals
                server = self.processes.get("server")
                if server is not None and server.poll() is None:
                    server.send_signal(signal.SIGTERM)
            for name, process in self.processes.items():
                if name != "server" and process.poll() is None and time.monotonic() > deadline:
                    print(f"{name} did not stop in {STOP_TIMEOUT}s; killing it", flush=True)
                    process.kill()
            time.sleep(0.2)

    def watch(self) -> int:
        """Wait until a signal asks us to stop or a child dies; return the exit status."""
        while not self.stopping:
            for name, process in self.processes.items():
                code = process.poll()
                if code is not None:
                    print(f"{name} exited with status {code}; stopping everything", flush=True)
                    return 1
            time.sleep(0.5)
        return 0


def wait_for_port(host: str, port: int, stack: Stack, timeout: float = 30) -> bool:
    """True once the server accepts connections; False if it died or we were asked to stop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stack.stopping and stack.processes["server"].poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def take_single_instance_lock(var_dir: Path):
    """Exactly one beat, ever: a second `make run` on the same var/ refuses to start."""
    lock_path = var_dir / "run" / "stack.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"Another `make run` is already running with {var_dir}; stop it first.")
    return handle


def main() -> int:
    os.environ.setdefault("DEBUG", "true")
    metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default_var_dir() / "run" / "metrics")))
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    var_dir = default_var_dir()
    lock = take_single_instance_lock(var_dir)  # noqa: F841 - held until exit
    # Counts of a previous run's processes would be read as this run's.
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)

    if not os.environ.get("DATABASE_URL"):
        print("Starting embedded PostgreSQL...", flush=True)
        EmbeddedPostgres(var_dir).acquire()
    if not os.environ.get("REDIS_URL"):
        print("Starting embedded Redis...", flush=True)
        EmbeddedRedis(var_dir).acquire()

    stack = Stack(var_dir)
    try:  # Ctrl-C during these raises KeyboardInterrupt, and leaving releases the leases

        stack.manage("migrate", "--noinput")
        stack.manage("load_demo")
        if os.environ["DEBUG"].lower() not in {"1", "true", "yes", "on"}:
            stack.manage("collectstatic", "--noinput", "--verbosity", "0")
        stack.manage("create_demo_admin")
    except subprocess.CalledProcessError as exc:
        print(f"Start-up failed: {' '.join(exc.cmd[1:])} exited with {exc.returncode}", file=sys.stderr)
        return 1

    def request_stop(signum, frame):
        stack.stopping = True
        stack.signals += 1

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    celery = [sys.executable, "-m", "celery", "-A", "dealership"]
    stack.spawn("server", [sys.executable, "-m", "operations.serve", "--host", host, "--port", port,
                           "--processes", os.environ.get("SERVER_PROCESSES", "1")])  # fmt: skip
    stack.spawn("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"])
    stack.spawn("beat", [*celery, "beat", "--loglevel", "INFO", "--pidfile", str(var_dir / "run" / "celerybeat.pid")])

    if wait_for_port(host, int(port), stack):
        print(f"\nThe dealership CRM is running: http://{host}:{port}/admin/  (Ctrl-C stops everything)\n", flush=True)
    status = stack.watch()
    print("Stopping... (calls in progress are let finish: Ctrl-C again ends them now, with a goodbye)", flush=True)
    stack.stop()
    print("Stopped. The embedded servers stop when no other process uses them.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
