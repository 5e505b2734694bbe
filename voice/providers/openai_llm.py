"""The agent's model: OpenAI chat completions, streamed, through the official SDK (the only module importing it
for the voice channel). Any OpenAI-compatible endpoint works through OPENAI_BASE_URL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import openai
from django.conf import settings

from voice.agent_events import AgentError, TextDelta, ToolCall

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)



def _loop():
    """A client's connections belong to the event loop that opened them: one client per loop."""
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return None


_clients: dict[tuple, openai.AsyncOpenAI] = {}


def client() -> openai.AsyncOpenAI:
    """One client per key and endpoint for the process (its SSL context costs tens of ms to build).

    Retries would only add to a caller's wait: the session has its own timeout and fallback.
    """
    key = (settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.VOICE_AGENT_TIMEOUT_SECONDS, _loop())
    if key not in _clients:
        _clients[key] = openai.AsyncOpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
                                           timeout=settings.VOICE_AGENT_TIMEOUT_SECONDS, max_retries=0)  # fmt: skip
    return _clients[key]


class OpenAIChat:
    """Streams one reply: text as it comes, then any tool calls whole."""

    def __init__(self):
        self._client = client()

    async def stream(self, messages: list[dict], tools: list[dict]) -> AsyncIterator[TextDelta | ToolCall]:
        try:
            stream = await self._client.chat.completions.create(
                model=settings.OPENAI_MODEL, messages=messages, tools=tools or openai.NOT_GIVEN, stream=True,
                temperature=0.3,
            )  # fmt: skip
        except openai.APIError as exc:
            raise AgentError(_describe(exc)) from exc
        calls: dict[int, dict] = {}
        try:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    yield TextDelta(delta.content)
                for fragment in delta.tool_calls or []:
                    call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = fragment.id or call["id"]
                    if fragment.function:
                        call["name"] = fragment.function.name or call["name"]
                        call["arguments"] += fragment.function.arguments or ""
        except openai.APIError as exc:
            raise AgentError(_describe(exc)) from exc
        finally:
            await stream.close()  # stops generation when the caller barged in
        for index in sorted(calls):
            call = calls[index]
            try:
                arguments = json.loads(call["arguments"] or "{}")
            except json.JSONDecodeError:
                arguments = {}
            yield ToolCall(id=call["id"] or f"call_{index}", name=call["name"], arguments=arguments)


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
