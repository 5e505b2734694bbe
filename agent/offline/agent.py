"""The agent without a language model: a deterministic dialogue over the same tools as the model agent.

It takes calls when no model is configured, and takes over a call whose model keeps failing
(``OfflineAgent.taking_over``). It does the core jobs: answer from the knowledge base, the hours and the menu;
book (service, vehicle, day and time from real openings, read back, then book); move, cancel or confirm an
appointment; "is my car ready?"; a message; a person; goodbye.

Rules it keeps, like the model agent's prompt asks of the model:
- Every fact it says comes from the conversation's context or a tool's result.
- Every change is read back and needs a yes to that read-back, heard whole.
- Anything it cannot tell gets a question, never a guess that changes data.

This module is the dialogue's frame (the interface, what a turn means, whose question it answers); its parts
are mixed in: ``jobs`` (book, move, cancel, confirm), ``answers`` (everything that changes no appointment),
``identification`` (a caller not known by their number) and ``reminders`` (a reminder call, a customer calling
back about one, "stop calling me"). ``understanding`` and ``when`` read the caller's
words, ``phrases`` is what it says, ``state`` what it knows so far.

Each reply runs the dialogue to its end (tools included), then yields the tool events, the words and any
call-control event. Cancelling the reply (the caller interrupted) stops reads; a write once started finishes
(agent.tool_runner), and the dialogue takes in its result on the next reply.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

from agent import context as facts
from agent import database as databases
from agent.conversation import Conversation
from agent.events import AgentEvent, Notice, TextDelta, ToolCall, ToolFinished, ToolsStarted
from agent.fillers import Fillers
from agent.offline import phrases
from agent.offline.answers import Answers
from agent.offline.identification import Identification
from agent.offline.jobs import JOBS, MAX_ASKS, Jobs, merged
from agent.offline.reminders import Reminders
from agent.offline.state import Dialogue, Job
from agent.offline.understanding import (
    Intent,
    about_someone_else,
    intent_of,
    is_greeting,
    is_never_mind,
    is_no,
    is_thanks,
    is_yes,
    services_named,
    transport_of,
    vehicle_choice,
    words_of,
)
from agent.offline.when import understand_when
from agent.records import InvocationRecorder, ToolInvocation
from agent.tool_runner import ToolRunner
from agent.tools.base import Records, ToolContext, ToolKind, ToolResult


@dataclass
class _Reply:
    events: list[AgentEvent] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    control: AgentEvent | None = None


class OfflineAgent(Identification, Jobs, Answers, Reminders):
    def __init__(self, start: facts.ConversationStart, *, records: Records | None = None,
                 recorder: InvocationRecorder | None = None, database=databases.SERVER,
                 tool_context: ToolContext | None = None):  # fmt: skip
        self._start = start
        self._shop = start.shop
        self._caller = start.caller
        self._database = database
        self._outer_recorder = recorder
        self.conversation = Conversation()
        self.tool_context = tool_context or ToolContext(
            call_sid=start.call_sid, caller_phone=start.caller_phone, reminder=start.reminder, records=records,
            customer_id=start.caller.customer_id if start.caller else None,
            identified_by="caller_id" if start.caller else "",
        )  # fmt: skip
        self._tools = ToolRunner(self.tool_context, database=database, recorder=self)
        self._fillers = Fillers()
        self._ids = itertools.count(1)
        self._pending: list[str] = []
        self._state = Dialogue()
        self._menu: list[dict] | None = None
        self._reply: _Reply | None = None
        self._last_words = ""
        self._unseen_writes: list[ToolInvocation] = []
        self._finished: ToolInvocation | None = None
        self._earlier: list[str] = []  # a conversation taken over: the caller's lines the other agent answered
        self._begin_reminder_call()

    @classmethod
    def taking_over(cls, start: facts.ConversationStart, *, caller: facts.CallerFacts | None,
                    tool_context: ToolContext, history: Sequence[str], unanswered: Sequence[str],
                    recorder=None, database=databases.SERVER) -> OfflineAgent:  # fmt: skip
        """Go on with a conversation another agent began: the same caller and tool state (who they proved to be,
        what was booked), the job the caller was talking about, and their words not answered yet."""
        agent = cls(replace(start, caller=caller), recorder=recorder, database=database, tool_context=tool_context)
        agent._opening_unheard = False  # a reminder call's opening was said before: whether whole, unknown
        if history:  # past the reminder's first answer: its question is no longer the one awaiting an answer
            agent._state = Dialogue()
        agent._earlier = list(history)
        agent._pending.extend(unanswered)
        return agent

    # --------------------------------------------------------------- what the driver tells the agent

    def hear(self, text: str) -> None:
        self.conversation.add_user(text)
        self._pending.append(text)

    # It answers as soon as it is asked: a reply started before the caller's words are final would save
    # nothing, so a driver never starts one (agent.interface).
    preemptive = False

    def hear_tentatively(self, text: str) -> None:
        raise TypeError("the offline agent does not reply preemptively (its preemptive is False)")

    def confirm(self) -> None:
        """Nothing is ever tentative here."""

    def withdraw(self) -> None:
        """Nothing is ever tentative here."""

    def said(self, text: str) -> None:
        self._opening_said(text)
        self.conversation.add_said(text)

    def heard(self, text: str) -> None:
        """A read-back the caller did not hear to its end is asked again before any yes counts."""
        if self._state.awaiting == "readback" and words_of(text) != words_of(self._last_words):
            self._state.readback_heard = False
        self.conversation.settle_heard(text)

    def filler(self, calls: Sequence[ToolCall]) -> str:
        return self._fillers.pick(calls)

    def transfer_whisper(self, reason: str = "") -> str:
        return facts.transfer_whisper(self._caller, self._start.caller_phone, reason)

    def tool_finished(self, invocation: ToolInvocation) -> None:
        """Every tool call's record, passed on to the driver's recorder."""
        self._finished = invocation
        if self._outer_recorder is not None:
            self._outer_recorder.tool_finished(invocation)

    async def aclose(self) -> None:
        return None

    # --------------------------------------------------------------- the reply

    async def reply(self, *, notice: str = "", preface: str = "") -> AsyncIterator[AgentEvent]:
        text = " ".join(self._pending).strip()
        self._pending.clear()
        self._reply = reply = _Reply()
        if preface:
            reply.lines.append(preface)
        try:
            await self._refresh_facts()
            await self._take_in_unseen_writes()
            for line in self._earlier:
                await self._absorb_earlier(line)
            self._earlier = []
            await self._respond(text)
        finally:
            self._reply = None  # from here, a write still finishing is kept by tool_finished for the next reply
        words = " ".join(line for line in reply.lines if line).strip()
        self._last_words = words
        if self._state.awaiting == "readback":
            self._state.readback_heard = True
        self.conversation.begin_reply()
        self.conversation.add_text(words)
        if notice:
            yield Notice(notice)
        for event in reply.events:
            yield event
        if words:
            yield TextDelta(words)
        if reply.control is not None:
            yield reply.control

    def _say(self, *lines: str) -> None:
        assert self._reply is not None
        self._reply.lines.extend(line for line in lines if line)

    def _ask(self, awaiting: str, *lines: str) -> None:
        state = self._state
        state.asked = state.asked + 1 if state.awaiting == awaiting else 1
        state.awaiting = awaiting
        self._say(*lines)

    def _done_asking(self) -> None:
        self._state.awaiting, self._state.asked = "", 0

    async def _tool(self, tool: str, /, **arguments) -> ToolResult:
        assert self._reply is not None
        call = ToolCall(id=f"offline_{next(self._ids)}", name=tool, arguments=arguments)
        self._reply.events.append(ToolsStarted((call,), filler=""))
        try:
            invocation = await self._tools.invoke(call)
        except asyncio.CancelledError:
            # The caller cut this reply off. A write finishes all the same (agent.tool_runner): the next reply
            # tells the caller it is done.
            finished = self._finished
            if finished is not None and finished.call.id == call.id and finished.kind is ToolKind.WRITE:
                self._unseen_writes.append(finished)
            raise
        self._reply.events.append(ToolFinished(call=call, result=invocation.result))
        return invocation.result

    async def _refresh_facts(self) -> None:
        if not self._tools.stale:
            return
        self._tools.stale = False
        open_requests = self._caller.open_requests if self._caller else ()
        self._caller = await self._database.run(facts.caller_facts, self.tool_context.customer_id,
                                                open_requests=open_requests,
                                                reminded_about=facts.reminded_about_id(self._caller))  # fmt: skip

    async def _take_in_unseen_writes(self) -> None:
        """A change that finished while its reply was cut off: tell the caller it is done."""
        while self._unseen_writes:
            invocation = self._unseen_writes.pop(0)
            if invocation.result.ok and invocation.kind is ToolKind.WRITE:
                self._say(phrases.done_while_cut(invocation.call.name, invocation.result.data))
                self._state.job = None
                self._done_asking()

    # --------------------------------------------------------------- understanding a turn

    async def _respond(self, text: str) -> None:
        state = self._state
        if not text:
            self._say(phrases.NOT_CAUGHT)
            return
        intent = intent_of(text)
        if intent is Intent.PERSON:
            await self._hand_over(text)
            return
        if intent is Intent.STOP_CALLING:
            await self._stop_calling(text)
            return
        if is_never_mind(text) and (state.job is not None or state.awaiting):
            state.job = state.resume = None
            self._ask("anything_else", phrases.NOTHING_CHANGED)
            return
        if about_someone_else(text):
            self._ask("anything_else", phrases.ONLY_YOUR_OWN)
            return
        self._gather_identity(text)
        if state.awaiting and await self._answer(text, intent):
            return
        await self._begin(text, intent)

    async def _begin(self, text: str, intent: Intent | None) -> None:
        """A new request (or more about the current job, said without being asked)."""
        state = self._state
        if intent in {Intent.QUESTION, None} and await self._asks_for_booking(text):
            intent = Intent.BOOK if state.job is None else None
        if intent in JOBS:
            state.job = Job(kind=intent.value)
            await self._absorb(text)
            await self._advance()
            return
        handlers = {
            Intent.GOODBYE: self._goodbye, Intent.MESSAGE: self._ask_message, Intent.STATUS: self._status,
            Intent.UPCOMING: self._upcoming, Intent.HOURS: self._hours, Intent.PRICE: self._price,
            Intent.QUESTION: self._question, Intent.REMINDED: self._reminded,
        }  # fmt: skip
        if intent in handlers:
            job = state.job if intent in {Intent.QUESTION, Intent.HOURS, Intent.PRICE} else None
            await handlers[intent](text)
            if job is not None and state.job is job:  # a question on the side: answered, then back to the job
                await self._advance()
            return
        menu = await self._service_menu()
        if state.job is not None:  # "Tuesday at 2", "for the Civic": more about the job under way
            await self._absorb(text)
            await self._advance()
        elif services_named(text, menu) or understand_when(text, today=self._today()).said_anything:
            state.job = Job(kind="book")
            await self._absorb(text)
            await self._advance()
        elif is_thanks(text):
            self._ask("anything_else", phrases.WELCOME)
        elif is_greeting(text):
            self._ask("anything_else", phrases.HOW_CAN_I_HELP)
        else:
            self._not_understood()

    async def _asks_for_booking(self, text: str) -> bool:
        """ "I'd like an oil change on Tuesday", "make it Thursday at 11": a service or a time, wanted."""
        said = words_of(text)
        if said.startswith(("how much", "what", "does", "do you", "is ", "are ", "why", "where")):
            return False
        when_said = understand_when(text, today=self._today()).said_anything
        if self._state.job is not None and when_said:
            return True
        wants = when_said or any(word in said.split() for word in ("want", "need", "like", "get", "book", "bring",
                                                                   "come", "do", "please"))  # fmt: skip
        return wants and bool(services_named(text, await self._service_menu()))

    def _not_understood(self) -> None:
        state = self._state
        state.asked += 1
        if state.asked >= MAX_ASKS:
            self._ask("help_choice", phrases.CANNOT_HELP)
        else:
            self._say(phrases.WHAT_I_CAN_DO)

    async def _absorb(self, text: str) -> None:
        """Take what the words say about the current job: services, vehicle, day and time."""
        job = self._state.job
        if job is None:
            return
        menu = await self._service_menu()
        named = services_named(text, menu)
        if named and job.kind == "book":
            job.services = named
        vehicles = self._vehicles()
        chosen = vehicle_choice(text, vehicles) if vehicles else None
        if chosen is not None:
            job.vehicle = chosen
        transport = transport_of(text)
        if transport is not None:
            job.transport = transport
        when = understand_when(text, today=self._today())
        if when.said_anything or when.unclear:
            job.when = merged(job.when, when)
            job.chosen = None
            job.offered = []

    async def _absorb_earlier(self, line: str) -> None:
        """An earlier caller line of a conversation taken over: the job it asked for, and its details."""
        intent = intent_of(line)
        if intent in JOBS or intent in {Intent.QUESTION, None} and await self._asks_for_booking(line):
            self._state.job = Job(kind=(intent if intent in JOBS else Intent.BOOK).value)
        await self._absorb(line)

    # --------------------------------------------------------------- answers to the agent's own questions

    async def _answer(self, text: str, intent: Intent | None) -> bool:
        """The caller answers what was asked; False when the words are a new request instead."""
        awaiting = self._state.awaiting
        if intent is Intent.GOODBYE and awaiting not in {"message"}:
            await self._goodbye(text)
            return True
        handler = getattr(self, f"_on_{awaiting}", None)
        if handler is None:
            return False
        return await handler(text, intent)

    async def _on_anything_else(self, text: str, intent: Intent | None) -> bool:
        if intent is None and (is_no(text) or words_of(text) in {"that's it", "that's all", "nothing", "no"}):
            await self._goodbye(text)
            return True
        if intent is None and is_yes(text) and len(words_of(text).split()) <= 3:
            self._ask("anything_else", phrases.WHAT_ELSE)
            return True
        self._done_asking()
        return False

    async def _on_help_choice(self, text: str, intent: Intent | None) -> bool:
        said = words_of(text)
        if intent is Intent.MESSAGE or "message" in said or "call me" in said or is_yes(text):
            await self._ask_message(text)
            return True
        if intent is Intent.PERSON or any(w in said.split() for w in ("person", "advisor", "someone", "connect")):
            await self._hand_over(text)
            return True
        if is_no(text):
            self._ask("anything_else", phrases.ANYTHING_ELSE)
            return True
        self._done_asking()
        return False

    # --------------------------------------------------------------- moving a job forward

    # --------------------------------------------------------------- answers that change nothing

    # --------------------------------------------------------------- small readers

    def _today(self) -> dt.date:
        return self._shop.now.date()

    def _vehicles(self) -> list[dict]:
        if self._caller is None:
            return []
        return [{"id": v.id, "name": v.name} for v in self._caller.vehicles]

    def _pending_context(self) -> list[str]:
        return [m["content"] for m in self.conversation.for_model("")[-1:] if m.get("role") == "user"]

    async def _service_menu(self) -> list[dict]:
        if self._menu is None:
            result = await self._tool("list_services")
            self._menu = result.data.get("services", []) if result.ok else []
        return self._menu


