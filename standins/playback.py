"""The caller's side of Twilio playback: buffered outbound audio, marks, and clear.

Twilio plays the audio a stream sends in order, in real time, and answers each
mark the server sent once all the audio queued before that mark has played.
`clear` throws the buffered audio away and answers every pending mark at once.
This class models exactly that, one 20 ms tick at a time, with no I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .audio_codec import FRAME_BYTES


@dataclass(frozen=True)
class _Mark:
    name: str


class PlaybackBuffer:
    def __init__(self) -> None:
        self._items: deque[bytes | _Mark] = deque()
        self._finished_marks: list[str] = []  # reached during the tick being played
        self.buffered_bytes = 0

    @property
    def idle(self) -> bool:
        """Nothing left to play (marks may still be waiting for the current tick to end)."""
        return self.buffered_bytes == 0

    @property
    def pending_marks(self) -> list[str]:
        return self._finished_marks + [item.name for item in self._items if isinstance(item, _Mark)]

    def add_audio(self, audio: bytes) -> None:
        if audio:
            self._items.append(audio)
            self.buffered_bytes += len(audio)

    def add_mark(self, name: str) -> None:
        self._items.append(_Mark(name))

    def tick(self, frame_bytes: int = FRAME_BYTES) -> tuple[bytes, list[str]]:
        """Play one frame's worth of audio.

        Returns (audio played now, marks to echo now). A mark is echoed at the
        start of the tick after the one that played its last preceding byte,
        i.e. once that audio has actually finished playing; a mark with no
        audio before it is echoed at once.
        """
        echo, self._finished_marks = self._finished_marks, []
        while self._items and isinstance(self._items[0], _Mark):
            echo.append(self._items.popleft().name)  # type: ignore[union-attr]
        played = bytearray()
        while self._items and len(played) < frame_bytes:
            item = self._items.popleft()
            if isinstance(item, _Mark):
                self._finished_marks.append(item.name)
                continue
            take = frame_bytes - len(played)
            played += item[:take]
            if len(item) > take:
                self._items.appendleft(item[take:])
        while self._items and isinstance(self._items[0], _Mark):
            self._finished_marks.append(self._items.popleft().name)  # type: ignore[union-attr]
        self.buffered_bytes -= len(played)
        return bytes(played), echo

    def clear(self) -> list[str]:
        """Drop all buffered audio; return every pending mark (to echo immediately), in order."""
        marks = self.pending_marks
        self._items.clear()
        self._finished_marks = []
        self.buffered_bytes = 0
        return marks
