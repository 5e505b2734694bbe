"""The model agent, with the offline agent behind it: a conversation whose model fails twice goes on offline."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from agent import database as databases
from agent.context import ConversationStart
from agent.events import AgentEvent, ToolCall
from agent.model_agent import ModelAgent


class FailoverAgent:
    def __init__(self, start: ConversationStart, *, records=None, recorder=None, database=databases.SERVER,
                 chat=None):  # fmt: skip
        self._start = start
        self._records, self._recorder, self._database = records, recorder, database
        self._current = ModelAgent(start, chat=chat, records=records, recorder=recorder, database=database)

    @property
    def conversation(self):
        return self._current.conversation

    @property
    def tool_context(self):
        return self._current.tool_context

    def hear(self, text: str) -> None:
        self._current.hear(text)

    def said(self, text: str) -> None:
        self._current.said(text)

    def heard(self, text: str) -> None:
        self._current.heard(text)

    def filler(self, calls: Sequence[ToolCall]) -> str:
        return self._current.filler(calls)

    def transfer_whisper(self, reason: str = "") -> str:
        return self._current.transfer_whisper(reason)

    async def reply(self) -> AsyncIterator[AgentEvent]:
        async for event in self._current.reply():
            yield event

    async def aclose(self) -> None:
        await self._current.aclose()
