"""The embedded PostgreSQL and Redis are shared by leases: the first holder starts them, the last one stops them.

Each holder is a separate Python process, as the web server, the Celery worker and the shell are.
Everything happens in a VAR_DIR under tmp_path, never in the project's var/.
"""

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from dealership.devservices import EmbeddedPostgres, EmbeddedRedis

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60

HOLDER = """
import sys
from pathlib import Path

from dealership.devservices import EmbeddedPostgres, EmbeddedRedis

kind, var_dir = sys.argv[1], Path(sys.argv[2])
server = EmbeddedPostgres(var_dir) if kind == "postgres" else EmbeddedRedis(var_dir)
url = server.acquire()
pid = server._postmaster().pid if kind == "postgres" else server._pid()
print(pid, url, flush=True)
sys.stdin.readline()
"""

SERVERS = {"postgres": EmbeddedPostgres, "redis": EmbeddedRedis}


class Holder:
    """A process that holds a lease until told to exit."""

    def __init__(self, kind: str, var_dir: Path):
        env = {k: v for k, v in os.environ.items() if k not in {"VAR_DIR", "DATABASE_URL", "REDIS_URL"}}
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, kind, str(var_dir)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            _, stderr = self.process.communicate()
            pytest.fail(f"{kind} holder did not report a server:\n{stderr}")
        server_pid, self.url = line.split()
        self.server_pid = int(server_pid)

    def exit(self) -> None:
        """Exit normally: the lease is dropped by the process's atexit handler."""
        _, stderr = self.process.communicate("\n", timeout=45)
        assert self.process.returncode == 0, stderr

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)  # reaped, as any supervisor or shell does
        assert self.process.returncode == -signal.SIGKILL


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _can_query(kind: str, url: str) -> bool:
    if kind == "postgres":
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SELECT current_database()").fetchone() == ("dealership",)
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return client.ping() is True
    finally:
        client.close()


@pytest.fixture(scope="module")
def var_dirs(tmp_path_factory):
    """One fresh VAR_DIR per server kind, shared by this module's tests (initdb once)."""
    return {kind: tmp_path_factory.mktemp(f"{kind}-var") for kind in SERVERS}


@pytest.fixture
def holders(var_dirs):
    """Start holders; whatever a test leaves behind is killed and the servers are stopped."""
    started: list[Holder] = []

    def start(kind: str) -> Holder:
        holder = Holder(kind, var_dirs[kind])
        started.append(holder)
        return holder

    yield start
    for holder in started:
        if holder.process.poll() is None:
            holder.process.kill()
            holder.process.wait(10)
    for kind, var_dir in var_dirs.items():
        server = SERVERS[kind](var_dir)
        if server.is_running():
            server.stop()


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_last_holder_out_stops_the_server(kind, var_dirs, holders):
    server = SERVERS[kind](var_dirs[kind])
    assert not server.is_running()

    first = holders(kind)
    assert server.is_running()
    assert psutil.pid_exists(first.server_pid) and first.server_pid != first.pid
    assert _can_query(kind, first.url)

    second = holders(kind)
    assert (second.url, second.server_pid) == (first.url, first.server_pid)  # reused, not restarted
    assert sorted(server.holders()) == sorted([first.pid, second.pid])

    first.exit()
    assert server.is_running()
    assert not _gone(first.server_pid)
    assert _can_query(kind, second.url)
    assert server.holders() == [second.pid]

    second.exit()
    assert not server.is_running()
    assert _gone(first.server_pid)
    assert server.holders() == []


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_killed_holder_does_not_keep_the_server_alive(kind, var_dirs, holders):
    server = SERVERS[kind](var_dirs[kind])
    assert not server.is_running()

    doomed = holders(kind)
    survivor = holders(kind)
    assert survivor.server_pid == doomed.server_pid

    doomed.kill()  # no atexit: its lease file stays behind
    assert server.is_running()
    assert _can_query(kind, survivor.url)
    assert server.holders() == [survivor.pid]

    survivor.exit()
    assert not server.is_running()
    assert _gone(doomed.server_pid)


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_a_server_that_died_is_started_again(kind, var_dirs, holders):
    server = SERVERS[kind](var_dirs[kind])
    first = holders(kind)
    crashed = psutil.Process(first.server_pid)
    crashed.kill()  # the server crashes under its holder
    crashed.wait(10)
    assert not server.is_running()

    second = holders(kind)
    assert second.server_pid != first.server_pid
    assert _can_query(kind, second.url)
    first.exit()
    assert server.is_running()
    second.exit()
    assert not server.is_running()
