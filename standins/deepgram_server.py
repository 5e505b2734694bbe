"""FakeDeepgram: a loopback server speaking Deepgram's live STT and streaming TTS protocols.

One `websockets` (asyncio API) server on 127.0.0.1 serves both the WebSockets
(/v1/listen, /v1/speak) and plain HTTP (GET /v1/projects, for a key check):
websockets calls process_request() before it looks for an Upgrade header, so
a normal GET can be answered there. http_base and ws_base therefore share a
port.

    dg = AsyncDeepgramClient(api_key=server.api_key, environment=server.environment())

Authentication is the SDK's header "Authorization: Token <key>"; a wrong key
gets HTTP 401 at the handshake, which the SDK raises as ApiError(status_code=401).
"""

from __future__ import annotations

import http
import json
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ._background import WAIT_SECONDS, BackgroundLoop, async_wait_until, wait_until
from .deepgram_listen import ListenSession
from .deepgram_records import DeepgramConnection, DropPlan
from .deepgram_session import Session
from .deepgram_speak import SpeakSession

_KINDS = {"/v1/listen": "listen", "/v1/speak": "speak"}


class FakeDeepgram:
    """Stand-in for api.deepgram.com.

    Args:
      api_key: the only key accepted.
      final_latency: seconds between the end of an utterance's audio and its final Result.
        Interims show the words as heard; ``revise_final`` makes a final say something else,
        as Deepgram's finals sometimes correct their interims.
      idle_timeout: a listen socket with no message for this long is closed (1011), like NET-0001.
      listen_metadata_on_open: also send a Metadata message when a listen socket opens
        (Deepgram itself only sends it on CloseStream; both are harmless to a correct client).
      silence_results_every: if set, a listen socket hearing only non-speech sends an empty
        final Result every this many seconds of audio, as Deepgram does during long silences
        (a client must not treat those as turns). None (default) sends nothing during silence.
      tts_first_byte_delay: seconds from Flush to the first audio chunk.
      tts_realtime_factor: TTS audio is sent this many times faster than real time.
      tts_chunk_bytes: size of each binary audio message.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        api_key: str = "dg-standin-test",
        final_latency: float = 0.15,
        idle_timeout: float = 10.0,
        listen_metadata_on_open: bool = True,
        silence_results_every: float | None = None,
        tts_first_byte_delay: float = 0.15,
        tts_realtime_factor: float = 4.0,
        tts_chunk_bytes: int = 1600,
    ) -> None:
        self.api_key = api_key
        self.final_latency = final_latency
        self.revisions: dict[str, str] = {}  # heard text -> the final sent for it
        self.idle_timeout = idle_timeout
        self.listen_metadata_on_open = listen_metadata_on_open
        self.silence_results_every = silence_results_every
        self.tts_first_byte_delay = tts_first_byte_delay
        self.tts_realtime_factor = tts_realtime_factor
        self.tts_chunk_bytes = tts_chunk_bytes
        self.port: int | None = None
        self.connections: list[DeepgramConnection] = []
        self.rejected: list[tuple[str, int]] = []  # (path, HTTP status) of refused handshakes
        self.http_requests: list[str] = []
        self._background = BackgroundLoop("fake-deepgram")
        self._server: Server | None = None
        self._sessions: set[Session] = set()
        self._lock = threading.Lock()
        self._refuse_count: dict[str, int] = {}
        self._refuse_until: dict[str, float] = {}
        self._refuse_status = http.HTTPStatus.SERVICE_UNAVAILABLE
        self._drop_plans: dict[str, deque[DropPlan]] = {"listen": deque(), "speak": deque()}

    # ------------------------------------------------------------ addresses

    @property
    def http_base(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self._port}"

    @property
    def _port(self) -> int:
        if self.port is None:
            raise RuntimeError("server not started")
        return self.port

    def environment(self):
        """A DeepgramClientEnvironment pointing every SDK base URL at this server."""
        from deepgram import DeepgramClientEnvironment

        return DeepgramClientEnvironment(
            base=self.http_base, production=self.ws_base, agent=self.ws_base, agent_rest=self.http_base
        )

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeDeepgram:
        if self._server is not None:
            return self
        self._background.start()
        self._background.run(self._start())
        return self

    async def _start(self) -> None:
        self._server = await serve(self._handle, self.host, 0, process_request=self._process_request, max_size=2**22)
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    def stop(self) -> None:
        if self._server is None:
            return
        try:
            self._background.run(self._stop(), timeout=10)
        finally:
            self._server = None
            self._background.stop()

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close(close_connections=True)
        await self._server.wait_closed()

    def __enter__(self) -> FakeDeepgram:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------ failure injection

    def revise_final(self, heard: str, final: str) -> None:
        """The final Result of an utterance heard as ``heard`` says ``final`` (its interims still show ``heard``)."""
        self.revisions[heard] = final

    def refuse_connections(
        self, count: int | None = None, *, seconds: float | None = None, status: int = 503, kind: str = "any"
    ) -> None:
        """Refuse the next `count` handshakes, or all handshakes for `seconds`, with HTTP `status`.

        kind: "listen", "speak" or "any".
        """
        kinds = ["listen", "speak"] if kind == "any" else [kind]
        with self._lock:
            self._refuse_status = http.HTTPStatus(status)
            for k in kinds:
                if count is not None:
                    self._refuse_count[k] = self._refuse_count.get(k, 0) + count
                if seconds is not None:
                    self._refuse_until[k] = time.monotonic() + seconds

    def drop_next(
        self,
        kind: str = "listen",
        *,
        after_utterances: int | None = None,
        after_flushes: int | None = None,
        after_seconds: float | None = None,
    ) -> None:
        """The next `kind` socket is aborted (TCP reset, no close frame) at the given point."""
        with self._lock:
            self._drop_plans[kind].append(DropPlan(after_utterances, after_flushes, after_seconds))

    def drop_all(self) -> None:
        """Abort every open socket right now."""
        self.drop_open()

    def drop_open(self, kind: str | None = None) -> None:
        """Abort every open socket of one kind ("listen" or "speak"), or of both, right now."""
        # Runs on the server's loop: the session set is only touched there.
        self._background.call_soon(
            lambda: [s.drop() for s in list(self._sessions) if kind is None or s.record.kind == kind]
        )

    # ------------------------------------------------------------ records

    def of_kind(self, kind: str) -> list[DeepgramConnection]:
        return [c for c in self.connections if c.kind == kind]

    @property
    def spoken_texts(self) -> list[str]:
        """Texts whose TTS audio was sent completely, over all speak sockets."""
        return [t for c in self.of_kind("speak") for t in c.spoken]

    @property
    def final_transcripts(self) -> list[str]:
        return [t for c in self.of_kind("listen") for t in c.finals]

    def wait_for_connections(
        self, count: int, kind: str = "any", timeout: float = WAIT_SECONDS
    ) -> list[DeepgramConnection]:
        def ready():
            found = self.connections if kind == "any" else self.of_kind(kind)
            return found if len(found) >= count else None

        return wait_until(ready, timeout)

    async def async_wait_for_connections(self, count: int, kind: str = "any", timeout: float = WAIT_SECONDS):
        def ready():
            found = self.connections if kind == "any" else self.of_kind(kind)
            return found if len(found) >= count else None

        return await async_wait_until(ready, timeout)

    def wait_closed(self, record: DeepgramConnection, timeout: float = WAIT_SECONDS) -> DeepgramConnection:
        """Wait until the server has finished with a socket (its close code is then recorded)."""
        wait_until(lambda: record.closed, timeout)
        return record

    async def async_wait_closed(self, record: DeepgramConnection, timeout: float = WAIT_SECONDS) -> DeepgramConnection:
        await async_wait_until(lambda: record.closed, timeout)
        return record

    def reset(self) -> None:
        with self._lock:
            self.connections.clear()
            self.rejected.clear()
            self.http_requests.clear()
            self._refuse_count.clear()
            self._refuse_until.clear()
            for plans in self._drop_plans.values():
                plans.clear()

    # ------------------------------------------------------------ handshake

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("Authorization", "") == f"Token {self.api_key}"

    def _refusal(self, kind: str) -> http.HTTPStatus | None:
        with self._lock:
            if self._refuse_count.get(kind, 0) > 0:
                self._refuse_count[kind] -= 1
                return self._refuse_status
            if time.monotonic() < self._refuse_until.get(kind, 0.0):
                return self._refuse_status
        return None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/v1/projects":
            self.http_requests.append(request.path)
            if not self._authorised(request):
                return _json_response(401, {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."})
            return _json_response(200, {"projects": [{"project_id": "standin-project", "name": "Stand-in project"}]})
        kind = _KINDS.get(url.path)
        if kind is None:
            self.rejected.append((request.path, 404))
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not found.\n")
        status = None
        if not self._authorised(request):
            status = http.HTTPStatus.UNAUTHORIZED
        elif dict(parse_qsl(url.query)).get("encoding", "mulaw") != "mulaw":
            status = http.HTTPStatus.BAD_REQUEST  # the stand-in only speaks 8 kHz mu-law
        else:
            status = self._refusal(kind)
        if status is not None:
            self.rejected.append((request.path, int(status)))
            return connection.respond(status, f"{status.phrase}\n")
        return None

    # ------------------------------------------------------------ sockets

    async def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        url = urlsplit(request.path)
        kind = _KINDS[url.path]
        items = parse_qsl(url.query, keep_blank_values=True)
        record = DeepgramConnection(kind, url.path, dict(items), items, dict(request.headers.raw_items()))
        self.connections.append(record)
        with self._lock:
            plans = self._drop_plans[kind]
            drop = plans.popleft() if plans else None
        session: Session
        if kind == "listen":
            session = ListenSession(
                ws,
                record,
                drop,
                final_latency=self.final_latency,
                revisions=self.revisions,
                idle_timeout=self.idle_timeout,
                metadata_on_open=self.listen_metadata_on_open,
                silence_results_every=self.silence_results_every,
            )
        else:
            session = SpeakSession(
                ws,
                record,
                drop,
                first_byte_delay=self.tts_first_byte_delay,
                realtime_factor=self.tts_realtime_factor,
                chunk_bytes=self.tts_chunk_bytes,
            )
        self._sessions.add(session)
        try:
            await session.run()
        finally:
            self._sessions.discard(session)
            record.closed_at = time.monotonic()
            record.close_code = ws.close_code
            record.close_reason = ws.close_reason or ""
            if record.closed_by is None:
                record.closed_by = "client"


def _json_response(status: int, body: dict[str, Any]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers(
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("Connection", "close")]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, data)
