"""Running the agent's database work (tools, context) from the event loop.

Channels' ``database_sync_to_async`` and Django's async ORM send all of it to one shared thread, so with many
calls on a server process every tool waits behind every other call's database work. With
``AGENT_DATABASE_THREADS`` > 0 the agent uses a pool of its own that many threads wide instead (each thread
keeps one connection, checked before each job as a request would be); 0, the default, keeps the shared thread:
bench/voice_tools.py showed the pool's threads shorten the tools' wait but slow the event loop (the GIL), which
every call's audio feels.

An agent takes a ``database`` runner (anything with ``async run(function, *args, **kwargs)``):

- ``SERVER`` (the default): the above, for calls on a server process.
- ``CALLING_THREAD``: under ``async_to_sync``, the calling thread itself, inside whatever transaction it holds (the evaluation runs each scenario in its own, rolled back).
- ``Sandbox``: a thread of its own inside one transaction that ``close()`` rolls back (the admin chat's dry run).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections, transaction

Result = TypeVar("Result")

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="agent-db")
            _pool_size = size
        return _pool


def _in_pool_thread(function: Callable[..., Result], args: tuple, kwargs: dict) -> Result:
    close_old_connections()  # a connection the server dropped, or one past CONN_MAX_AGE, is replaced
    return function(*args, **kwargs)


def shutdown() -> None:
    """Close the pool's database connections and its threads (tests; a process that is going away)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    threads = len(pool._threads)  # started so far; each holds at most one connection
    if threads:
        # One job per thread: each closes its own connections, then waits for the others, so no thread takes two.
        barrier = threading.Barrier(threads)

        def close_own() -> None:
            connections.close_all()
            barrier.wait(timeout=30)

        for future in [pool.submit(close_own) for _ in range(threads)]:
            future.result(timeout=60)
    pool.shutdown(wait=True)


async def run(function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    threads = getattr(settings, "AGENT_DATABASE_THREADS", 0)
    if threads <= 0:
        return await database_sync_to_async(function)(*args, **kwargs)
    loop = asyncio.get_running_loop()
    # run_in_executor does not carry the caller's context (asyncio.to_thread does): copy it, so the pool's lines
    # keep the call's logging context.
    job = functools.partial(contextvars.copy_context().run, _in_pool_thread, function, args, kwargs)
    return await loop.run_in_executor(_executor(threads), job)


class ServerThreads:
    """The server's way: the shared thread, or the agent's pool (AGENT_DATABASE_THREADS)."""

    async def run(self, function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        return await run(function, *args, **kwargs)


class CallingThread:
    """The calling thread and its transaction, when the agent is driven by ``async_to_sync``.

    Plain ``sync_to_async``: channels' ``database_sync_to_async`` closes "old" connections around each job, and
    Django counts a connection inside a transaction as one to close. Each job runs in a savepoint, so one whose
    query fails leaves the caller's transaction usable.
    """

    async def run(self, function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        return await sync_to_async(_in_savepoint, thread_sensitive=True)(function, args, kwargs)


def _in_savepoint(function: Callable[..., Result], args: tuple, kwargs: dict) -> Result:
    with transaction.atomic():
        return function(*args, **kwargs)


SERVER = ServerThreads()
CALLING_THREAD = CallingThread()


class Sandbox:
    """Database work in one thread of its own, inside one transaction that ``close()`` rolls back: nothing done
    through it is ever committed. Each job runs in a savepoint, so one that fails leaves the transaction usable.

    Rows it writes stay locked until it closes, so keep its life short (the admin chat opens one per reply).
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-sandbox")
        self._outer: transaction.Atomic | None = None
        self._closed = False

    async def run(self, function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        if self._closed:
            raise RuntimeError("this sandbox is closed")
        loop = asyncio.get_running_loop()
        job = functools.partial(contextvars.copy_context().run, self._job, function, args, kwargs)
        return await loop.run_in_executor(self._executor, job)

    def _job(self, function: Callable[..., Result], args: tuple, kwargs: dict) -> Result:
        if self._outer is None:
            close_old_connections()
            self._outer = transaction.atomic()
            self._outer.__enter__()
        with transaction.atomic():
            return function(*args, **kwargs)

    def _roll_back(self) -> None:
        try:
            if self._outer is not None:
                transaction.set_rollback(True)
                self._outer.__exit__(None, None, None)
        finally:
            self._outer = None
            connections.close_all()

    async def close(self) -> None:
        """Roll everything back and let the thread go (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._roll_back)
        finally:
            self._executor.shutdown(wait=False)
