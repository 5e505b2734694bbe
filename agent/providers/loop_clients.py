"""SDK clients kept for the life of their event loop.

Building an SDK client makes an SSL context (tens of milliseconds of CPU on the event loop), which every
arriving call would otherwise pay; but a client's connections belong to the loop that opened them, so one
is kept per loop and per configuration. Loops are held weakly: a client goes with its loop, and a new loop
never inherits a closed one's client (as it could if loops were told apart by id()).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Client = TypeVar("Client")


class LoopClients(Generic[Client]):
    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._no_loop: dict[Hashable, Client] = {}  # called outside any running loop (a sync check)

    def get(self, configuration: Hashable, build: Callable[[], Client]) -> Client:
        """The client of the running loop for this configuration, built on first use."""
        try:
            clients = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        except RuntimeError:
            clients = self._no_loop
        if configuration not in clients:
            clients[configuration] = build()
        return clients[configuration]
