"""The model agent with the offline agent behind it: a conversation whose model fails twice goes on offline.

A failure is the model not answering within VOICE_AGENT_TIMEOUT_SECONDS (tools running do not count), an
error from its provider, or a reply whose tool calls were malformed (not JSON, or a tool that does not exist).
The first failure is answered by asking the model again (the words it said before failing stay in the
conversation, so it goes on from them); the second failure of the conversation hands it to the offline agent for good, from the conversation's state: the same
caller and tool state (who they proved to be, what was booked), the job the caller was talking about, and the
words not answered yet. It says once that it will keep things simple, and a ``Notice`` records the switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from django.conf import settings

from agent import database as databases
from agent.context import ConversationStart
from agent.events import AgentError, AgentEvent, ToolCall, ToolFinished, ToolsStarted
from agent.model_agent import ModelAgent
from agent.offline.agent import OfflineAgent

logger = logging.getLogger(__name__)

FAILURES_BEFORE_OFFLINE = 2
KEEPING_IT_SIMPLE = "I'm having some trouble on my side, so I'll keep things simple."


class FailoverAgent:
    def __init__(self, start: ConversationStart, *, records=None, recorder=None, database=databases.SERVER,
                 chat=None):  # fmt: skip
        self._start = start
        self._recorder, self._database = recorder, database
        self._model = ModelAgent(start, chat=chat, records=records, recorder=recorder, database=database)
        self._offline: OfflineAgent | None = None
        self._announce = ""  # the switch, not yet told (it happened after a reply that stands)
        self.failures = 0
        self._history: list[str] = []  # the caller's turns the model answered
        self._unanswered: list[str] = []  # the caller's turns since

    @property
    def _current(self):
        return self._offline or self._model

    @property
    def offline(self) -> bool:
        return self._offline is not None

    @property
    def conversation(self):
        return self._current.conversation

    @property
    def tool_context(self):
        return self._current.tool_context

    def hear(self, text: str) -> None:
        self._unanswered.append(text)
        self._current.hear(text)

    @property
    def preemptive(self) -> bool:
        return self._current.preemptive

    def hear_tentatively(self, text: str) -> None:
        self._unanswered.append(text)
        self._current.hear_tentatively(text)

    def confirm(self) -> None:
        self._current.confirm()

    def withdraw(self) -> None:
        """Forget the tentative words: the reply begun on them may already have moved them to the history."""
        self._current.withdraw()
        for turns in (self._unanswered, self._history):
            if turns:
                turns.pop()
                return

    def said(self, text: str) -> None:
        self._current.said(text)

    def heard(self, text: str) -> None:
        self._current.heard(text)

    def filler(self, calls: Sequence[ToolCall]) -> str:
        return self._current.filler(calls)

    def transfer_whisper(self, reason: str = "") -> str:
        return self._current.transfer_whisper(reason)

    async def reply(self) -> AsyncIterator[AgentEvent]:
        if self._offline is not None:
            announce, self._announce = self._announce, ""
            replying = self._offline.reply(notice=_notice(announce), preface=KEEPING_IT_SIMPLE) if announce else (
                self._offline.reply())  # fmt: skip
            async for event in replying:
                yield event
            return
        while True:
            try:
                # Closed here and now when the driver closes this reply, so that the model agent's conversation
                # is settled before the driver goes on (a withdrawn tentative turn, what was heard).
                async with contextlib.aclosing(self._model_reply()) as replying:
                    async for event in replying:
                        yield event
            except AgentError as error:
                self.failures += 1
                logger.warning("call %s: the model failed (%s of %s): %s", self._start.call_sid, self.failures,
                               FAILURES_BEFORE_OFFLINE, error)  # fmt: skip
                if self.failures < FAILURES_BEFORE_OFFLINE:
                    continue  # ask the model again (what it said before failing stays in the conversation)
                # The offline agent may book or hang up at once: not on words that are not final yet.
                await self._model.until_confirmed()
                async for event in self._go_offline(str(error)):
                    yield event
                return
            self._history.extend(self._unanswered)
            self._unanswered.clear()
            return

    async def _model_reply(self) -> AsyncIterator[AgentEvent]:
        """The model's reply, its silence bounded (not while tools run), malformed tool calls counted."""
        stream = self._model.reply()
        tools_running = 0
        malformed = False
        try:
            while True:
                try:
                    async with asyncio.timeout(None if tools_running else settings.VOICE_AGENT_TIMEOUT_SECONDS):
                        event = await anext(stream)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise AgentError("the model did not answer in time") from None
                if isinstance(event, ToolsStarted):
                    tools_running += len(event.calls)
                    malformed = malformed or any(_malformed(call) for call in event.calls)
                elif isinstance(event, ToolFinished):
                    tools_running = max(0, tools_running - 1)
                yield event
        finally:
            await stream.aclose()
        if malformed:
            self.failures += 1
            logger.warning("call %s: the model sent a malformed tool call", self._start.call_sid)
            if self.failures >= FAILURES_BEFORE_OFFLINE:
                # Its answer stands (the tools refused the malformed call); the next turn goes offline.
                self._switch("malformed tool calls")
                self._announce = "malformed tool calls"

    async def _go_offline(self, reason: str) -> AsyncIterator[AgentEvent]:
        offline = self._switch(reason)
        async for event in offline.reply(notice=_notice(reason), preface=KEEPING_IT_SIMPLE):
            yield event

    def _switch(self, reason: str) -> OfflineAgent:
        logger.warning("call %s: going on without the model (%s)", self._start.call_sid, reason)
        self._offline = OfflineAgent.taking_over(
            self._start, caller=self._model.caller, tool_context=self._model.tool_context,
            history=self._history, unanswered=self._unanswered, recorder=self._recorder, database=self._database,
        )  # fmt: skip
        self._unanswered = []
        return self._offline

    async def aclose(self) -> None:
        await self._model.aclose()
        if self._offline is not None:
            await self._offline.aclose()


def _malformed(call: ToolCall) -> bool:
    from agent.tools.registry import TOOLS

    return call.arguments is None or call.name not in TOOLS


def _notice(reason: str) -> str:
    return f"The model failed twice ({reason}); the offline agent goes on with the conversation."
