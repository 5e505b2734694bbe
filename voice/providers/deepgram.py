"""Deepgram: live speech-to-text and Aura text-to-speech over WebSockets (the only module importing the SDK).

Both sides speak the phone's own audio, mu-law 8 kHz mono, so nothing is resampled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.speak.v1.types import SpeakV1Text
from django.conf import settings

from agent.providers.loop_clients import LoopClients
from operations import metrics

logger = logging.getLogger(__name__)

# Deepgram closes a listening socket after ~10 s without audio or KeepAlive.
KEEPALIVE_SECONDS = 4.0
# Twilio's 20 ms frames go to Deepgram three at a time: a third of the sends (each a WebSocket frame, a
# write and a task wake-up, the bulk of a call's steady cost) for at most 40 ms more before the transcript.
AUDIO_BATCH_BYTES = 480
# Audio kept while the listening socket is being reopened: five seconds of the caller, at most.
MAX_BUFFERED_BYTES = 40_000


def is_configured() -> bool:
    return bool(settings.DEEPGRAM_API_KEY)


def environment() -> DeepgramClientEnvironment:
    """Deepgram's own endpoints, or DEEPGRAM_BASE_URL (self-hosted, regional, or a test server) for all of them."""
    base = settings.DEEPGRAM_BASE_URL.rstrip("/")
    if not base:
        return DeepgramClientEnvironment.PRODUCTION
    parts = urlsplit(base)
    websocket = base.replace(f"{parts.scheme}://", "wss://" if parts.scheme == "https" else "ws://", 1)
    return DeepgramClientEnvironment(base=base, production=websocket, agent=websocket, agent_rest=base)


_clients: LoopClients[AsyncDeepgramClient] = LoopClients()


def client() -> AsyncDeepgramClient:
    """The Deepgram client for this key and endpoint on the running event loop (see loop_clients)."""
    configuration = (settings.DEEPGRAM_API_KEY, settings.DEEPGRAM_BASE_URL)
    return _clients.get(
        configuration, lambda: AsyncDeepgramClient(api_key=settings.DEEPGRAM_API_KEY, environment=environment())
    )


def preload() -> None:
    """Import the SDK's listening and speaking clients now rather than on a call's first use (voice.preload)."""
    sdk = AsyncDeepgramClient(api_key="preload", environment=environment())
    _ = sdk.listen.v1, sdk.speak.v1


# --------------------------------------------------------------------------- speech to text


@dataclass(frozen=True)
class Transcript:
    text: str
    is_final: bool  # this stretch of audio will not be transcribed again
    speech_final: bool  # the caller paused long enough to end the utterance (endpointing)
    from_finalize: bool  # produced by our Finalize request
    at: float  # time.monotonic() when it arrived


@dataclass(frozen=True)
class UtteranceEnd:
    at: float


@dataclass(frozen=True)
class SpeechStarted:
    at: float


@dataclass(frozen=True)
class ListenerReconnected:
    """The listening socket dropped and is open again: what the caller said meanwhile may be lost."""

    attempt: int
    at: float


@dataclass(frozen=True)
class ListenerFailed:
    reason: str
    at: float


class Listener:
    """One call's live transcription: audio in through ``send_audio``, events out on ``events``.

    The socket is reopened when it drops (up to ``max_reconnects`` times in a row);
    audio sent meanwhile is kept (up to a few seconds) and sent when it is back.
    """

    def __init__(self, events: asyncio.Queue, *, max_reconnects: int = 5):
        self.events = events
        self._audio = bytearray()  # not yet sent, oldest first
        self._finalize = False  # a Finalize is due after the audio above
        self._ready = asyncio.Event()  # a batch or a Finalize is waiting
        self._max_reconnects = max_reconnects
        self._closing = False

    def options(self) -> dict:
        return {
            "model": settings.VOICE_STT_MODEL,
            "language": settings.VOICE_STT_LANGUAGE,
            "encoding": "mulaw",
            "sample_rate": 8000,
            "channels": 1,
            "interim_results": True,
            "endpointing": settings.VOICE_ENDPOINTING_MS,
            "utterance_end_ms": settings.VOICE_UTTERANCE_END_MS,
            "vad_events": True,
            "smart_format": True,
            "punctuate": True,
        }

    def send_audio(self, frame: bytes) -> None:
        self._audio += frame
        if len(self._audio) > MAX_BUFFERED_BYTES:
            # The oldest audio goes first: a long outage loses the start of what was said, not the end.
            del self._audio[: len(self._audio) - MAX_BUFFERED_BYTES]
        if len(self._audio) >= AUDIO_BATCH_BYTES:
            self._ready.set()

    def finalize(self) -> None:
        """Ask for the final transcript of what was heard so far (end of the caller's turn)."""
        self._finalize = True
        self._ready.set()

    def close(self) -> None:
        self._closing = True
        self._ready.set()

    async def run(self) -> None:
        failures = 0
        dg = client()
        while not self._closing:
            connected = False
            try:
                async with dg.listen.v1.connect(**self.options()) as connection:
                    connected = True
                    if failures:
                        self.events.put_nowait(ListenerReconnected(attempt=failures, at=time.monotonic()))
                    failures = 0
                    await self._pump(connection)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a refused connection, a dropped socket, a bad message
                logger.warning("speech-to-text socket failed: %s", exc)
                if not self._closing:
                    metrics.provider_error("deepgram_stt", "dropped" if connected else "connect")
            if self._closing:
                return
            failures += 1
            if failures > self._max_reconnects:
                metrics.provider_error("deepgram_stt", "gave_up")
                self.events.put_nowait(ListenerFailed(reason="speech-to-text unavailable", at=time.monotonic()))
                return
            await asyncio.sleep(min(0.2 * 2 ** (failures - 1), 2.0))

    async def _pump(self, connection) -> None:
        reader = asyncio.create_task(self._read(connection))
        writer = asyncio.create_task(self._write(connection))
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raises what ended it
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
        if not self._closing:
            raise ConnectionError("the speech-to-text socket closed")

    async def _write(self, connection) -> None:
        while not self._closing:
            if not self._ready.is_set() and not await self._wait_ready():
                await connection.send_keep_alive()  # no audio for a while (a muted stream): keep the socket
                continue
            self._ready.clear()
            audio, finalize = bytes(self._audio), self._finalize
            self._audio.clear()
            self._finalize = False
            if audio:  # an empty message would end Deepgram's stream
                await connection.send_media(audio)
            if finalize:
                await connection.send_finalize()
        await connection.send_close_stream()

    async def _wait_ready(self) -> bool:
        try:
            async with asyncio.timeout(KEEPALIVE_SECONDS):
                await self._ready.wait()
        except TimeoutError:
            return False
        return True

    async def _read(self, connection) -> None:
        async for message in connection:
            kind = getattr(message, "type", None)
            now = time.monotonic()
            if kind == "Results":
                alternatives = message.channel.alternatives if message.channel else []
                text = alternatives[0].transcript.strip() if alternatives else ""
                self.events.put_nowait(Transcript(
                    text=text,
                    is_final=bool(message.is_final),
                    speech_final=bool(message.speech_final),
                    from_finalize=bool(getattr(message, "from_finalize", False)),
                    at=now,
                ))  # fmt: skip
            elif kind == "UtteranceEnd":
                self.events.put_nowait(UtteranceEnd(at=now))
            elif kind == "SpeechStarted":
                self.events.put_nowait(SpeechStarted(at=now))


# --------------------------------------------------------------------------- text to speech


class SpeakerError(Exception):
    """Text-to-speech failed: the socket could not be opened or dropped."""


@dataclass(frozen=True)
class SpeechAudio:
    sentence: int
    audio: bytes


@dataclass(frozen=True)
class SpeechDone:
    sentence: int  # all audio of this sentence has been delivered


@dataclass(frozen=True)
class SpeechLost:
    """The text-to-speech socket dropped with sentences still owed: their audio will not come."""

    error: str


class Speaker:
    """One call's text-to-speech socket. ``say`` queues a sentence; audio and ends come out on ``events``.

    Each sentence is sent as Speak + Flush, so Deepgram answers each with its audio
    followed by Flushed, in order: audio belongs to the oldest sentence not yet flushed.
    After ``clear`` everything in flight is dropped until Deepgram confirms with Cleared.
    A socket that closed while idle is opened again on the next ``say``; one that drops
    with sentences owed reports SpeechLost.
    """

    def __init__(self, events: asyncio.Queue):
        self.events = events
        self._stack = None
        self._connection = None
        self._reader: asyncio.Task | None = None
        self._in_flight: list[int] = []
        self._discarding = False

    def options(self) -> dict:
        return {"model": settings.VOICE_TTS_MODEL, "encoding": "mulaw", "sample_rate": 8000}

    async def open(self) -> None:
        try:
            self._stack = client().speak.v1.connect(**self.options())
            self._connection = await self._stack.__aenter__()
        except Exception as exc:
            self._stack = self._connection = None
            metrics.provider_error("deepgram_tts", "connect")
            raise SpeakerError(f"text-to-speech could not connect: {exc}") from exc
        self._in_flight, self._discarding = [], False
        self._reader = asyncio.create_task(self._read(self._connection), name="tts-reader")

    async def say(self, sentence: int, text: str) -> None:
        if self._connection is None:
            await self.open()
        self._in_flight.append(sentence)
        try:
            await self._connection.send_text(SpeakV1Text(text=text))
            await self._connection.send_flush()
        except Exception as exc:
            metrics.provider_error("deepgram_tts", "send")
            raise SpeakerError(f"text-to-speech failed: {exc}") from exc

    async def clear(self) -> None:
        if self._connection is None or not self._in_flight:
            return
        self._in_flight.clear()
        self._discarding = True
        try:
            await self._connection.send_clear()
        except Exception as exc:
            metrics.provider_error("deepgram_tts", "send")
            raise SpeakerError(f"text-to-speech failed: {exc}") from exc

    async def _read(self, connection) -> None:
        error = "the text-to-speech socket closed"
        try:
            async for message in connection:
                if isinstance(message, bytes):
                    if self._in_flight and not self._discarding:
                        self.events.put_nowait(SpeechAudio(sentence=self._in_flight[0], audio=message))
                    continue
                kind = getattr(message, "type", None)
                if kind == "Flushed" and self._in_flight and not self._discarding:
                    self.events.put_nowait(SpeechDone(sentence=self._in_flight.pop(0)))
                elif kind == "Cleared":  # parsed into the Flushed class by the SDK: branch on the type
                    self._discarding = False
                elif kind == "Warning":
                    logger.warning("text-to-speech warning: %s", getattr(message, "description", message))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"text-to-speech dropped: {exc}"
        if connection is self._connection:
            self._connection = None  # the next say() opens a new socket
            if self._in_flight:
                metrics.provider_error("deepgram_tts", "dropped")  # sentences owed will never come
                self.events.put_nowait(SpeechLost(error=error))
                self._in_flight.clear()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._stack is None:
            return
        with contextlib.suppress(Exception):
            await self._connection.send_close()
        with contextlib.suppress(Exception):
            await self._stack.__aexit__(None, None, None)
        self._stack = self._connection = None


async def synthesize(text: str, *, model: str | None = None) -> bytes:
    """``text`` spoken by Aura as raw mu-law 8 kHz mono (no header): a simulated caller's voice.

    Uses the streaming socket the call's Speaker uses rather than the REST endpoint, so whatever
    DEEPGRAM_BASE_URL points at (Deepgram, a self-hosted server, the test stand-in) can serve it.
    """
    audio = bytearray()
    options = {"model": model or settings.VOICE_TTS_MODEL, "encoding": "mulaw", "sample_rate": 8000}
    async with client().speak.v1.connect(**options) as connection:
        await connection.send_text(SpeakV1Text(text=text))
        await connection.send_flush()
        async for message in connection:
            if isinstance(message, bytes):
                audio += message
            elif getattr(message, "type", None) == "Flushed":
                break  # all audio of our one flush has arrived
        await connection.send_close()
    return bytes(audio)


async def check() -> tuple[bool, str]:
    """Whether the key is accepted (lists the projects; the key itself is never shown)."""
    if not is_configured():
        return False, "not configured (DEEPGRAM_API_KEY is empty)"
    try:
        await client().manage.v1.projects.list()
    except Exception as exc:
        return False, f"unreachable or refused: {type(exc).__name__}: {str(exc)[:120]}"
    return True, "reachable, key accepted"
