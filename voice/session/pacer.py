"""Audio to Twilio: 160-byte (20 ms) frames at real time with a small lead, and a mark after each sentence.

Sending a whole reply at once would fill Twilio's buffer, so a barge-in ``clear``
would throw away audio the caller was never going to hear anyway but could not be
stopped in time; pacing keeps only ``lead`` of audio ahead of the caller's ear.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law
FRAME_SECONDS = 0.02
# Frames go out in pairs: the pacer wakes every 40 ms rather than every 20, and the audio ahead of the
# caller's ear stays between lead - 20 ms and lead.
FRAMES_PER_WAKE = 2
MULAW_SILENCE = b"\xff"


@dataclass
class _Audio:
    sentence: int
    data: bytes


@dataclass
class _Mark:
    name: str


class Pacer:
    def __init__(self, send: Callable[[dict], Awaitable[None]], stream_sid: str, *, lead_seconds: float = 0.1,
                 on_first_frame: Callable[[int], None] | None = None):  # fmt: skip
        self._send = send
        self._stream_sid = stream_sid
        self._lead = lead_seconds
        self._on_first_frame = on_first_frame or (lambda sentence: None)
        self._items: deque[_Audio | _Mark] = deque()
        self._wake = asyncio.Event()
        self._anchor: float | None = None  # when frame 0 of the current run is due at the caller's ear
        self._frames = 0
        self._started_sentences: set[int] = set()
        self.frames_sent = 0
        self._sending = asyncio.Event()  # clear while paused: nothing new goes out, nothing is dropped
        self._sending.set()

    def add_audio(self, sentence: int, data: bytes) -> None:
        if data:
            self._items.append(_Audio(sentence, data))
            self._wake.set()

    def add_mark(self, name: str) -> None:
        self._items.append(_Mark(name))
        self._wake.set()

    def clear(self) -> None:
        """Drop everything not yet sent (barge-in); a pause ends with it."""
        self._items.clear()
        self._anchor = None
        self._sending.set()

    def pause(self) -> None:
        """Send nothing new until ``resume()``: what Twilio already holds (at most the lead) still plays."""
        self._sending.clear()

    def resume(self) -> None:
        """Go on from the very frame where sending stopped."""
        self._sending.set()

    @property
    def paused(self) -> bool:
        return not self._sending.is_set()

    def idle(self) -> bool:
        return not self._items

    async def run(self) -> None:
        while True:
            if self.paused:
                await self._sending.wait()
                self._anchor = None  # a new clock: the paused time is not caught up in a burst
                continue
            frame, sentence, marks = self._next_frame()
            if frame is None:
                for name in marks:
                    await self._send({"event": "mark", "streamSid": self._stream_sid, "mark": {"name": name}})
                if not marks:
                    # Nothing complete to send: wait for audio, and start a new clock when it comes.
                    self._wake.clear()
                    await self._wake.wait()
                    self._anchor = None
                continue
            now = time.monotonic()
            if self._anchor is None:
                self._anchor, self._frames = now, 0
            due = self._anchor + self._frames * FRAME_SECONDS - self._lead
            if due > now:
                await asyncio.sleep(due - now + (FRAMES_PER_WAKE - 1) * FRAME_SECONDS)
                if self.paused:  # paused while this frame waited for its time: it goes back, unsent
                    self._put_back(frame, sentence, marks)
                    continue
            payload = base64.b64encode(frame).decode()
            await self._send({"event": "media", "streamSid": self._stream_sid, "media": {"payload": payload}})
            self._frames += 1
            self.frames_sent += 1
            if sentence not in self._started_sentences:
                self._started_sentences.add(sentence)
                self._on_first_frame(sentence)
            for name in marks:
                await self._send({"event": "mark", "streamSid": self._stream_sid, "mark": {"name": name}})

    def _put_back(self, frame: bytes, sentence: int, marks: list[str]) -> None:
        for name in reversed(marks):
            self._items.appendleft(_Mark(name))
        self._items.appendleft(_Audio(sentence, frame))

    def _next_frame(self) -> tuple[bytes | None, int, list[str]]:
        """The next 160 bytes (a sentence's last frame padded with silence) and the marks that follow it."""
        frame, sentence, marks = bytearray(), -1, []
        while self._items and len(frame) < FRAME_BYTES:
            item = self._items[0]
            if isinstance(item, _Mark):
                if frame:
                    break  # pad this frame, then send the mark
                self._items.popleft()
                marks.append(item.name)
                return None, -1, marks
            take = FRAME_BYTES - len(frame)
            frame += item.data[:take]
            sentence = item.sentence
            if len(item.data) <= take:
                self._items.popleft()
            else:
                item.data = item.data[take:]
        if not frame:
            return None, -1, marks
        if len(frame) < FRAME_BYTES:
            if not self._items or not isinstance(self._items[0], _Mark):
                # The sentence's audio is still arriving: keep the bytes for the next call.
                self._items.appendleft(_Audio(sentence, bytes(frame)))
                return None, -1, marks
            frame += MULAW_SILENCE * (FRAME_BYTES - len(frame))
        while self._items and isinstance(self._items[0], _Mark):
            marks.append(self._items.popleft().name)
        return bytes(frame), sentence, marks
