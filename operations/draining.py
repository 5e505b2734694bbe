"""This server process's own lifecycle: is it draining, and which calls does it still carry.

Infrastructure that any app may use and that uses no app: the call session registers itself here while it
runs, the readiness check reads ``is_draining()``, and the server process (``operations.server``) waits for
``live_count()`` to reach zero before it exits, asking whatever is still live to end politely at its limit.
Everything here runs on the server's one event loop; nothing is shared between processes.
"""

from __future__ import annotations

import time
from typing import Protocol


class LiveWork(Protocol):
    """Something a server process carries that a restart must not cut: a call."""

    def request_end(self) -> None:
        """End soon and politely (say goodbye, then hang up); called once the drain's limit is reached."""


_live: set[LiveWork] = set()
_draining_since: float | None = None


def register(work: LiveWork) -> None:
    _live.add(work)


def unregister(work: LiveWork) -> None:
    _live.discard(work)


def live_count() -> int:
    return len(_live)


def live() -> list[LiveWork]:
    return list(_live)


def begin() -> None:
    """From now on the process takes no new work; readiness says so."""
    global _draining_since
    if _draining_since is None:
        _draining_since = time.monotonic()


def is_draining() -> bool:
    return _draining_since is not None


def draining_for() -> float:
    """Seconds since the drain began (0 when not draining)."""
    return 0.0 if _draining_since is None else time.monotonic() - _draining_since


def reset() -> None:
    """Back to serving (a process that starts, and tests)."""
    global _draining_since
    _draining_since = None
    _live.clear()
