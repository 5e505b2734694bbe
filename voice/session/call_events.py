"""News for a live call from outside its socket: Twilio's answering-machine result reaches the call's session.

A call's media stream is held by one server process, and Twilio's webhooks may land on any other: they meet in
a channel-layer group named after the CallSid. Only reminder calls join one (only calls we place get a
detection result), so a Redis hiccup never touches inbound calls, whose consumer has no channel layer at all.

``tell_session`` (sync, from a webhook) returns False when the layer cannot be reached; the webhook then acts
through Twilio's REST API itself. A group nobody listens to (the call has ended, or its stream has not started
yet) takes the message and drops it: the detection is stored on the call, and a stream that starts later reads
it there.

Listening is not airtight: redis-py 8 gives up reading after its default socket timeout (5 s), the very time
channels_redis's blocking pop waits for a message, so a quiet channel's ``receive`` raises every few seconds,
and a message Redis hands over at that moment can be lost. So each failed or quiet receive calls ``on_quiet``,
with which the session reads the stored detection again: at worst a detection arrives a few seconds late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

MACHINE_DETECTION = "call.machine_detection"  # {"type": ..., "answered_by": "machine_end_beep"}


def group_for(call_sid: str) -> str:
    """The call's group name (letters, digits, dots and hyphens only, as Channels requires)."""
    return f"voice-call.{call_sid}"


def tell_session(call_sid: str, message: dict) -> bool:
    """Send ``message`` to whichever process holds the call's stream. False when the layer cannot be reached."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(group_for(call_sid), message)
    except Exception:  # Redis down, a full channel: the caller of this acts without the session
        logger.warning("call %s: could not reach the call's session", call_sid, exc_info=True)
        return False
    return True


class CallEvents:
    """The session's end of the group: joins it, hands each message to ``handle``, leaves it when stopped."""

    def __init__(self, call_sid: str, handle: Callable[[dict], Awaitable[None]],
                 on_quiet: Callable[[], Awaitable[None]] | None = None):  # fmt: skip
        self.call_sid = call_sid
        self._handle = handle
        self._on_quiet = on_quiet
        self._layer = get_channel_layer()
        self._channel = ""
        self._task: asyncio.Task | None = None

    async def join(self) -> bool:
        """Join the call's group and start listening. False (and the call goes on without) when it cannot."""
        if self._layer is None:
            return False
        try:
            self._channel = await self._layer.new_channel()
            await self._layer.group_add(group_for(self.call_sid), self._channel)
        except Exception:
            logger.warning("call %s: cannot listen for call events", self.call_sid, exc_info=True)
            return False
        self._task = asyncio.create_task(self._listen(), name="call-events")
        return True

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a read timeout on a quiet channel, or Redis out of reach: try again
                failures += 1
                logger.debug("call %s: no call event (%s)", self.call_sid, type(error).__name__)
                await self._quiet()
                await asyncio.sleep(min(failures - 1, 5) * 0.5)  # at once after a timeout; slower if Redis is down
                continue
            failures = 0
            try:
                await self._handle(message)
            except Exception:  # one bad message must not stop the listening
                logger.exception("call %s: a call event failed", self.call_sid)

    async def _quiet(self) -> None:
        if self._on_quiet is None:
            return
        try:
            await self._on_quiet()
        except Exception:
            logger.warning("call %s: the check between call events failed", self.call_sid, exc_info=True)

    async def leave(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])  # its own end, whatever it was; our own cancellation still raises
            self._task = None
        if self._channel:
            with contextlib.suppress(Exception):
                await self._layer.group_discard(group_for(self.call_sid), self._channel)
            self._channel = ""
