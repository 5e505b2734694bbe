"""At most N new calls per second across every worker: Twilio's account limit (1 per second to start with).

Time is cut into slots of 1/N seconds. A worker that wants to place a call books a slot with ``cache.add``
on the slot's key, which in Redis is one atomic SET NX: of all the workers asking for one slot, exactly one
gets it. A worker that finds the current slot taken books the first free one ahead and sleeps until it
starts, so waiting workers line up one slot apart instead of polling.

The guarantee holds across processes and machines as long as they share the cache (Redis); with a
per-process cache it only holds within one process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from django.core.cache import cache as default_cache

KEY_PREFIX = "reminders:call-slot"


class CallRateLimiter:
    def __init__(self, per_second: float, *, cache=None, key_prefix: str = KEY_PREFIX,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):  # fmt: skip
        if per_second <= 0:
            raise ValueError("The call rate must be above zero.")
        self.slot_seconds = 1.0 / per_second
        self.cache = cache or default_cache
        self.key_prefix = key_prefix
        self.clock = clock
        self.sleep = sleep

    def _book(self, slot: int, keep_seconds: float) -> bool:
        return self.cache.add(f"{self.key_prefix}:{slot}", 1, timeout=max(1, math.ceil(keep_seconds)))

    def acquire(self, *, max_wait: float) -> float | None:
        """Book the first free slot starting within ``max_wait`` seconds and sleep until it starts.

        Returns the slot's start (Unix seconds), or None when every slot that soon is taken (nothing booked).
        """
        now = self.clock()
        current = math.floor(now / self.slot_seconds)
        last = math.floor((now + max_wait) / self.slot_seconds)
        # A key outlives its slot by a little: a slow worker must still see it as taken.
        keep = max_wait + 2 * self.slot_seconds + 1
        for slot in range(current, last + 1):
            if self._book(slot, keep):
                start = slot * self.slot_seconds
                if start > now:
                    self.sleep(start - now)
                return start
        return None
