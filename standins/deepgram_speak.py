"""Fake Deepgram streaming text-to-speech (/v1/speak) on one WebSocket.

Speak texts accumulate; each Flush turns the accumulated text into one job.
Jobs are synthesised in order: after `first_byte_delay` the audio
(encode_speech(text), 8 kHz mu-law) is sent as binary messages of
`chunk_bytes`, paced `realtime_factor` times faster than real time, then
{"type":"Flushed","sequence_id":n} (n counts flushes from 0). Clear discards
the text buffer, the queued jobs and the rest of the job being sent, and
replies {"type":"Cleared","sequence_id":n} with n the last flush's id
(0 before any). Close closes the socket at once (Deepgram: "Close will close
the websocket connection immediately").

The audio is always mu-law 8 kHz (the server refuses other encodings at the
handshake), since that is what the codec produces and what Twilio plays.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection

from . import deepgram_messages as msg
from .audio_codec import SAMPLE_RATE, encode_speech
from .deepgram_records import DeepgramConnection, DropPlan
from .deepgram_session import Session


@dataclass
class _Job:
    text: str
    sequence_id: int


class SpeakSession(Session):
    def __init__(
        self,
        ws: ServerConnection,
        record: DeepgramConnection,
        drop: DropPlan | None,
        *,
        first_byte_delay: float,
        realtime_factor: float,
        chunk_bytes: int,
    ) -> None:
        super().__init__(ws, record, drop)
        self.request_id = msg.new_request_id()
        self.first_byte_delay = first_byte_delay
        self.realtime_factor = realtime_factor
        self.chunk_bytes = chunk_bytes
        self.buffer: list[str] = []
        self.jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self.current: _Job | None = None
        self.flushes = 0
        self.worker: asyncio.Task | None = None

    async def on_open(self) -> None:
        model = self.record.query.get("model", "aura-2-thalia-en")
        await self.send_json(msg.speak_metadata(self.request_id, model))
        self.worker = self.spawn(self._work())

    async def on_control(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "Speak":
            text = message.get("text")
            if not isinstance(text, str):
                await self.send_json(msg.speak_warning("Speak message without text.", "INVALID_INPUT"))
                return
            self.record.texts.append(text)
            self.buffer.append(text)
        elif kind == "Flush":
            text = "".join(self.buffer)
            self.buffer.clear()
            self.record.flushed_texts.append(text)
            self.jobs.put_nowait(_Job(text, self.flushes))
            self.flushes += 1
        elif kind == "Clear":
            await self._clear()
        elif kind == "Close":
            await self.close(1000, "", "client")
        else:
            await self.send_json(msg.speak_warning(f"Unknown message type {kind!r}.", "UNKNOWN_MESSAGE_TYPE"))

    async def on_bytes(self, data: bytes) -> None:
        await self.send_json(msg.speak_warning("Binary messages are not accepted.", "INVALID_INPUT"))

    async def on_bad_text(self, text: str) -> None:
        await self.send_json(msg.speak_warning("Could not parse text message as JSON.", "INVALID_INPUT"))

    async def _clear(self) -> None:
        self.record.clears += 1
        discarded = ["".join(self.buffer)] if self.buffer else []
        self.buffer.clear()
        if self.current is not None:
            discarded.insert(0, self.current.text)
        while not self.jobs.empty():
            discarded.append(self.jobs.get_nowait().text)
        if self.worker is not None:
            self.worker.cancel()
        self.current = None
        self.record.cleared_texts.extend(t for t in discarded if t)
        self.worker = self.spawn(self._work())
        await self.send_json(msg.cleared(max(self.flushes - 1, 0)))

    async def _work(self) -> None:
        while True:
            job = await self.jobs.get()
            self.current = job
            await self._synthesise(job)
            self.current = None
            if not await self.send_json(msg.flushed(job.sequence_id)):
                return
            flushes = self.drop_plan.after_flushes
            if flushes is not None and len(self.record.sent_of_type("Flushed")) >= flushes:
                self.drop()
                return

    async def _synthesise(self, job: _Job) -> None:
        await asyncio.sleep(self.first_byte_delay)
        if not job.text.strip():
            return
        audio = encode_speech(job.text)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for offset in range(0, len(audio), self.chunk_bytes):
            # Pace against the job's start so rounding never accumulates.
            due = started + offset / SAMPLE_RATE / self.realtime_factor
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not await self.send_audio(audio[offset : offset + self.chunk_bytes]):
                return
        self.record.spoken.append(job.text)
