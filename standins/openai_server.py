"""FakeOpenAI: a loopback server speaking the OpenAI REST wire protocol.

Point the real SDK at it with AsyncOpenAI(api_key=server.api_key, base_url=server.base_url).

Endpoints: POST /v1/chat/completions (streaming SSE and plain JSON),
POST /v1/embeddings (float and base64), GET /v1/models.

Replies come from a script (queue_reply / queue_text / queue_tool_calls);
when the queue is empty, `responder(messages)` answers. Timing follows
first_token_delay and tokens_per_second. Failures can be injected per request.
Every request is recorded, including whether the client hung up before the
stream ended (how a test proves a barge-in cancelled the LLM stream).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import openai_embeddings
from ._aiohttp_base import ThreadedAiohttpServer, peer_gone, sleep_unless_gone
from ._background import WAIT_SECONDS, async_wait_until, wait_until
from .openai_script import (
    Failure,
    Reply,
    Responder,
    arguments_json,
    as_reply,
    default_responder,
    error_body,
    split_arguments,
    split_tokens,
)


@dataclass
class ChatRecord:
    """One POST /v1/chat/completions as the server saw it (times are time.monotonic())."""

    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    stream: bool
    status: int = 200
    outcome: str = "pending"  # completed | client_disconnected | failed | hung | stalled | dropped | unauthorized
    reply: Reply | None = None
    tokens_sent: int = 0
    first_token_at: float | None = None
    finished_at: float | None = None

    @property
    def client_disconnected(self) -> bool:
        """The client closed the connection before the response was complete."""
        return self.outcome in ("client_disconnected", "hung", "stalled")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])


@dataclass
class EmbeddingRecord:
    body: dict[str, Any]
    received_at: float
    batch_size: int
    dimensions: int
    encoding_format: str
    status: int = 200
    outcome: str = "pending"
    inputs: list[str] = field(default_factory=list)


class FakeOpenAI(ThreadedAiohttpServer):
    """Stand-in for api.openai.com.

    Args:
      api_key: the only key accepted (Authorization: Bearer <api_key>).
      model: model name echoed in chat replies when the request gives none.
      first_token_delay: seconds from request to the first streamed token.
      tokens_per_second: pacing of later tokens; None sends them back to back.
      responder: callable(messages) -> Reply | str used when the script is empty.
      embedding_dimensions: vector size when a request gives no "dimensions".
    """

    def __init__(
        self,
        *,
        api_key: str = "sk-standin-test",
        model: str = "gpt-4o-mini",
        first_token_delay: float = 0.0,
        tokens_per_second: float | None = 200.0,
        responder: Responder | None = None,
        embedding_dimensions: int = 1536,
        embedding_model: str = "text-embedding-3-small",
    ) -> None:
        super().__init__("fake-openai")
        self.api_key = api_key
        self.model = model
        self.first_token_delay = first_token_delay
        self.tokens_per_second = tokens_per_second
        self.responder: Responder = responder or default_responder
        self.embedding_dimensions = embedding_dimensions
        self.embedding_model = embedding_model
        self.chat_requests: list[ChatRecord] = []
        self.embedding_requests: list[EmbeddingRecord] = []
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()
        self._failures: dict[str, deque[Failure]] = {"chat": deque(), "embeddings": deque()}
        self._holds: deque[threading.Event] = deque()
        self._ids = 0

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

    # ------------------------------------------------------------ scripting

    def queue_reply(self, reply: Reply | str | Sequence[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            self._replies.append(as_reply(reply))

    def queue_text(self, text: str, **overrides: Any) -> None:
        self.queue_reply(Reply(text=text, **overrides))

    def queue_tool_calls(
        self, calls: Sequence[tuple[str, dict[str, Any]]], *, text: str | None = None, **overrides: Any
    ) -> None:
        self.queue_reply(Reply(text=text, tool_calls=[(n, dict(a)) for n, a in calls], **overrides))

    @property
    def pending_replies(self) -> int:
        return len(self._replies)

    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        *,
        endpoint: str = "chat",
        message: str | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        """The next `count` requests to `endpoint` ("chat" or "embeddings") get HTTP `status`."""
        self._add_failures(endpoint, count, Failure("status", status, message, retry_after_ms))

    def hang_next(self, count: int = 1, *, endpoint: str = "chat") -> None:
        """The next requests are accepted and never answered until the client disconnects."""
        self._add_failures(endpoint, count, Failure("hang"))

    def stall_next(self, count: int = 1) -> None:
        """The next chat streams send headers and the role chunk, then go silent."""
        self._add_failures("chat", count, Failure("stall"))

    def drop_next(self, count: int = 1, *, after_tokens: int = 2) -> None:
        """The next chat streams are cut (TCP abort, no [DONE]) after `after_tokens` tokens."""
        self._add_failures("chat", count, Failure("drop", after_tokens=after_tokens))

    def hold_next(self) -> threading.Event:
        """The next chat request is recorded, then answered only once the returned event is set.

        A test orders events this way (one request still open while another runs) without relying on delays.
        """
        release = threading.Event()
        with self._lock:
            self._holds.append(release)
        return release

    def _add_failures(self, endpoint: str, count: int, failure: Failure) -> None:
        if endpoint not in self._failures:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        with self._lock:
            self._failures[endpoint].extend(Failure(**vars(failure)) for _ in range(count))

    def reset(self) -> None:
        """Forget script, failures and records (keeps configuration)."""
        with self._lock:
            self._replies.clear()
            for queue in self._failures.values():
                queue.clear()
            for release in self._holds:
                release.set()
            self._holds.clear()
            self.chat_requests.clear()
            self.embedding_requests.clear()

    def wait_for_chat_requests(self, count: int, timeout: float = WAIT_SECONDS) -> list[ChatRecord]:
        wait_until(lambda: len(self.chat_requests) >= count, timeout)
        return self.chat_requests

    async def async_wait_for_chat_requests(self, count: int, timeout: float = WAIT_SECONDS) -> list[ChatRecord]:
        await async_wait_until(lambda: len(self.chat_requests) >= count, timeout)
        return self.chat_requests

    def wait_for_outcome(self, index: int = -1, timeout: float = WAIT_SECONDS) -> ChatRecord:
        """Wait until chat request `index` has finished one way or another."""
        wait_until(lambda: self.chat_requests and self.chat_requests[index].outcome != "pending", timeout)
        return self.chat_requests[index]

    async def async_wait_for_outcome(self, index: int = -1, timeout: float = WAIT_SECONDS) -> ChatRecord:
        await async_wait_until(lambda: self.chat_requests and self.chat_requests[index].outcome != "pending", timeout)
        return self.chat_requests[index]

    # ------------------------------------------------------------ plumbing

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth_middleware])
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        return app

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler):
        if request.headers.get("Authorization", "") != f"Bearer {self.api_key}":
            if request.path.endswith("/chat/completions"):
                self.chat_requests.append(
                    ChatRecord({}, dict(request.headers), time.monotonic(), False, 401, "unauthorized")
                )
            return web.json_response(error_body(401), status=401)
        return await handler(request)

    def _next_failure(self, endpoint: str) -> Failure | None:
        with self._lock:
            queue = self._failures[endpoint]
            return queue.popleft() if queue else None

    def _next_reply(self, messages: list[dict[str, Any]]) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return as_reply(self.responder(messages))

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids:06d}{uuid.uuid4().hex[:18]}"

    def _error(self, failure: Failure) -> web.Response:
        headers = {}
        if failure.retry_after_ms is not None:
            headers["retry-after-ms"] = str(failure.retry_after_ms)
        return web.json_response(error_body(failure.status, failure.message), status=failure.status, headers=headers)

    async def _wait_if_held(self, request: web.Request) -> None:
        with self._lock:
            release = self._holds.popleft() if self._holds else None
        while release is not None and not release.is_set() and not peer_gone(request) and not self.stopping:
            await asyncio.sleep(0.01)

    async def _hang(self, request: web.Request) -> None:
        while not peer_gone(request) and not self.stopping:
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------ chat

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(error_body(400, "We could not parse the JSON body of your request."), status=400)
        except ConnectionResetError:  # the client gave up while sending (a reply cancelled as it was asked)
            return web.Response(status=499)
        record = ChatRecord(body, dict(request.headers), received, bool(body.get("stream")))
        self.chat_requests.append(record)
        if not isinstance(body.get("messages"), list) or not body.get("model"):
            record.status, record.outcome = 400, "failed"
            return web.json_response(error_body(400, "'messages' and 'model' are required."), status=400)

        await self._wait_if_held(request)
        failure = self._next_failure("chat")
        if failure and failure.kind == "status":
            record.status, record.outcome = failure.status, "failed"
            record.finished_at = time.monotonic()
            return self._error(failure)
        if failure and failure.kind == "hang":
            record.outcome = "hung"
            await self._hang(request)
            record.finished_at = time.monotonic()
            return web.Response(status=204)

        reply = record.reply = self._next_reply(body["messages"])
        if record.stream:
            return await self._stream_chat(request, record, reply, failure)
        return await self._complete_chat(request, record, reply)

    def _pacing(self, reply: Reply) -> tuple[float, float]:
        delay = self.first_token_delay if reply.first_token_delay is None else reply.first_token_delay
        rate = self.tokens_per_second if reply.tokens_per_second is None else reply.tokens_per_second
        return delay, (1.0 / rate if rate else 0.0)

    def _usage(self, record: ChatRecord, completion_tokens: int) -> dict[str, int]:
        prompt = sum(len(str(m.get("content") or "").split()) + 3 for m in record.messages)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
        }

    async def _complete_chat(self, request: web.Request, record: ChatRecord, reply: Reply) -> web.StreamResponse:
        delay, interval = self._pacing(reply)
        tokens = split_tokens(reply.text or "")
        if not await sleep_unless_gone(request, delay + interval * max(len(tokens) - 1, 0), self):
            record.outcome, record.finished_at = "client_disconnected", time.monotonic()
            return web.Response(status=204)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self._new_id("call_"),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments_json(args)},
                }
                for name, args in reply.tool_calls
            ]
        payload = {
            "id": self._new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model or record.body.get("model") or self.model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": reply.effective_finish_reason, "logprobs": None}
            ],
            "usage": self._usage(record, len(tokens)),
        }
        record.tokens_sent = len(tokens)
        record.first_token_at = record.finished_at = time.monotonic()
        record.outcome = "completed"
        return web.json_response(payload)

    def _stream_deltas(self, reply: Reply) -> list[tuple[dict[str, Any], bool]]:
        """(delta, counts_as_token) pairs after the role chunk, in sending order."""
        deltas: list[tuple[dict[str, Any], bool]] = [({"content": t}, True) for t in split_tokens(reply.text or "")]
        for index, (name, args) in enumerate(reply.tool_calls):
            head = {
                "index": index,
                "id": self._new_id("call_"),
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            deltas.append(({"tool_calls": [head]}, True))
            for piece in split_arguments(arguments_json(args)):
                deltas.append(({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, True))
        return deltas

    async def _stream_chat(
        self, request: web.Request, record: ChatRecord, reply: Reply, failure: Failure | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        include_usage = bool((record.body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": self._new_id("chatcmpl-"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": reply.model or record.body.get("model") or self.model,
            "system_fingerprint": "fp_standin",
        }

        async def send(
            choices: list[dict[str, Any]], usage: dict[str, int] | None = None, *, last: bool = False
        ) -> bool:
            chunk = dict(base, choices=choices)
            if include_usage:
                chunk["usage"] = usage
            data = f"data: {json.dumps(chunk)}\n\n"
            if last:
                data += "data: [DONE]\n\n"
            try:
                await response.write(data.encode())
            except (ConnectionError, RuntimeError):
                return False
            return not peer_gone(request)

        def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]

        delay, interval = self._pacing(reply)
        start = record.received_at
        deltas = self._stream_deltas(reply)

        def finish(outcome: str) -> web.StreamResponse:
            record.outcome, record.finished_at = outcome, time.monotonic()
            return response

        if not await sleep_unless_gone(request, start + delay - time.monotonic(), self):
            return finish("client_disconnected")
        if not await send(choice({"role": "assistant", "content": "", "refusal": None})):
            return finish("client_disconnected")
        record.first_token_at = time.monotonic()
        if failure and failure.kind == "stall":
            await self._hang(request)
            return finish("stalled")

        for i, (delta, _) in enumerate(deltas):
            if failure and failure.kind == "drop" and record.tokens_sent >= failure.after_tokens:
                if request.transport is not None:
                    request.transport.abort()
                return finish("dropped")
            due = start + delay + i * interval
            if not await sleep_unless_gone(request, due - time.monotonic(), self):
                return finish("client_disconnected")
            if not await send(choice(delta)):
                return finish("client_disconnected")
            record.tokens_sent += 1

        usage = self._usage(record, record.tokens_sent)
        if include_usage:
            ok = await send(choice({}, reply.effective_finish_reason)) and await send([], usage, last=True)
        else:
            ok = await send(choice({}, reply.effective_finish_reason), last=True)
        if not ok:
            return finish("client_disconnected")
        try:
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            return finish("client_disconnected")
        return finish("completed")

    # ------------------------------------------------------------ embeddings

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(error_body(400, "We could not parse the JSON body of your request."), status=400)
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
        # Token-array inputs are embedded by their token list's text form.
        inputs = [x if isinstance(x, str) else json.dumps(x) for x in inputs]
        dimensions = int(body.get("dimensions") or self.embedding_dimensions)
        encoding = body.get("encoding_format") or "float"
        record = EmbeddingRecord(body, received, len(inputs), dimensions, encoding, inputs=inputs)
        self.embedding_requests.append(record)

        failure = self._next_failure("embeddings")
        if failure and failure.kind == "hang":
            record.outcome = "hung"
            await self._hang(request)
            return web.Response(status=204)
        if failure:
            record.status, record.outcome = failure.status, "failed"
            return self._error(failure)
        if not inputs or any(not x for x in inputs) or encoding not in ("float", "base64") or dimensions < 1:
            record.status, record.outcome = 400, "failed"
            return web.json_response(error_body(400, "'$.input' is invalid."), status=400)

        data = []
        for index, text in enumerate(inputs):
            vector = openai_embeddings.embed(text, dimensions)
            value: Any = openai_embeddings.to_base64(vector) if encoding == "base64" else vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        tokens = sum(len(x.split()) for x in inputs)
        record.outcome = "completed"
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model") or self.embedding_model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # ------------------------------------------------------------ models

    async def _models(self, request: web.Request) -> web.Response:
        created = 1_700_000_000
        ids = [self.model, "gpt-4o", self.embedding_model]
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": i, "object": "model", "created": created, "owned_by": "system"} for i in dict.fromkeys(ids)
                ],
            }
        )
