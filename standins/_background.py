"""A private asyncio event loop running in a daemon thread.

Every stand-in server lives on its own loop so that the same server can be used
from a plain (sync) test, from an async test running on pytest-asyncio's loop,
and from a management command that has no loop at all. Nothing a test does on
its own loop can starve the fake server, and vice versa, which keeps timing
measurements honest.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# How long a test waits for something to happen before it fails. Generous on purpose: a condition that
# holds returns at once, so the bound only decides how long a real failure takes to report, and a busy
# machine must never turn a slow success into a failure.
WAIT_SECONDS = 30.0


class BackgroundLoop:
    """Owns one event loop in one daemon thread; start()/stop() are idempotent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{self.name}: event loop did not start")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            # Cancel whatever is still running (hung handlers, pacing tasks) so
            # that closing the loop does not warn about pending tasks.
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def run(self, coro: Awaitable[T], timeout: float = 15.0) -> T:
        """Run a coroutine on the background loop and wait for its result from any thread."""
        if self.loop is None:
            raise RuntimeError(f"{self.name}: not started")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        if not self.running or self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        assert self._thread is not None
        self._thread.join(15)
        self._thread = None
        self.loop = None


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT_SECONDS, interval: float = 0.01) -> Any:
    """Poll `predicate` from a sync caller until it returns something truthy; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


async def async_wait_until(predicate: Callable[[], Any], timeout: float = WAIT_SECONDS, interval: float = 0.01) -> Any:
    """Like wait_until, for async callers: yields to their loop while polling."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
