"""The agent's model: OpenAI chat completions, streamed, through the official SDK (the only module importing it
for the agent). Any OpenAI-compatible endpoint works through OPENAI_BASE_URL."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import openai
from django.conf import settings

from agent import metrics
from agent.events import AgentError, TextDelta, ToolCall
from agent.providers.loop_clients import LoopClients

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


_clients: LoopClients[openai.AsyncOpenAI] = LoopClients()


def client() -> openai.AsyncOpenAI:
    """The OpenAI client for this key and endpoint on the running event loop (see loop_clients).

    Retries would only add to a caller's wait: the session has its own timeout and fallback. The HTTP client
    is the SDK's default one, which also marks when each request leaves (agent.metrics.REQUEST_SENT).
    """
    configuration = (settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.VOICE_AGENT_TIMEOUT_SECONDS)
    return _clients.get(configuration, lambda: openai.AsyncOpenAI(
        api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.VOICE_AGENT_TIMEOUT_SECONDS, max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(event_hooks={"request": [_request_leaving]}),
    ))  # fmt: skip


async def _request_leaving(request) -> None:
    metrics.mark_request_sent()


def preload() -> None:
    """Build a client once, importing what the SDK loads on first use (voice.preload loads it); it is not kept."""
    openai.AsyncOpenAI(api_key="preload", base_url=settings.OPENAI_BASE_URL or None)


class OpenAIChat:
    """Streams one reply: text as it comes, then any tool calls whole."""

    def __init__(self):
        self._client = client()

    async def stream(self, messages: list[dict], tools: list[dict]) -> AsyncIterator[TextDelta | ToolCall]:
        body = {"model": settings.OPENAI_MODEL, "messages": messages, "stream": True, "temperature": 0.3}
        if tools:
            body["tools"] = tools
        try:
            # The SDK's own request (auth, endpoint, timeout, errors, server-sent events), with the chunks left
            # as the JSON they are: chat.completions.create() builds a pydantic model of every chunk, which at
            # 40 chunks a second per speaking call was a tenth of the voice server's CPU.
            stream = await self._client.post(
                "/chat/completions", body=body, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object]
            )
        except openai.APIError as exc:
            raise AgentError(_describe(exc)) from exc
        calls: dict[int, dict] = {}
        try:
            async for chunk in stream:
                choices = chunk.get("choices") if isinstance(chunk, dict) else None
                if not choices or not isinstance(choices[0], dict):
                    continue
                delta = choices[0].get("delta") or {}
                if delta.get("content"):
                    yield TextDelta(delta["content"])
                for fragment in delta.get("tool_calls") or []:
                    call = calls.setdefault(fragment.get("index", 0), {"id": "", "name": "", "arguments": ""})
                    call["id"] = fragment.get("id") or call["id"]
                    function = fragment.get("function") or {}
                    call["name"] = function.get("name") or call["name"]
                    call["arguments"] += function.get("arguments") or ""
        except openai.APIError as exc:
            raise AgentError(_describe(exc)) from exc
        finally:
            await stream.close()  # stops generation when the caller barged in
        for index in sorted(calls):
            call = calls[index]
            try:
                arguments = json.loads(call["arguments"] or "{}")
            except json.JSONDecodeError:
                arguments = None  # the tool refuses it, and the model reads why
            if not isinstance(arguments, dict):
                arguments = None
            yield ToolCall(id=call["id"] or f"call_{index}", name=call["name"], arguments=arguments,
                           raw_arguments=call["arguments"])  # fmt: skip


def _describe(exc: openai.APIError) -> str:
    # APITimeoutError is a subclass of APIConnectionError: name it first.
    if isinstance(exc, openai.APITimeoutError):
        return "the model timed out"
    if isinstance(exc, openai.APIStatusError):
        return f"the model endpoint answered {exc.status_code}"
    return f"the model endpoint could not be reached ({type(exc).__name__})"


async def check() -> tuple[bool, str]:
    if not is_configured():
        return False, "not configured (OPENAI_API_KEY is empty)"
    try:
        models = await client().models.list()
    except openai.APIError as exc:
        return False, _describe(exc)
    names = {model.id for model in models.data}
    if settings.OPENAI_MODEL not in names:
        return True, f"reachable, key accepted; model {settings.OPENAI_MODEL} is not listed by the endpoint"
    return True, f"reachable, key accepted, model {settings.OPENAI_MODEL} available"
