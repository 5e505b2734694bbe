"""MediaStreamPeer: plays Twilio's side of a bidirectional Media Stream (<Connect><Stream>).

It connects to the project's WebSocket like Twilio does (X-Twilio-Signature on
the upgrade), sends "connected" and "start", then media frames on a real-time
20 ms clock: silence, or the frames of encode_speech(text) while say(text) is
in progress. What the server sends back is played in real time: media goes
into a playback buffer, marks are echoed once the audio queued before them has
played, clear drops the buffer and echoes every pending mark immediately.
The played audio is decoded, so the peer knows which utterances the caller
actually heard in full and which were cut off.

Every observable moment goes into `timeline` (time.monotonic() stamps):
  connected, sent_utterance_start(text), sent_utterance(text),
  first_outbound_media, outbound_media_start, heard_start, heard(text),
  cut(text), underrun, mark_received(name), mark_echoed(name), clear_received,
  dtmf_sent(digit), stop_sent, stream_ended_by_twilio, aborted, closed(code, reason)
Media frames from the server, one every 20 ms, are not events: their arrival
times go into `media_arrivals`.

The peer must be used from one event loop (the one that called connect()).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from . import twilio_stream_messages as wire
from ._background import WAIT_SECONDS, async_wait_until
from .audio_codec import (
    FRAME_BYTES,
    FRAME_SECONDS,
    SILENCE_FRAME,
    SpeechDecoder,
    SpeechStarted,
    UtteranceCut,
    UtteranceHeard,
    encode_speech,
)
from .playback import PlaybackBuffer
from .twilio_calls import new_sid

# Outbound media arriving after this long without any counts as a new burst.
_BURST_GAP = 0.2


@dataclass
class TimelineEvent:
    t: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Outgoing:
    """Audio queued for the inbound track (a say() or send_audio())."""

    text: str | None
    frames: deque[bytes]
    done: asyncio.Future
    started: bool = False


def twilio_signature(auth_token: str, public_url: str) -> str:
    """X-Twilio-Signature for a WebSocket upgrade: HMAC-SHA1 of the exact URL, no body parameters."""
    from twilio.request_validator import RequestValidator

    return RequestValidator(auth_token).compute_signature(public_url, {})


class MediaStreamPeer:
    """Twilio's end of one Media Stream.

    Args:
      url: ws:// URL to connect to (the project's stream endpoint).
      auth_token: sign the upgrade with this token (X-Twilio-Signature)...
      public_url: ...over this URL (what Twilio would have used; default: url).
      signature: send this exact header value instead (forged-signature tests).
      sign: False sends no signature header at all.
      account_sid, call_sid, stream_sid: identifiers in "start" (random if omitted).
      custom_parameters: <Parameter> values, sent in start.customParameters.
    """

    def __init__(
        self,
        url: str,
        *,
        auth_token: str | None = None,
        public_url: str | None = None,
        signature: str | None = None,
        sign: bool = True,
        account_sid: str | None = None,
        call_sid: str | None = None,
        stream_sid: str | None = None,
        custom_parameters: dict[str, str] | None = None,
        open_timeout: float = WAIT_SECONDS,
    ) -> None:
        self.url = url
        self.public_url = public_url or url
        self.auth_token = auth_token
        self.signature = signature
        self.sign = sign
        self.account_sid = account_sid or new_sid("AC")
        self.call_sid = call_sid or new_sid("CA")
        self.stream_sid = stream_sid or new_sid("MZ")
        self.custom_parameters = dict(custom_parameters or {})
        self.open_timeout = open_timeout

        self.timeline: list[TimelineEvent] = []
        self.heard: list[str] = []
        self.cut: list[UtteranceCut] = []
        self.marks_received: list[str] = []
        self.marks_echoed: list[str] = []
        self.clears = 0
        self.protocol_errors: list[str] = []
        self.send_lags: list[float] = []  # seconds each 20 ms frame went out after its slot
        self.outbound_media_bytes = 0
        self.media_arrivals: list[float] = []  # time.monotonic() each media frame from the server arrived
        self.underrun_frames = 0
        self.close_code: int | None = None
        self.close_reason = ""

        self.ws: ClientConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sequence = 0
        self._chunk = 0
        self._outgoing: deque[_Outgoing] = deque()
        self._playback = PlaybackBuffer()
        self._decoder = SpeechDecoder()
        self._tasks: list[asyncio.Task] = []
        self._closed = asyncio.Event()
        self._last_media_at: float | None = None
        self._starved = False
        self._stopping = False

    # ------------------------------------------------------------ lifecycle

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": "Twilio.TmeWs/1.0"}
        if self.signature is not None:
            headers["X-Twilio-Signature"] = self.signature
        elif self.sign and self.auth_token:
            headers["X-Twilio-Signature"] = twilio_signature(self.auth_token, self.public_url)
        return headers

    async def connect(self) -> MediaStreamPeer:
        """Open the socket, send connected + start, start the 20 ms clock. Raises on a refused upgrade."""
        self._loop = asyncio.get_running_loop()
        self.ws = await websockets.connect(
            self.url, additional_headers=self._headers(), open_timeout=self.open_timeout, max_size=2**22
        )
        self._event("connected")
        await self._send(wire.connected())
        await self._send(
            wire.start(
                self._next_sequence(),
                stream_sid=self.stream_sid,
                account_sid=self.account_sid,
                call_sid=self.call_sid,
                custom_parameters=self.custom_parameters,
            )
        )
        self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._clock())]
        return self

    async def __aenter__(self) -> MediaStreamPeer:
        return await self.connect()

    async def __aexit__(self, *exc_info) -> None:
        if not self.closed:
            await self.send_stop()
        await self.wait_closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    # ------------------------------------------------------------ caller actions

    def say_nowait(self, text: str) -> asyncio.Future:
        """Queue an utterance; the future resolves True when its last frame was sent (False if the call ended)."""
        return self._queue(text, encode_speech(text))

    async def say(self, text: str) -> bool:
        """Speak `text` into the call in real time; returns once the audio has been sent."""
        return await self.say_nowait(text)

    async def send_audio(self, audio: bytes) -> bool:
        """Send arbitrary mu-law on the inbound track (padded to whole frames with silence)."""
        return await self._queue(None, audio)

    def _queue(self, text: str | None, audio: bytes) -> asyncio.Future:
        assert self._loop is not None, "connect() first"
        padded = audio + SILENCE_FRAME[: (-len(audio)) % FRAME_BYTES]
        frames = deque(padded[i : i + FRAME_BYTES] for i in range(0, len(padded), FRAME_BYTES))
        done = self._loop.create_future()
        if self.closed:
            done.set_result(False)
        else:
            self._outgoing.append(_Outgoing(text, frames, done))
        return done

    async def send_dtmf(self, digit: str) -> None:
        await self._send(wire.dtmf(self._next_sequence(), stream_sid=self.stream_sid, digit=digit))
        self._event("dtmf_sent", digit=digit)

    async def send_stop(self) -> None:
        """End the stream the way Twilio does (caller hung up / TwiML moved on): stop, then close."""
        if self.closed or self._stopping or self.ws is None:
            return
        self._stopping = True
        await self._send(
            wire.stop(
                self._next_sequence(), stream_sid=self.stream_sid, account_sid=self.account_sid, call_sid=self.call_sid
            )
        )
        self._event("stop_sent")
        try:
            await self.ws.close()
        except ConnectionClosed:
            pass
        await self.wait_closed()

    def end_stream_threadsafe(self) -> None:
        """Called by FakeTwilio (from its own thread) when the call's TwiML is replaced or it hangs up."""
        if self._loop is None or self._loop.is_closed():
            return

        def begin() -> None:
            self._event("stream_ended_by_twilio")
            asyncio.ensure_future(self.send_stop())

        self._loop.call_soon_threadsafe(begin)

    async def abort(self) -> None:
        """Drop the TCP connection with no stop event and no close frame (network failure)."""
        if self.ws is not None and not self.closed:
            self._event("aborted")
            self.ws.transport.abort()
            await self.wait_closed()

    async def send_raw(self, data: str | bytes) -> None:
        """Send anything (malformed JSON, binary frames...) to test the server's input handling."""
        assert self.ws is not None
        await self.ws.send(data)

    # ------------------------------------------------------------ waiting and reading

    async def wait_for_heard(
        self, match: str | Callable[[str], bool] | None = None, timeout: float = WAIT_SECONDS
    ) -> str:
        """The first fully-heard utterance matching `match` (substring, case-insensitive, or predicate)."""

        def test(text: str) -> bool:
            if match is None:
                return True
            if callable(match):
                return bool(match(text))
            return match.lower() in text.lower()

        def found() -> str | None:
            return next((text for text in self.heard if test(text)), None)

        return await async_wait_until(found, timeout)

    async def wait_for_event(
        self, kind: str, predicate: Callable[[TimelineEvent], bool] | None = None, timeout: float = WAIT_SECONDS
    ) -> TimelineEvent:
        def found() -> TimelineEvent | None:
            return next((e for e in self.timeline if e.kind == kind and (predicate is None or predicate(e))), None)

        return await async_wait_until(found, timeout)

    async def wait_closed(self, timeout: float = WAIT_SECONDS) -> int | None:
        """Wait for the socket to close; returns the close code (1006 if dropped)."""
        await asyncio.wait_for(self._closed.wait(), timeout)
        return self.close_code

    def events(self, kind: str) -> list[TimelineEvent]:
        return [e for e in self.timeline if e.kind == kind]

    def lag_stats(self) -> dict[str, float]:
        """How late the peer's own frames went out (seconds): the client side's share of any lag."""
        lags = sorted(self.send_lags) or [0.0]
        return {
            "frames": float(len(self.send_lags)),
            "mean": statistics.fmean(lags),
            "p50": lags[len(lags) // 2],
            "p95": lags[min(len(lags) - 1, int(len(lags) * 0.95))],
            "max": lags[-1],
        }

    # ------------------------------------------------------------ internals

    def _event(self, kind: str, **data: Any) -> None:
        self.timeline.append(TimelineEvent(time.monotonic(), kind, data))

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    async def _send(self, message: dict[str, Any]) -> bool:
        if self.ws is None:
            return False
        try:
            await self.ws.send(json.dumps(message))
        except ConnectionClosed:
            return False
        return True

    async def _clock(self) -> None:
        """Real-time 20 ms frame clock: one inbound frame out and one frame of playback per tick.

        Slots are scheduled from the start time, so a late tick is followed by
        immediate catch-up ticks instead of drifting.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        tick = 0
        while not self.closed and not self._stopping:
            due = start + tick * FRAME_SECONDS
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.closed or self._stopping:
                break
            self.send_lags.append(max(0.0, loop.time() - due))
            if not await self._send_frame(tick):
                break
            await self._play_tick()
            tick += 1

    async def _send_frame(self, tick: int) -> bool:
        frame, current = SILENCE_FRAME, None
        if self._outgoing:
            current = self._outgoing[0]
            frame = current.frames.popleft()
            if not current.started:
                current.started = True
                if current.text is not None:
                    self._event("sent_utterance_start", text=current.text)
        self._chunk += 1
        ok = await self._send(
            wire.media(
                self._next_sequence(),
                stream_sid=self.stream_sid,
                chunk=self._chunk,
                timestamp_ms=tick * 20,
                audio=frame,
            )
        )
        if current is not None and not current.frames:
            self._outgoing.popleft()
            if current.text is not None:
                self._event("sent_utterance", text=current.text)
            if not current.done.done():
                current.done.set_result(ok)
        return ok

    async def _play_tick(self) -> None:
        played, marks = self._playback.tick()
        for name in marks:
            await self._echo_mark(name)
        in_utterance = self._decoder.current is not None
        if in_utterance and len(played) < FRAME_BYTES:
            self.underrun_frames += 1
            if not self._starved:
                self._starved = True
                self._event("underrun")
        elif played:
            self._starved = False
        self._on_decoded(self._decoder.feed(played))

    def _on_decoded(self, events: list) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                self._event("heard_start")
            elif isinstance(event, UtteranceHeard):
                self.heard.append(event.text)
                self._event("heard", text=event.text)
            elif isinstance(event, UtteranceCut):
                self.cut.append(event)
                self._event(
                    "cut", text=event.partial_text, frames_heard=event.frames_heard, frames_total=event.frames_total
                )

    async def _echo_mark(self, name: str) -> None:
        self.marks_echoed.append(name)
        self._event("mark_echoed", name=name)
        await self._send(wire.mark(self._next_sequence(), stream_sid=self.stream_sid, name=name))

    async def _receive(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                await self._on_message(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code if self.ws.close_code is not None else 1006
            self.close_reason = self.ws.close_reason or ""
            self._event("closed", code=self.close_code, reason=self.close_reason)
            self._closed.set()
            self._on_decoded(self._decoder.interrupt())
            for outgoing in self._outgoing:
                if not outgoing.done.done():
                    outgoing.done.set_result(False)
            self._outgoing.clear()

    async def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.protocol_errors.append("binary frame (Twilio only accepts JSON text)")
            return
        try:
            data = json.loads(message)
        except ValueError:
            self.protocol_errors.append(f"invalid JSON: {message[:80]!r}")
            return
        event = data.get("event") if isinstance(data, dict) else None
        if event in ("media", "mark", "clear") and data.get("streamSid") != self.stream_sid:
            self.protocol_errors.append(f"{event} with streamSid {data.get('streamSid')!r}")
            return
        if event == "media":
            self._on_media(data)
        elif event == "mark":
            name = (data.get("mark") or {}).get("name")
            if not isinstance(name, str):
                self.protocol_errors.append("mark without mark.name")
                return
            self.marks_received.append(name)
            self._event("mark_received", name=name)
            self._playback.add_mark(name)
        elif event == "clear":
            self.clears += 1
            self._event("clear_received")
            for name in self._playback.clear():
                await self._echo_mark(name)
            self._on_decoded(self._decoder.interrupt())
        else:
            self.protocol_errors.append(f"unknown event {event!r}")

    def _on_media(self, data: dict[str, Any]) -> None:
        try:
            audio = base64.b64decode((data.get("media") or {}).get("payload", ""), validate=True)
        except (binascii.Error, TypeError, ValueError):
            self.protocol_errors.append("media payload is not base64")
            return
        now = time.monotonic()
        if self._last_media_at is None:
            self._event("first_outbound_media")
        if self._last_media_at is None or (self._playback.idle and now - self._last_media_at > _BURST_GAP):
            self._event("outbound_media_start")
        self._last_media_at = now
        self.media_arrivals.append(now)
        self.outbound_media_bytes += len(audio)
        self._playback.add_audio(audio)
