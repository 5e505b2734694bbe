"""What the fake Deepgram remembers about each WebSocket, and the per-connection failure plan."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DropPlan:
    """Abort the TCP connection (no close frame) after some utterances/flushes or seconds."""

    after_utterances: int | None = None  # listen: after this many final transcripts were sent
    after_flushes: int | None = None  # speak: after this many Flushed replies were sent
    after_seconds: float | None = None


@dataclass
class DeepgramConnection:
    """One accepted /v1/listen or /v1/speak socket. Times are time.monotonic()."""

    kind: str  # "listen" | "speak"
    path: str
    query: dict[str, str]
    query_items: list[tuple[str, str]]
    headers: dict[str, str]
    opened_at: float = field(default_factory=time.monotonic)
    closed_at: float | None = None
    close_code: int | None = None
    close_reason: str = ""
    closed_by: str | None = None  # client | server | idle_timeout | dropped
    sent: list[dict[str, Any]] = field(default_factory=list)  # JSON messages sent, with "_t"
    controls: list[dict[str, Any]] = field(default_factory=list)  # JSON messages received
    audio_bytes_received: int = 0
    audio_messages_received: int = 0
    audio_bytes_sent: int = 0
    finals: list[str] = field(default_factory=list)  # listen: final transcripts sent
    texts: list[str] = field(default_factory=list)  # speak: every Speak text received
    flushed_texts: list[str] = field(default_factory=list)  # speak: text of each Flush
    spoken: list[str] = field(default_factory=list)  # speak: texts whose audio was fully sent
    cleared_texts: list[str] = field(default_factory=list)  # speak: texts cut or discarded by Clear
    clears: int = 0

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def sent_of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("type") == kind]
