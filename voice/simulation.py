"""Simulated phone calls: Twilio's side of a call played against our own server, for support and benchmarks.

Used by ``manage.py simulate_call`` (one call, typed or scripted) and ``bench/voice.py`` (many at once).
The pieces, each usable alone:

- ``Standins``: loopback servers for what a simulated call must not reach for real. Twilio's REST API is
  always a stand-in (the call itself is simulated); Deepgram when its key is empty (or when asked, for
  benchmarks); a model only when a benchmark brings one (bench/standin_model.py). Otherwise the server's
  own agent answers: the model when OPENAI_API_KEY is set, the offline agent when it is not.
  ``settings_values()`` says which settings point the product at them.
- ``InProcessServer``: Daphne serving ``dealership.asgi:application`` on loopback, in a thread.
- ``SimulatedCall``: one call as Twilio would place it: the signed incoming-call webhook POSTed over HTTP
  to the server, then a ``MediaStreamPeer`` on the stream the TwiML names, with the CallSid and token.
- ``call_report``: per-turn figures from the peer's timeline and the call's Turn rows; ``barge_in_figures``:
  how soon the agent stopped for a line said over it.

The stand-ins are the ``standins`` package at the repository root (loopback servers, not a Django app);
outside tests only this module, the command and the benchmarks use them.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import functools
import hashlib
import hmac
import logging
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from xml.etree import ElementTree

from django.conf import settings
from django.db import close_old_connections, connections
from django.urls import reverse

from standins import FakeDeepgram, FakeOpenAI, FakeTwilio, MediaStreamPeer
from standins.twilio_calls import new_sid
from voice.metrics import nearest_rank
from voice.models import Call, Speaker, Turn
from voice.security import media_stream_url, public_url

DEALERSHIP_NUMBER = "+16025550100"  # the demo dealership's main line (555-01xx numbers are fictional)


class SimulationError(Exception):
    """The simulated call could not be placed or went wrong; the message says why in one sentence."""


# --------------------------------------------------------------------------- stand-ins


@dataclass(frozen=True)
class Latencies:
    """How slowly the stand-ins answer, in seconds (defaults: DESIGN.md's budget assumptions)."""

    stt_final: float = 0.15  # end of the caller's speech -> final transcript
    llm_first_token: float = 0.35  # request -> first token
    llm_tokens_per_second: float = 40.0
    tts_first_byte: float = 0.15  # text flushed -> first audio byte
    tts_realtime_factor: float = 4.0  # TTS audio arrives this many times faster than it plays


class Standins:
    """The loopback stand-ins a simulated call needs, started and stopped together.

    ``use_real_providers``: keep the real Deepgram when its key is set (simulate_call); False puts it behind a
    stand-in (benchmarks need fixed latencies). The model is a stand-in only when a benchmark gives one
    (``responder``, what it answers); otherwise the server's own agent answers: the model when OPENAI_API_KEY
    is set, the offline agent when it is not.
    """

    def __init__(self, latencies: Latencies = Latencies(), *, responder=None, use_real_providers: bool = True):
        self.latencies = latencies
        self.deepgram: FakeDeepgram | None = None
        self.openai: FakeOpenAI | None = None
        self.twilio = FakeTwilio()
        if not (use_real_providers and settings.DEEPGRAM_API_KEY):
            self.deepgram = FakeDeepgram(final_latency=latencies.stt_final,
                                         tts_first_byte_delay=latencies.tts_first_byte,
                                         tts_realtime_factor=latencies.tts_realtime_factor)  # fmt: skip
        if responder is not None:
            self.openai = FakeOpenAI(first_token_delay=latencies.llm_first_token,
                                     tokens_per_second=latencies.llm_tokens_per_second,
                                     responder=responder)  # fmt: skip

    def start(self) -> Standins:
        for server in self._servers():
            server.start()
        return self

    def stop(self) -> None:
        for server in self._servers():
            with contextlib.suppress(Exception):
                server.stop()

    def __enter__(self) -> Standins:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _servers(self):
        return [server for server in (self.twilio, self.deepgram, self.openai) if server is not None]

    def settings_values(self) -> dict[str, str]:
        """The settings that point the product at these stand-ins (as strings: they also go in an environment)."""
        from knowledge.embeddings.registry import provider_name

        values = {
            "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "TWILIO_API_BASE_URL": self.twilio.base_url,
        }
        if self.deepgram is not None:
            values.update(DEEPGRAM_API_KEY=self.deepgram.api_key, DEEPGRAM_BASE_URL=self.deepgram.http_base)
        if self.openai is not None:
            if settings.KNOWLEDGE_EMBEDDING_PROVIDER == "auto":
                # "auto" would now pick OpenAI (it has a key), i.e. the stand-in's made-up vectors; keep the
                # provider the knowledge base was embedded with.
                values["KNOWLEDGE_EMBEDDING_PROVIDER"] = provider_name()
            values.update(OPENAI_API_KEY=self.openai.api_key, OPENAI_BASE_URL=self.openai.base_url)
        return values

    def describe(self) -> list[str]:
        """One line per provider saying what answers the call, for the command's header."""
        lat = self.latencies
        if self.deepgram is not None:
            speech = (f"stand-in Deepgram (speech is text carried in audio; final transcript "
                      f"{lat.stt_final * 1000:.0f} ms after the caller stops, first TTS byte after "
                      f"{lat.tts_first_byte * 1000:.0f} ms)")  # fmt: skip
        else:
            where = settings.DEEPGRAM_BASE_URL or "api.deepgram.com"
            speech = f"Deepgram at {where} (the caller's lines are spoken by Aura)"
        if self.openai is not None:
            model = (f"a benchmark's stand-in model (first token after {lat.llm_first_token * 1000:.0f} ms, then "
                     f"{lat.llm_tokens_per_second:g} tokens/s)")  # fmt: skip
        elif settings.OPENAI_API_KEY:
            model = f"{settings.OPENAI_MODEL} at {settings.OPENAI_BASE_URL or 'api.openai.com'}"
        else:
            model = "the offline agent (OPENAI_API_KEY is empty): a fixed dialogue over the same tools"
        twilio = "stand-in REST API (hang-ups and transfers end the simulated stream)"
        return [f"speech:  {speech}", f"model:   {model}", f"twilio:  {twilio}"]


@contextlib.contextmanager
def overridden_settings(values: dict[str, str]) -> Iterator[None]:
    """Set Django settings for the duration (the in-process server reads them per call), then restore them."""
    from knowledge.embeddings import reset_embedder

    missing = object()
    saved = {name: getattr(settings, name, missing) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    reset_embedder()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                delattr(settings, name)
            else:
                setattr(settings, name, value)
        reset_embedder()


# --------------------------------------------------------------------------- the server


class InProcessServer:
    """Daphne serving the project's ASGI application on 127.0.0.1, in a daemon thread.

    Twisted's reactor can run once per process, so there is one of these per process at most.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.requested_port = host, port
        self.port: int | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> int:
        import daphne.server  # installs the asyncio reactor: must come before anything imports Twisted's
        from daphne.endpoints import build_endpoint_description_strings

        from dealership.asgi import application

        server = daphne.server.Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=self.host, port=self.requested_port),
            signal_handlers=False,
            verbosity=0,
        )
        self._thread = threading.Thread(target=server.run, name="daphne", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.listening_addresses:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise SimulationError("Daphne did not start listening.")
            time.sleep(0.02)
        self.port = server.listening_addresses[0][1]
        return self.port

    def stop(self) -> None:
        from twisted.internet import reactor

        if self._thread is not None and self._thread.is_alive():
            reactor.callFromThread(reactor.stop)
            self._thread.join(timeout=10)


# --------------------------------------------------------------------------- placing a call


@dataclass(frozen=True)
class Endpoint:
    """Where simulated Twilio reaches the server, and what it signs (Twilio signs the public URLs)."""

    stream_url: str  # ws://host:port/ws/voice/ the peer connects to
    webhook_url: str  # http://host:port/voice/incoming/ the incoming-call webhook is POSTed to
    public_webhook_url: str  # PUBLIC_BASE_URL + /voice/incoming/
    public_stream_url: str  # the ws(s):// URL of the stream on PUBLIC_BASE_URL
    account_sid: str
    auth_token: str

    @classmethod
    def at(cls, stream_url: str, *, account_sid: str, auth_token: str) -> Endpoint:
        """The server whose media-stream socket is ``stream_url``; its webhooks are on the same host.

        Public URLs come from this process's PUBLIC_BASE_URL, which must be the server's.
        """
        parts = urllib.parse.urlsplit(stream_url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise SimulationError(f"{stream_url} is not a ws:// or wss:// URL.")
        http = "https" if parts.scheme == "wss" else "http"
        incoming = reverse("voice:incoming")
        return cls(stream_url=stream_url, webhook_url=f"{http}://{parts.netloc}{incoming}",
                   public_webhook_url=public_url(incoming), public_stream_url=media_stream_url(),
                   account_sid=account_sid, auth_token=auth_token)  # fmt: skip


def twilio_form_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """X-Twilio-Signature of a form webhook: base64 HMAC-SHA1 of the URL followed by each sorted name and value.

    Written out here because the Twilio SDK is only imported by voice.providers.twilio (which only checks
    signatures); the server checks this one with the SDK's RequestValidator.
    """
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def post_incoming_call(endpoint: Endpoint, *, call_sid: str, from_number: str, to_number: str) -> dict[str, str]:
    """POST Twilio's "a call comes in" webhook; returns the <Parameter>s of the <Stream> the TwiML connects to."""
    params = {"AccountSid": endpoint.account_sid, "ApiVersion": "2010-04-01", "CallSid": call_sid,
              "CallStatus": "ringing", "Direction": "inbound", "From": from_number, "To": to_number}  # fmt: skip
    request = urllib.request.Request(
        endpoint.webhook_url,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": twilio_form_signature(endpoint.public_webhook_url, params, endpoint.auth_token),
                 "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        hint = " (the server's TWILIO_AUTH_TOKEN or PUBLIC_BASE_URL differs from ours)" if exc.code == 403 else ""
        raise SimulationError(f"The incoming-call webhook answered HTTP {exc.code}{hint}: {detail}") from None
    except OSError as exc:
        raise SimulationError(f"Could not reach {endpoint.webhook_url}: {exc}") from None
    stream = ElementTree.fromstring(body).find("./Connect/Stream")
    if stream is None:
        twiml = body.decode(errors="replace")[:300]
        raise SimulationError("The server did not connect the call to the agent (its TwiML has no <Stream>; "
                              f"is the phone agent configured there?): {twiml}")  # fmt: skip
    return {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


@dataclass
class CallerLine:
    text: str
    started_at: float  # time.monotonic() when the caller began speaking
    ended_at: float  # ... and when the last frame of it was sent


AGENT_ACTIVITY = frozenset({"first_outbound_media", "outbound_media_start", "heard_start", "heard", "mark_received",
                            "mark_echoed"})  # fmt: skip


class SimulatedCall:
    """One call: registered with the stand-in Twilio (if any), announced by webhook, streamed by a peer.

    ``voice``: "text" speaks the caller's lines as text in audio (understood by the stand-in Deepgram
    only); "aura" has Deepgram Aura speak them (DEEPGRAM_API_KEY of this process), for a real Deepgram.
    Use from one event loop (the peer's).
    """

    def __init__(self, endpoint: Endpoint, *, from_number: str, to_number: str = DEALERSHIP_NUMBER,
                 twilio: FakeTwilio | None = None, voice: str = "text"):  # fmt: skip
        if voice not in ("text", "aura"):
            raise ValueError("voice is 'text' or 'aura'")
        self.endpoint, self.from_number, self.to_number = endpoint, from_number, to_number
        self.twilio, self.voice = twilio, voice
        self.call_sid = ""
        self.peer: MediaStreamPeer | None = None
        self.lines: list[CallerLine] = []
        self.connected_at: float | None = None

    async def start(self) -> MediaStreamPeer:
        if self.twilio is not None:
            self.call_sid = self.twilio.add_call(from_=self.from_number, to=self.to_number).sid
        else:
            self.call_sid = new_sid("CA")  # the server's own Twilio does not know it: hang-ups reach nobody
        parameters = await asyncio.to_thread(post_incoming_call, self.endpoint, call_sid=self.call_sid,
                                             from_number=self.from_number, to_number=self.to_number)  # fmt: skip
        self.peer = MediaStreamPeer(self.endpoint.stream_url, auth_token=self.endpoint.auth_token,
                                    public_url=self.endpoint.public_stream_url, account_sid=self.endpoint.account_sid,
                                    call_sid=self.call_sid, custom_parameters=parameters)  # fmt: skip
        if self.twilio is not None:
            self.twilio.attach_stream(self.call_sid, self.peer)  # a hang-up or transfer then ends the stream
        try:
            await self.peer.connect()
        except Exception as exc:
            raise SimulationError(f"The media stream was refused: {exc}") from None
        self.connected_at = self.peer.timeline[0].t
        return self.peer

    @property
    def ended(self) -> bool:
        return self.peer is None or self.peer.closed

    async def say(self, text: str) -> CallerLine | None:
        """Speak one line in real time; None if the call ended first."""
        audio = await _synthesize(text) if self.voice == "aura" else None
        started = time.monotonic()
        sent = await (self.peer.send_audio(audio) if audio is not None else self.peer.say(text))
        if not sent:
            return None
        line = CallerLine(text, started, time.monotonic())
        self.lines.append(line)
        return line

    async def wait_for_agent(self, since: float, *, quiet: float = 0.8, start_within: float = 15.0,
                             longest: float = 120.0) -> bool:  # fmt: skip
        """Wait until the agent has spoken after ``since`` and finished: its audio stopped coming, every mark it
        sent has played, and nothing new came for ``quiet`` seconds. False if it did not start within
        ``start_within`` seconds, went on for longer than ``longest``, or the call ended."""
        peer = self.peer
        began = time.monotonic()
        received, last_audio = peer.outbound_media_bytes, None
        while True:
            now = time.monotonic()
            if peer.closed:
                return False
            if peer.outbound_media_bytes != received:  # audio frames are not timeline events: watch the count
                received, last_audio = peer.outbound_media_bytes, now
            activity = [e.t for e in peer.timeline[-12:] if e.kind in AGENT_ACTIVITY and e.t >= since]
            if last_audio is not None:
                activity.append(last_audio)
            if not activity and now - began > start_within or now - began > longest:
                return False
            playing = len(peer.marks_echoed) < len(peer.marks_received)
            if activity and not playing and now - max(activity) >= quiet:
                return True
            await asyncio.sleep(0.05)

    async def wait_for_audio(self, since: float, *, within: float = 15.0) -> float | None:
        """When the first agent audio frame after ``since`` arrived (waiting for it up to ``within`` seconds);
        None if none came or the call ended."""
        peer = self.peer
        arrivals = peer.media_arrivals
        deadline = time.monotonic() + within
        while not (arrivals and arrivals[-1] >= since):
            if peer.closed or time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
        return arrivals[bisect.bisect_left(arrivals, since)]

    async def hang_up(self) -> None:
        if self.peer is not None and not self.peer.closed:
            await self.peer.send_stop()
        await self.close()

    async def close(self) -> None:
        if self.peer is not None:
            await self.peer.__aexit__(None, None, None)
        if self.twilio is not None and self.call_sid:
            self.twilio.detach_stream(self.call_sid)


async def _synthesize(text: str) -> bytes:
    from voice.providers import deepgram

    try:
        async with asyncio.timeout(30):
            return await deepgram.synthesize(text)
    except Exception as exc:
        raise SimulationError(f"Deepgram Aura could not speak the caller's line: {exc}") from None


# --------------------------------------------------------------------------- figures


@dataclass
class TurnFigures:
    """One caller line and the agent's answer to it; latencies in milliseconds."""

    caller: str
    agent: str = ""  # what the agent said (from its Turn row), "" if not recorded
    heard: str = ""  # what of it the caller heard
    first_token_ms: int | None = None  # final transcript -> the model's first token
    tts_first_byte_ms: int | None = None  # final transcript -> first audio byte from TTS
    first_frame_ms: int | None = None  # final transcript -> first audio frame sent to Twilio
    first_mark_ms: int | None = None  # final transcript -> first mark back (the caller heard the start)
    server_ms: int | None = None  # the server's own time in first_frame_ms (whole ms, as stored)
    caller_wait_ms: float | None = None  # at the peer: end of the caller's speech -> first agent audio


@dataclass
class CallReport:
    call_sid: str
    greeting_ms: float | None  # at the peer: stream start -> first audio frame of the greeting
    turns: list[TurnFigures] = field(default_factory=list)
    outcome: str = ""
    end_reason: str = ""


def caller_wait_ms(peer: MediaStreamPeer, line: CallerLine) -> float | None:
    """End of the caller's line -> the first agent audio that arrived after it (as the caller experiences it)."""
    for event in peer.timeline:
        if event.kind in ("outbound_media_start", "first_outbound_media") and event.t >= line.ended_at:
            return (event.t - line.ended_at) * 1000
    return None


# The server paces agent audio in real time (20 ms frames, two every 40 ms): a gap this long is its audio stopped.
AUDIO_STOPPED_GAP = 0.1


@dataclass(frozen=True)
class BargeInFigures:
    """A caller line said over the agent, at the caller: ms from the line's first frame sent."""

    over_agent: bool  # agent audio was arriving when the line began (else there was nothing to interrupt)
    quiet_ms: float  # -> the last agent frame before its audio stopped (0: none came after the line began)
    clear_ms: float | None  # -> Twilio's clear (None: none came)


def line_first_frame_at(peer: MediaStreamPeer, line: CallerLine) -> float | None:
    """When the first frame of ``line`` went out (its sent_utterance_start; None for audio sent without text)."""
    for event in reversed(peer.timeline):
        if event.t < line.started_at:
            break
        if event.kind == "sent_utterance_start" and event.data.get("text") == line.text:
            return event.t
    return None


def barge_in_figures(peer: MediaStreamPeer, line: CallerLine) -> BargeInFigures | None:
    """How soon the agent went quiet, and Twilio was told to clear, after the caller began ``line`` over it.

    Quiet: the arrival of the last agent frame before a gap of AUDIO_STOPPED_GAP or the clear, whichever
    comes first (what had arrived by then still plays from Twilio's buffer). None if ``line`` has no start.
    """
    start = line_first_frame_at(peer, line)
    if start is None:
        return None
    arrivals = peer.media_arrivals
    first_after = bisect.bisect_right(arrivals, start)
    over_agent = first_after > 0 and start - arrivals[first_after - 1] < AUDIO_STOPPED_GAP
    clear = next((e.t for e in peer.timeline if e.kind == "clear_received" and e.t >= start), None)
    quiet = start
    for index in range(first_after, len(arrivals)):  # not islice: it would walk the whole call's frames first
        arrived = arrivals[index]
        if arrived - quiet >= AUDIO_STOPPED_GAP or (clear is not None and arrived > clear):
            break
        quiet = arrived
    clear_ms = None if clear is None else (clear - start) * 1000
    return BargeInFigures(over_agent, (quiet - start) * 1000, clear_ms)


def greeting_ms(peer: MediaStreamPeer) -> float | None:
    """Stream start (the socket opened and start was sent) -> the first audio frame from the server."""
    connected = next((e.t for e in peer.timeline if e.kind == "connected"), None)
    first = next((e.t for e in peer.timeline if e.kind == "first_outbound_media"), None)
    return None if connected is None or first is None else (first - connected) * 1000


def recorded_turns(call_sid: str) -> list[Turn]:
    """The call's saved turns in order ([] when this database does not have the call, e.g. a remote server's)."""
    return list(Turn.objects.filter(call__call_sid=call_sid).order_by("position"))


def call_report(call: SimulatedCall, turns: list[Turn], record: Call | None = None) -> CallReport:
    """Pair each caller line with the agent turn that answered it (the next agent turn after its caller turn)."""
    report = CallReport(call.call_sid, greeting_ms(call.peer) if call.peer else None)
    if record is not None:
        report.outcome, report.end_reason = record.get_outcome_display(), record.end_reason
    answers = _answers_by_caller_turn(turns)
    for index, line in enumerate(call.lines):
        figures = TurnFigures(caller=line.text, caller_wait_ms=caller_wait_ms(call.peer, line) if call.peer else None)
        if index < len(answers) and answers[index] is not None:
            agent = answers[index]
            figures.agent, figures.heard = agent.text, agent.heard_text
            figures.first_token_ms, figures.tts_first_byte_ms = agent.agent_first_token_ms, agent.tts_first_byte_ms
            figures.first_frame_ms, figures.first_mark_ms = agent.first_frame_ms, agent.first_mark_ms
            figures.server_ms = agent.server_ms
        report.turns.append(figures)
    return report


def _answers_by_caller_turn(turns: list[Turn]) -> list[Turn | None]:
    answers: list[Turn | None] = []
    for turn in turns:
        if turn.speaker == Speaker.CALLER:
            answers.append(None)
        elif turn.speaker == Speaker.AGENT and answers and answers[-1] is None:
            answers[-1] = turn
    return answers


class DatabaseReader:
    """The harness's own database reads, in one thread of their own (``await reader(function, *args)``).

    Not Django's thread-sensitive executor: in this process that thread is also the in-process server's
    database thread, and a read polling there would hold up the calls' own writes.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulation-db")

    async def __call__(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, function, args)

    @staticmethod
    def _run(function, args):
        close_old_connections()
        return function(*args)

    def close(self) -> None:
        self._executor.submit(connections.close_all).result(timeout=10)
        self._executor.shutdown(wait=True)


def twilio_was_told(twilio: FakeTwilio, call_sid: str) -> str:
    """What the server last asked Twilio to do with the call, in words ("" if nothing)."""
    updates = [update for update in twilio.updates if update.call_sid == call_sid]
    if not updates:
        return ""
    params = updates[-1].params
    if params.get("Status") == "completed":
        return "hang up"
    twiml = params.get("Twiml", "")
    dialled = re.search(r"<Dial[^>]*>\s*(?:<Number[^>]*>)?([^<]+)<", twiml)
    if dialled:
        return f"ring {dialled.group(1).strip()} (a transfer to a person)"
    if "<Record" in twiml:
        return "take a message (record the caller)"
    return "play other TwiML"


def call_record(call_sid: str) -> Call | None:
    """The call's record (None if this database does not know the call)."""
    return Call.objects.filter(call_sid=call_sid).first()


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (voice.metrics.nearest_rank) of the known values, None for none."""
    return nearest_rank(sorted(v for v in values if v is not None), fraction)


def quiet_logs(level: int = logging.WARNING) -> Callable[[], None]:
    """Raise the root log level (the server's per-call INFO lines would bury the conversation); returns an undo."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(max(level, previous))
    return functools.partial(root.setLevel, previous)
