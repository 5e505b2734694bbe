"""The agent's model: OpenAI chat completions, streamed, through the official SDK (the only module importing it
for the voice channel). Any OpenAI-compatible endpoint works through OPENAI_BASE_URL."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import openai
from django.conf import settings

from voice.agent_events import AgentError, TextDelta, ToolCall
from voice.providers.loop_clients import LoopClients

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


_clients: LoopClients[openai.AsyncOpenAI] = LoopClients()


def client() -> openai.AsyncOpenAI:
    """The OpenAI client for this key and endpoint on the running event loop (see loop_clients).

    Retries would only add to a caller's wait: the session has its own timeout and fallback.
    """
    configuration = (settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.VOICE_AGENT_TIMEOUT_SECONDS)
    return _clients.get(configuration, lambda: openai.AsyncOpenAI(
        api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.VOICE_AGENT_TIMEOUT_SECONDS, max_retries=0,
    ))  # fmt: skip


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
