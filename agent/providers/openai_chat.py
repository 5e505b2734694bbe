"""The agent's model: OpenAI chat completions, streamed, through the official SDK (the only module importing it
for the agent). Any OpenAI-compatible endpoint works through OPENAI_BASE_URL."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import openai
from django.conf import settings

from agent import metrics
from agent.events import AgentError, TextDelta, TextDone, ToolCall
from agent.providers.loop_clients import LoopClients
from operations import metrics as prometheus

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


# Models whose shutdown the installed SDK (openai 3.54) announces; a configured one keeps working until then.
RETIRING_MODELS = {name: "2027-01-14" for name in ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini")}


def retirement_warning(model: str | None = None) -> str:
    """A sentence when the configured model (or ``model``) is announced to shut down, else ""."""
    model = model or settings.OPENAI_MODEL
    shutdown = RETIRING_MODELS.get(model)
    if not shutdown:
        return ""
    return f"OPENAI_MODEL={model} is announced to shut down on {shutdown}: choose another model (see the README)"


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
    """Streams one reply: text as it comes, TextDone when tool calls begin, then the tool calls whole."""

    # The client is taken from the loop that streams, not the one (or none) the agent was built on: a driver
    # such as the evaluation builds the agent in one place and runs each of its turns on a new loop.

    async def stream(self, messages: list[dict], tools: list[dict]) -> AsyncIterator[TextDelta | ToolCall]:
        body = {"model": settings.OPENAI_MODEL, "messages": messages, "stream": True, "temperature": 0.3}
        if tools:
            body["tools"] = tools
        try:
            # The SDK's own request (auth, endpoint, timeout, errors, server-sent events), with the chunks left
            # as the JSON they are: chat.completions.create() builds a pydantic model of every chunk, which at
            # 40 chunks a second per speaking call was a tenth of the voice server's CPU.
            stream = await client().post(
                "/chat/completions", body=body, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object]
            )
        except openai.APIError as exc:
            _count(exc)
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
                if delta.get("tool_calls") and not calls:
                    yield TextDone()  # its words are over: the last sentence of the preface can be spoken now
                for fragment in delta.get("tool_calls") or []:
                    call = calls.setdefault(fragment.get("index", 0), {"id": "", "name": "", "arguments": ""})
                    call["id"] = fragment.get("id") or call["id"]
                    function = fragment.get("function") or {}
                    call["name"] = function.get("name") or call["name"]
                    call["arguments"] += function.get("arguments") or ""
        except openai.APIError as exc:
            _count(exc, streaming=True)
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


def _count(exc: openai.APIError, *, streaming: bool = False) -> None:
    """One failed request to the model, by kind (operations.metrics.PROVIDER_ERRORS)."""
    if isinstance(exc, openai.APITimeoutError):
        kind = "timeout"
    elif isinstance(exc, openai.APIStatusError):
        kind = prometheus.http_error_kind(exc.status_code)
    elif isinstance(exc, openai.APIConnectionError):
        kind = "dropped" if streaming else "connect"
    else:  # an error event or a malformed chunk in the stream
        kind = "dropped"
    prometheus.provider_error("openai", kind)


def _describe(exc: openai.APIError) -> str:
    # APITimeoutError is a subclass of APIConnectionError: name it first.
    if isinstance(exc, openai.APITimeoutError):
        return "the model timed out"
    if isinstance(exc, openai.APIStatusError):
        return f"the model endpoint answered {exc.status_code}"
    return f"the model endpoint could not be reached ({type(exc).__name__})"


async def check() -> tuple[bool, str]:
    if not is_configured():
        return False, "not configured (OPENAI_API_KEY is empty): the offline agent answers calls and the admin chat"
    try:
        models = await client().models.list()
    except openai.APIError as exc:
        return False, _describe(exc)
    names = {model.id for model in models.data}
    if settings.OPENAI_MODEL not in names:
        return True, f"reachable, key accepted; model {settings.OPENAI_MODEL} is not listed by the endpoint"
    return True, f"reachable, key accepted, model {settings.OPENAI_MODEL} available"


# Seconds one whole (not streamed) reply may take: work in the background, where nobody waits on the line.
COMPLETE_TIMEOUT_SECONDS = 30.0


def complete(messages: list[dict], *, max_tokens: int) -> str:
    """One whole reply, blocking, for work outside a call's event loop (Celery tasks such as a call's summary).

    Uses the SDK's synchronous client, made for this request and closed after it, so it works in any thread with
    or without an event loop. One retry for a passing failure. Raises AgentError when the model is not
    configured, fails, or answers nothing.
    """
    if not is_configured():
        raise AgentError("the model is not configured (OPENAI_API_KEY is empty)")
    try:
        with openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
                           timeout=COMPLETE_TIMEOUT_SECONDS, max_retries=1) as sync_client:  # fmt: skip
            response = sync_client.chat.completions.create(
                model=settings.OPENAI_MODEL, messages=messages, max_completion_tokens=max_tokens
            )
    except openai.APIError as exc:
        _count(exc)
        raise AgentError(_describe(exc)) from exc
    except openai.OpenAIError as exc:
        prometheus.provider_error("openai", "client")
        raise AgentError(f"the model could not be asked ({type(exc).__name__})") from exc
    text = (response.choices[0].message.content or "").strip() if response.choices else ""
    if not text:
        raise AgentError("the model answered nothing")
    return text
