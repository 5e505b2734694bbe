"""Fake Deepgram live transcription (/v1/listen) on one WebSocket.

It "hears" the caller by decoding text-in-audio (audio_codec) from the mu-law
it receives and answers the way Deepgram's streaming API does:

  * SpeechStarted at the first voiced frame (vad_events=true)
  * interim Results (is_final=false) revealing words as they are spoken
    (interim_results=true)
  * once the utterance's last frame is heard, an interim Result with all of its
    words (Deepgram's interims catch up with the speech before endpointing ends
    the utterance), then
  * a final Result (is_final=true, speech_final=true) `final_latency` seconds
    (wall clock) after the last frame of the utterance arrived; speech_final is
    false when the client passed endpointing=false
  * UtteranceEnd once the *audio* clock shows utterance_end_ms of non-speech
    after the last word (only if that parameter was given). Like Deepgram it
    is driven by audio: no audio arriving, no UtteranceEnd.
  * Finalize: every pending or half-heard utterance is sent at once as a final
    with from_finalize=true (speech_final=false); with nothing pending, an
    empty final with from_finalize=true.
  * CloseStream: pending finals, then the summary Metadata, then close 1000.
  * no message at all for `idle_timeout` seconds: close 1011 (NET-0001).
  * optionally (silence_results_every), empty finals during long silences.

Transcripts are exactly the encoded text (with its punctuation and case).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection

from . import deepgram_messages as msg
from .audio_codec import SpeechDecoder, SpeechStarted, UtteranceCut, UtteranceHeard
from .deepgram_records import DeepgramConnection, DropPlan
from .deepgram_session import Session

NET0001 = "Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001"


@dataclass(eq=False)
class _PendingFinal:
    """An utterance that was heard and whose final Result is waiting for final_latency."""

    text: str
    start: float
    end: float
    timer: asyncio.Task | None = None


class ListenSession(Session):
    def __init__(
        self,
        ws: ServerConnection,
        record: DeepgramConnection,
        drop: DropPlan | None,
        *,
        final_latency: float,
        idle_timeout: float,
        metadata_on_open: bool,
        revisions: dict[str, str] | None = None,
        silence_results_every: float | None = None,
    ) -> None:
        super().__init__(ws, record, drop)
        query = record.query
        self.request_id = msg.new_request_id()
        self.final_latency = final_latency
        self.revisions = revisions if revisions is not None else {}
        self.idle_timeout = idle_timeout
        self.metadata_on_open = metadata_on_open
        self.silence_results_every = silence_results_every
        self.last_result_end = 0.0  # audio time covered by the last final sent
        self.interim_results = query.get("interim_results") == "true"
        self.vad_events = query.get("vad_events") == "true"
        self.speech_final_enabled = query.get("endpointing") != "false"
        self.utterance_end_s = (
            int(query["utterance_end_ms"]) / 1000 if query.get("utterance_end_ms", "").isdigit() else None
        )
        self.channels = int(query.get("channels", "1") or 1)
        sample_rate = int(query.get("sample_rate", "8000") or 8000)
        self.bytes_per_second = sample_rate * self.channels  # mu-law: one byte per sample
        # Audio that stops mid-utterance for half a second counts as said.
        self.decoder = SpeechDecoder(max_gap_bytes=self.bytes_per_second // 2)
        self.audio_bytes = 0
        self.pending: list[_PendingFinal] = []  # heard, final not sent yet (waiting final_latency)
        self.interim_words = 0
        self.last_word_end: float | None = None
        self.utterance_end_due = False
        self.idle_deadline = time.monotonic() + idle_timeout

    # ------------------------------------------------------------ lifecycle

    async def on_open(self) -> None:
        self.spawn(self._idle_watchdog())
        if self.metadata_on_open:
            await self.send_json(msg.listen_metadata(self.request_id, 0.0, self.channels))

    async def _idle_watchdog(self) -> None:
        while not self.finished:
            remaining = self.idle_deadline - time.monotonic()
            if remaining <= 0:
                await self.close(1011, NET0001, "idle_timeout")
                return
            await asyncio.sleep(min(remaining, 0.05))

    def _touch(self) -> None:
        self.idle_deadline = time.monotonic() + self.idle_timeout

    @property
    def audio_time(self) -> float:
        return self.audio_bytes / self.bytes_per_second

    # ------------------------------------------------------------ audio

    async def on_bytes(self, data: bytes) -> None:
        self._touch()
        self.record.audio_bytes_received += len(data)
        self.record.audio_messages_received += 1
        # Work through big messages 20 ms at a time so that everything driven
        # by the audio clock happens at the right audio time whatever the
        # client's chunk size.
        step = max(1, self.bytes_per_second // 50)
        for offset in range(0, len(data), step):
            await self._on_audio_slice(data[offset : offset + step])

    async def _on_audio_slice(self, data: bytes) -> None:
        self.audio_bytes += len(data)
        for event in self.decoder.feed(data):
            if isinstance(event, SpeechStarted):
                self.interim_words = 0
                if self.vad_events:
                    await self.send_json(msg.speech_started(event.offset / self.bytes_per_second))
            elif isinstance(event, UtteranceHeard):
                await self._send_whole_interim(event)
                self._schedule_final(event.text, event.start_offset, event.end_offset)
            elif isinstance(event, UtteranceCut) and event.partial_text.strip():
                self._schedule_final(event.partial_text.strip(), event.start_offset, event.end_offset)
        await self._maybe_send_interim()
        await self._maybe_send_utterance_end()
        await self._maybe_send_silence_result()

    async def _maybe_send_interim(self) -> None:
        progress = self.decoder.current
        if not self.interim_results or progress is None or len(progress.words_so_far) <= self.interim_words:
            return
        self.interim_words = len(progress.words_so_far)
        await self.send_json(
            msg.results(
                request_id=self.request_id,
                transcript=" ".join(progress.words_so_far),
                start=progress.start_offset / self.bytes_per_second,
                end=progress.end_offset / self.bytes_per_second,
                is_final=False,
                speech_final=False,
            )
        )

    async def _send_whole_interim(self, heard: UtteranceHeard) -> None:
        """Every word of the utterance, not final yet: what a client sees in the pause before the final."""
        if not self.interim_results or len(heard.text.split()) <= self.interim_words:
            return
        self.interim_words = 0
        await self.send_json(
            msg.results(
                request_id=self.request_id,
                transcript=heard.text,
                start=heard.start_offset / self.bytes_per_second,
                end=heard.end_offset / self.bytes_per_second,
                is_final=False,
                speech_final=False,
            )
        )

    def _schedule_final(self, text: str, start_offset: int, end_offset: int) -> None:
        text = self.revisions.get(text, text)
        final = _PendingFinal(text, start_offset / self.bytes_per_second, end_offset / self.bytes_per_second)
        final.timer = self.spawn(self._final_after_latency(final))
        self.pending.append(final)

    async def _final_after_latency(self, final: _PendingFinal) -> None:
        await asyncio.sleep(self.final_latency)
        if final in self.pending:
            self.pending.remove(final)
            await self._send_final(
                final.text, final.start, final.end, speech_final=self.speech_final_enabled, from_finalize=False
            )
            await self._maybe_send_utterance_end()

    async def _send_final(
        self, text: str, start: float, end: float, *, speech_final: bool, from_finalize: bool
    ) -> None:
        sent = await self.send_json(
            msg.results(
                request_id=self.request_id,
                transcript=text,
                start=start,
                end=end,
                is_final=True,
                speech_final=speech_final,
                from_finalize=from_finalize,
            )
        )
        if not sent:
            return
        self.last_result_end = max(self.last_result_end, end)
        if not text:
            return
        self.record.finals.append(text)
        self.last_word_end = end
        self.utterance_end_due = self.utterance_end_s is not None
        plan = self.drop_plan.after_utterances
        if plan is not None and len(self.record.finals) >= plan:
            self.drop()

    async def _maybe_send_silence_result(self) -> None:
        every = self.silence_results_every
        if every is None or self.pending or self.decoder.current is not None:
            return
        if self.audio_time - self.last_result_end >= every:
            start = self.last_result_end
            await self._send_final("", start, start + every, speech_final=False, from_finalize=False)

    async def _maybe_send_utterance_end(self) -> None:
        if not self.utterance_end_due or self.pending or self.decoder.current is not None:
            return
        assert self.last_word_end is not None and self.utterance_end_s is not None
        if self.audio_time - self.last_word_end >= self.utterance_end_s:
            self.utterance_end_due = False
            await self.send_json(msg.utterance_end(self.last_word_end))

    # ------------------------------------------------------------ control messages

    async def on_control(self, message: dict[str, Any]) -> None:
        self._touch()
        kind = message.get("type")
        if kind == "KeepAlive":
            return
        if kind == "Finalize":
            await self._flush_pending(from_finalize=True)
        elif kind == "CloseStream":
            await self._flush_pending(from_finalize=False)
            await self.send_json(msg.listen_metadata(self.request_id, self.audio_time, self.channels))
            await self.close(1000, "", "client")
        else:
            await self.send_json(msg.listen_error(f"Unknown message type {kind!r}", message=str(message)))

    async def on_bad_text(self, text: str) -> None:
        self._touch()
        await self.send_json(msg.listen_error("Could not parse text message as JSON.", message=text[:200]))

    async def _flush_pending(self, *, from_finalize: bool) -> None:
        """Send every pending utterance (and the half-heard one) right now."""
        items = list(self.pending)
        self.pending.clear()
        for final in items:
            if final.timer is not None:
                final.timer.cancel()
        for cut in self.decoder.interrupt():
            if isinstance(cut, UtteranceCut) and cut.partial_text.strip():
                rate = self.bytes_per_second
                items.append(_PendingFinal(cut.partial_text.strip(), cut.start_offset / rate, cut.end_offset / rate))
        self.interim_words = 0
        if not items and from_finalize:
            await self._send_final("", self.audio_time, self.audio_time, speech_final=False, from_finalize=True)
        speech_final = self.speech_final_enabled and not from_finalize
        for final in items:
            await self._send_final(
                final.text, final.start, final.end, speech_final=speech_final, from_finalize=from_finalize
            )
