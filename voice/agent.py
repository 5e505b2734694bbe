"""The agent behind a call: given the conversation so far, stream what to say and what to do.

``Agent`` is the small interface the call session uses; ``ModelAgent`` is the one
backed by the chat model. Tools that reach the dealership's services extend
``tools()`` and ``run_tool``; the call-control tools here only end or hand over the call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from django.template.loader import render_to_string
from django.utils import timezone

from voice.agent_events import AgentError, TextDelta, ToolCall  # noqa: F401  (re-exported for the session)

SYSTEM_PROMPT_TEMPLATE = "voice/agent_system.txt"

END_CALL = "end_call"
TRANSFER = "transfer_to_person"

CALL_CONTROL_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": END_CALL,
            "description": "Hang up. Call it after you have said goodbye, when the caller has nothing more.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": TRANSFER,
            "description": "Connect the caller with a service advisor (a person), after telling them you will.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]


@dataclass(frozen=True)
class CallContext:
    """What the agent knows when the call starts."""

    dealership: str
    caller_name: str = ""  # empty when the number is not a customer's


class Agent(Protocol):
    def reply(self, history: list[dict]) -> AsyncIterator[TextDelta | ToolCall]:
        """Stream the next reply to ``history`` (OpenAI-style messages, oldest first). Raises AgentError."""
        ...


class ModelAgent:
    """The chat model (OpenAI or compatible), told who it is, who calls and what day it is."""

    def __init__(self, context: CallContext, chat=None):
        if chat is None:
            from voice.providers.openai_llm import OpenAIChat

            chat = OpenAIChat()
        self._chat = chat
        self._context = context

    def system_prompt(self) -> str:
        now = timezone.localtime()
        return render_to_string(SYSTEM_PROMPT_TEMPLATE, {
            "dealership": self._context.dealership,
            "caller": self._context.caller_name,
            "today": f"{now:%A, %B} {now.day}, {now.year}",
            "time": f"{now:%I:%M %p}".lstrip("0"),
            "zone": timezone.get_current_timezone_name(),
        }).strip()  # fmt: skip

    def tools(self) -> list[dict]:
        return list(CALL_CONTROL_TOOLS)

    async def reply(self, history: list[dict]) -> AsyncIterator[TextDelta | ToolCall]:
        messages = [{"role": "system", "content": self.system_prompt()}, *history]
        async for event in self._chat.stream(messages, self.tools()):
            yield event
