"""The agent backed by a chat model: it proposes tool calls, our tools decide, then it answers.

One caller turn is at most AGENT_MAX_MODEL_ROUNDS model rounds. In each round the model's words stream out
at once (its short preface, "Let me check Tuesday.", is spoken while the tools run), its tool calls are
assembled, run (reads side by side, writes one at a time in the order asked), and their results appended as
one assistant message with ``tool_calls`` followed by one tool message per call; then the model is asked
again. The last round is asked to answer without tools; if it still asks for one, the caller is handed over.

A reply started on words that are not final yet (``hear_tentatively``, agent.interface) runs reads only: a round
with a write or call control waits for ``confirm()``; ``withdraw()`` forgets the words, the reply and any
identification its lookups made.

Interruptions (the driver cancels ``reply``): a write once started is never cancelled and its result always
lands in the conversation, heard or not; a read is stopped and its result reads "cancelled"; end_call and a
transfer are only events for the driver, which carries them out once the caller has heard the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string

from agent import context as facts
from agent import database
from agent.conversation import CANCELLED_READ, Conversation
from agent.events import (
    AgentError,
    AgentEvent,
    EndCall,
    TextDelta,
    TextDone,
    ToolCall,
    ToolFinished,
    ToolsStarted,
    Transfer,
)
from agent.fillers import Fillers
from agent.records import InvocationRecorder, ToolInvocation
from agent.tool_runner import ToolRunner
from agent.tools.base import Records, ToolContext, ToolKind, ToolResult
from agent.tools.calls import END_CALL, TRANSFER
from agent.tools.registry import TOOLS, tool_schemas

logger = logging.getLogger(__name__)

SYSTEM_PROMPT_TEMPLATE = "agent/system.txt"
GIVE_UP = "I'm sorry, I'm not able to sort that out myself."


class ModelAgent:
    """One conversation with the chat model (OpenAI or compatible) and the tools."""

    def __init__(self, start: facts.ConversationStart, *, chat=None, records: Records | None = None,
                 recorder: InvocationRecorder | None = None, database=database.SERVER):  # fmt: skip
        if chat is None:
            from agent.providers.openai_chat import OpenAIChat

            chat = OpenAIChat()
        self._chat = chat
        self._database = database
        self._start = start
        self._shop = start.shop
        self._caller = start.caller
        self.conversation = Conversation()
        self.tool_context = ToolContext(
            call_sid=start.call_sid, caller_phone=start.caller_phone, reminder=start.reminder, records=records,
            customer_id=start.caller.customer_id if start.caller else None,
            identified_by="caller_id" if start.caller else "",
        )  # fmt: skip
        self._tools = ToolRunner(self.tool_context, database=database, recorder=recorder,
                                 on_late_write=self._late_write)  # fmt: skip
        self._late_writes: set[asyncio.Task] = set()
        self._fillers = Fillers()
        self._replying = False  # a reply's generator is open
        self._heard_later: str | None = None  # what was heard of it, told before the generator closed
        self._tentative: _Tentative | None = None  # the caller's words heard before they were final

    @property
    def caller(self) -> facts.CallerFacts | None:
        """What the agent knows of the caller now (read again after a write or an identification)."""
        return self._caller

    # --------------------------------------------------------------- what the driver tells the agent

    def hear(self, text: str) -> None:
        """A whole caller turn."""
        self.conversation.add_user(text)

    # The model takes hundreds of milliseconds to start answering: starting it early saves that much.
    preemptive = True

    def hear_tentatively(self, text: str) -> None:
        """The caller's words so far, perhaps not final: a reply may start on them (agent.interface)."""
        self._tentative = _Tentative(len(self.conversation.messages), _identity(self.tool_context), asyncio.Event())
        self.conversation.add_user(text)

    def confirm(self) -> None:
        """The words heard tentatively were the caller's whole turn: the reply started on them goes on."""
        tentative, self._tentative = self._tentative, None
        if tentative is not None:
            tentative.confirmed.set()

    def withdraw(self) -> None:
        """They were not: forget them and the reply begun on them (which the driver has cancelled and closed)."""
        tentative, self._tentative = self._tentative, None
        if tentative is None:
            return
        if self._replying:
            raise RuntimeError("withdraw() comes after the tentative reply has been cancelled and closed")
        self.conversation.withdraw(tentative.messages_from)
        if _identity(self.tool_context) != tentative.identity:
            _restore_identity(self.tool_context, tentative.identity)
            self._tools.stale = True  # the caller's facts are read again for the next reply

    async def until_confirmed(self) -> None:
        """Writes and call control wait here while the caller's words are not final (a cancel ends the wait)."""
        if self._tentative is not None:
            await self._tentative.confirmed.wait()

    def said(self, text: str) -> None:
        """The driver's own words (greeting, prompts) that the caller heard."""
        self.conversation.add_said(text)

    def heard(self, text: str) -> None:
        """What of the last reply the caller heard, once it ended or was cut.

        A driver that cuts a reply says so before the reply's generator has closed and added its last words;
        the words heard are then kept once it has.
        """
        if self._replying:
            self._heard_later = text
        else:
            self.conversation.settle_heard(text)

    def filler(self, calls: Sequence[ToolCall]) -> str:
        """A short line for the caller while these tools run, different from the last one used."""
        return self._fillers.pick(calls)

    def transfer_whisper(self, reason: str = "") -> str:
        """One or two sentences for the advisor who takes the call: who, which car, what they want."""
        return facts.transfer_whisper(self._caller, self._start.caller_phone, reason)

    # --------------------------------------------------------------- the reply

    def system_prompt(self) -> str:
        return render_to_string(SYSTEM_PROMPT_TEMPLATE, {
            "shop": self._shop, "caller": self._caller, "caller_phone": self._start.caller_phone,
            "identified_by": self.tool_context.identified_by, "reminder": self._start.reminder,
        }).strip()  # fmt: skip

    async def reply(self) -> AsyncIterator[AgentEvent]:
        """Answer what the caller said since the last reply. Raises AgentError when the model fails."""
        self._replying, self._heard_later = True, None
        rounds = self._rounds()
        try:
            async for event in rounds:
                yield event
        finally:
            await rounds.aclose()  # its last words are in the conversation before what was heard is applied
            self._replying = False
            if self._heard_later is not None:
                self.conversation.settle_heard(self._heard_later)
                self._heard_later = None

    async def _rounds(self):
        await self._settle_late_writes()
        await self._refresh_facts()
        self.conversation.begin_reply()
        rounds = max(1, settings.AGENT_MAX_MODEL_ROUNDS)
        for round_number in range(1, rounds + 1):
            last = round_number == rounds
            text, calls = "", []
            try:
                async for event in self._chat.stream(self.conversation.for_model(self.system_prompt()),
                                                     [] if last else tool_schemas()):  # fmt: skip
                    if isinstance(event, TextDelta):
                        text += event.text
                        yield event
                    elif isinstance(event, TextDone):
                        yield event
                    elif isinstance(event, ToolCall):
                        calls.append(event)
            finally:
                if not calls:
                    self.conversation.add_text(text)  # also a cut-off reply's words; settle_heard trims them
            if not calls:
                return
            if last:
                # Asked to answer without tools and it still wants one: say so and hand over.
                logger.warning("call %s: the model still asked for tools after %s rounds", self._start.call_sid,
                               rounds)  # fmt: skip
                self.conversation.add_text(f"{text} {GIVE_UP}".strip())
                yield TextDelta(f" {GIVE_UP}")
                yield Transfer(whisper=self.transfer_whisper("the assistant could not finish the request"))
                return
            results = self.conversation.add_tool_round(text, calls)
            yield ToolsStarted(tuple(calls))
            async for finished in self._run_round(calls, results, round_number):
                yield finished
            control = [call for call in calls if call.name in (END_CALL, TRANSFER)]
            if control:
                call = control[0]
                if call.name == END_CALL:
                    yield EndCall()
                else:
                    yield Transfer(whisper=self.transfer_whisper((call.arguments or {}).get("reason", "")),
                                   reason=(call.arguments or {}).get("reason", ""))  # fmt: skip
                return

    # --------------------------------------------------------------- tools

    async def _run_round(self, calls: list[ToolCall], results: dict[str, dict], round_number: int):
        """Run the round's calls: consecutive reads side by side, each write alone, in the order asked."""
        for batch in _batches(calls):
            tasks: dict[str, asyncio.Future] = {}
            try:
                if any(_needs_final_words(call) for call in batch):
                    await self.until_confirmed()
                tasks = {call.id: asyncio.ensure_future(self._invoke(call, round_number)) for call in batch}
                await asyncio.wait(tasks.values())
            except asyncio.CancelledError:
                self._on_interrupted(calls, results, tasks)
                raise
            for call in batch:
                invocation = tasks[call.id].result()
                Conversation.fill(results[call.id], invocation.result.for_model())
                yield ToolFinished(call=call, result=invocation.result)

    def _on_interrupted(self, calls, results, tasks) -> None:
        """The caller interrupted mid-round: writes finish and land; reads and calls not started are cancelled."""
        for call in calls:
            task = tasks.get(call.id)
            if task is None:
                Conversation.fill(results[call.id], CANCELLED_READ)  # never started
            elif task.done() and not task.cancelled():
                Conversation.fill(results[call.id], task.result().result.for_model())
            elif _is_write(call):
                task.add_done_callback(lambda done, message=results[call.id]: _fill_from(message, done))
                self._late_writes.add(task)
                task.add_done_callback(self._late_writes.discard)
            else:
                task.cancel()
                Conversation.fill(results[call.id], CANCELLED_READ)

    async def _invoke(self, call: ToolCall, round_number: int) -> ToolInvocation:
        return await self._tools.invoke(call, round_number)

    def _late_write(self, call: ToolCall, result: ToolResult) -> None:
        """A write that overran its time limit has finished: the model hears how before it answers next."""
        self.conversation.add_note(f"The {call.name} call that was taking long has now finished: {result.for_model()}")

    async def _settle_late_writes(self) -> None:
        if self._late_writes:
            await asyncio.wait(list(self._late_writes))

    async def _refresh_facts(self) -> None:
        """After a write or an identification, read the caller's records again so the prompt is current."""
        if not self._tools.stale:
            return
        self._tools.stale = False
        customer_id = self.tool_context.customer_id
        open_requests = self._caller.open_requests if self._caller else ()
        self._caller = await self._database.run(facts.caller_facts, customer_id, open_requests=open_requests,
                                                reminded_about=facts.reminded_about_id(self._caller))  # fmt: skip

    async def aclose(self) -> None:
        """The conversation is over: wait for writes still running, so none is lost with the process's loop."""
        with contextlib.suppress(Exception):
            await self._settle_late_writes()


@dataclass(frozen=True)
class _Tentative:
    """Caller words heard before they were final, and what a reply begun on them may have to undo."""

    messages_from: int  # where they begin in the conversation
    identity: tuple  # the tool context's identification before them (a lookup may change it)
    confirmed: asyncio.Event  # set by confirm(): writes and call control may run


def _identity(context: ToolContext) -> tuple:
    return context.customer_id, context.identified_by, context.failed_identifications


def _restore_identity(context: ToolContext, identity: tuple) -> None:
    context.customer_id, context.identified_by, context.failed_identifications = identity


def _is_write(call: ToolCall) -> bool:
    tool = TOOLS.get(call.name)
    return tool is not None and tool.kind is ToolKind.WRITE


def _needs_final_words(call: ToolCall) -> bool:
    """A write or call control runs only on the caller's final words; a read may run on tentative ones."""
    tool = TOOLS.get(call.name)
    return tool is not None and tool.kind in (ToolKind.WRITE, ToolKind.CONTROL)


def _batches(calls: list[ToolCall]) -> list[list[ToolCall]]:
    """Consecutive reads share a batch; a write is a batch of its own (it may depend on what came before)."""
    batches: list[list[ToolCall]] = []
    for call in calls:
        if not _is_write(call) and batches and not _is_write(batches[-1][0]):
            batches[-1].append(call)
        else:
            batches.append([call])
    return batches


def _fill_from(message: dict, done: asyncio.Future) -> None:
    if done.cancelled() or done.exception() is not None:
        Conversation.fill(message, ToolResult.refused("", error="the change failed").for_model())
    else:
        Conversation.fill(message, done.result().result.for_model())


__all__ = ["AgentError", "ModelAgent", "SYSTEM_PROMPT_TEMPLATE"]
