"""A lock another database session holds, for tests of what waits on a busy database (real locks, no mocks)."""

import asyncio
import threading

from django.db import connection, transaction

from standins._background import WAIT_SECONDS


class TableLock:
    """Another database session holds a lock on a table until released (``mode`` as in LOCK TABLE)."""

    def __init__(self, table: str, mode: str):
        self.table, self.mode = table, mode
        self._taken, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {self.table} IN {self.mode} MODE")
            self._taken.set()
            self._release.wait(WAIT_SECONDS * 2)
        connection.close()

    def waiters(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [self.table])
            return cursor.fetchone()[0]

    def release(self) -> None:
        self._release.set()

    def __enter__(self):
        self._thread.start()
        assert self._taken.wait(WAIT_SECONDS)
        return self

    def __exit__(self, *exc):
        self.release()
        self._thread.join(WAIT_SECONDS)


async def someone_waits_on(lock: TableLock) -> None:
    """Until a session waits for the lock. Asked from a thread of its own: the shared database thread of
    ``sync_to_async`` may be the very one waiting."""

    def waiters() -> int:
        try:
            return lock.waiters()
        finally:
            connection.close()

    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await asyncio.to_thread(waiters):
        assert asyncio.get_running_loop().time() < deadline, f"nobody waits on {lock.table}"
        await asyncio.sleep(0.02)
