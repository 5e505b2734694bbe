"""The one interface every driver of the agent uses: a call session, the admin's chat, an evaluation, a reminder.

A driver tells the agent what the caller said (``hear``) and what of its own words were heard (``said``,
``heard``), and iterates ``reply()`` for the answer: ``TextDelta`` to speak or show, ``ToolsStarted`` /
``ToolFinished`` as tools run, and at most one ``EndCall`` or ``Transfer`` to carry out once the caller has
heard the reply (never after an interrupted one). Cancelling the task that iterates ``reply()`` is how a
driver interrupts it; the conversation stays well formed (agent.conversation).

A driver that hears the caller's words before they are final (a call's interim transcript) may start a reply
on them when ``preemptive`` says that saves time: ``hear_tentatively``, then ``reply()`` as usual. Until the
driver calls ``confirm()`` (the final words are the same) that reply runs reads only: writes and call control
wait. Otherwise the driver cancels the reply and calls ``withdraw()``, which forgets the words and the reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from agent.events import AgentEvent, ToolCall


class Agent(Protocol):
    def hear(self, text: str) -> None: ...

    @property
    def preemptive(self) -> bool: ...

    def hear_tentatively(self, text: str) -> None: ...

    def confirm(self) -> None: ...

    def withdraw(self) -> None: ...

    def said(self, text: str) -> None: ...

    def heard(self, text: str) -> None: ...

    def reply(self) -> AsyncIterator[AgentEvent]: ...

    def filler(self, calls: Sequence[ToolCall]) -> str: ...

    def transfer_whisper(self, reason: str = "") -> str: ...

    async def aclose(self) -> None: ...
