"""The agent without a language model: a deterministic dialogue over the same tools as the model agent.

It takes calls when no model is configured, and takes over a call whose model keeps failing
(``OfflineAgent.taking_over``). It does the core jobs: answer from the knowledge base, the hours and the menu;
book (service, vehicle, day and time from real openings, read back, then book); move, cancel or confirm an
appointment; "is my car ready?"; a message; a person; goodbye.

Rules it keeps, like the model agent's prompt asks of the model:
- Every fact it says comes from the conversation's context or a tool's result.
- Every change is read back and needs a yes to that read-back, heard whole.
- Anything it cannot tell gets a question, never a guess that changes data.

Each reply runs the dialogue to its end (tools included), then yields the tool events, the words and any
call-control event. Cancelling the reply (the caller interrupted) stops reads; a write once started finishes
(agent.tool_runner), and the dialogue takes in its result on the next reply.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

from agent import context as facts
from agent import database as databases
from agent.conversation import Conversation
from agent.events import AgentEvent, EndCall, Notice, TextDelta, ToolCall, ToolFinished, ToolsStarted, Transfer
from agent.fillers import Fillers
from agent.offline import phrases
from agent.offline.identification import Identification
from agent.offline.understanding import (
    Intent,
    CarSaid,
    about_someone_else,
    car_of,
    intent_of,
    is_about,
    is_greeting,
    is_never_mind,
    is_no,
    is_thanks,
    is_yes,
    phone_in,
    transport_of,
    ordinal_choice,
    services_named,
    vehicle_choice,
    words_of,
)
from agent.offline.when import TimeRequest, understand_when
from agent.records import InvocationRecorder, ToolInvocation
from agent.tool_runner import ToolRunner
from agent.tools.base import Records, ToolContext, ToolKind, ToolResult
from agent.tools.calls import END_CALL, TRANSFER

logger = logging.getLogger(__name__)

JOBS = {Intent.BOOK, Intent.MOVE, Intent.CANCEL, Intent.CONFIRM}
MAX_OFFERED = 3
MAX_RANGE_DAYS = 14
MAX_ASKS = 3  # the same question unanswered this often: offer a person or a message instead


@dataclass
class Job:
    """What the caller wants done and what is known of it so far."""

    kind: str  # "book" | "move" | "cancel" | "confirm"
    services: list[dict] = field(default_factory=list)  # from list_services: {"id", "name", ...}
    vehicle: dict | None = None  # {"id", "name"}
    when: TimeRequest = field(default_factory=TimeRequest)
    offered: list[dict] = field(default_factory=list)  # {"start", "spoken"} as the tools gave them
    chosen: dict | None = None
    appointment: dict | None = None  # from get_upcoming_appointments
    choices: list[dict] = field(default_factory=list)  # appointments to choose from
    transport: str | None = None  # waiter, drop_off, shuttle or loaner, when the caller says


@dataclass
class Dialogue:
    job: Job | None = None
    awaiting: str = ""  # the question the caller is answering
    asked: int = 0  # times in a row the same question was asked
    readback_heard: bool = True
    # A caller not known by their number, as far as they said: who they are, and how to prove it.
    name: tuple[str, str] | None = None
    plate: str | None = None
    new_customer: bool = False
    number_confirmed: bool = False
    car: CarSaid | None = None  # a car the caller described ("a 2020 Toyota Camry")
    resume: Job | Intent | None = None  # what to go on with once the caller is identified
    message: str = ""  # a message for the advisors, waiting for a number to call back


@dataclass
class _Reply:
    events: list[AgentEvent] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    control: AgentEvent | None = None


class OfflineAgent(Identification):
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

    @classmethod
    def taking_over(cls, start: facts.ConversationStart, *, caller: facts.CallerFacts | None,
                    tool_context: ToolContext, history: Sequence[str], unanswered: Sequence[str],
                    recorder=None, database=databases.SERVER) -> OfflineAgent:  # fmt: skip
        """Go on with a conversation another agent began: the same caller and tool state (who they proved to be,
        what was booked), the job the caller was talking about, and their words not answered yet."""
        agent = cls(replace(start, caller=caller), recorder=recorder, database=database, tool_context=tool_context)
        agent._earlier = list(history)
        agent._pending.extend(unanswered)
        return agent

    # --------------------------------------------------------------- what the driver tells the agent

    def hear(self, text: str) -> None:
        self.conversation.add_user(text)
        self._pending.append(text)

    def said(self, text: str) -> None:
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
                                                open_requests=open_requests)  # fmt: skip

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
            Intent.QUESTION: self._question,
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
            job.when = _merged(job.when, when)
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

    async def _on_message(self, text: str, intent: Intent | None) -> bool:
        self._state.message = text[:1000]
        number = phone_in(text)
        if number is None and not self._start.caller_phone:
            self._ask("callback_number", phrases.CALLBACK_NUMBER)
            return True
        await self._take_message(number or "")
        return True

    async def _on_callback_number(self, text: str, intent: Intent | None) -> bool:
        number = phone_in(text)
        if number is None:
            if self._state.asked >= MAX_ASKS:
                self._state.message = ""
                self._ask("anything_else", phrases.NO_NUMBER_NO_MESSAGE)
            else:
                self._ask("callback_number", phrases.CALLBACK_NUMBER_AGAIN)
            return True
        await self._take_message(number)
        return True

    async def _take_message(self, callback_number: str) -> None:
        self._done_asking()
        result = await self._tool("take_message", message=self._state.message, callback_number=callback_number)
        if result.ok:
            self._state.message = ""
            self._ask("anything_else", phrases.message_taken(result.data.get("callback_number", "")))
        elif "number" in result.say.lower():
            self._ask("callback_number", result.say)
        else:
            self._state.message = ""
            self._ask("anything_else", result.say)

    async def _on_service(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None or intent in JOBS | {Intent.QUESTION, Intent.HOURS, Intent.PRICE} and not services_named(
            text, await self._service_menu()
        ):
            return False
        await self._absorb(text)
        await self._advance()
        return True

    async def _on_vehicle(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None:
            return False
        car = car_of(text)
        if car is not None and vehicle_choice(text, self._vehicles()) is None:
            return await self._add_vehicle(car)
        await self._absorb(text)
        if job.vehicle is None and intent in JOBS | {Intent.QUESTION}:
            return False
        await self._advance()
        return True

    async def _on_new_vehicle(self, text: str, intent: Intent | None) -> bool:
        car = car_of(text)
        if car is None:
            if intent is not None and intent not in {Intent.BOOK}:
                return False
            self._ask("new_vehicle", phrases.WHICH_CAR_NEW_AGAIN)
            return True
        return await self._add_vehicle(car)

    async def _add_vehicle(self, car) -> bool:
        result = await self._tool("add_vehicle", year=car.year, make=car.make, model=car.model)
        if not result.ok:
            self._ask("new_vehicle", result.say, phrases.WHICH_CAR_NEW_AGAIN)
            return True
        await self._refresh_facts()
        if self._state.job is not None:
            self._state.job.vehicle = {"id": result.data["vehicle_id"],
                                       "name": result.data.get("name") or f"{car.year} {car.make} {car.model}"}  # fmt: skip
        self._done_asking()
        await self._advance()
        return True

    async def _on_time(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None:
            return False
        when = understand_when(text, today=self._today())
        if not when.said_anything:
            if intent is not None and intent is not Intent.BOOK:
                return False
            await self._absorb(text)
            if self._state.asked >= MAX_ASKS:
                self._ask("help_choice", phrases.CANNOT_HELP)
            else:
                self._ask("time", phrases.WHEN_AGAIN)
            return True
        await self._absorb(text)
        await self._advance()
        return True

    async def _on_choice(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None or not job.offered:
            return False
        picked = self._pick_offered(text, job.offered)
        if picked is not None:
            job.chosen = picked
            self._done_asking()
            await self._advance()
            return True
        when = understand_when(text, today=self._today())
        if when.said_anything:
            job.when = _merged(job.when, when) if not when.first_day else when
            job.chosen, job.offered = None, []
            await self._advance()
            return True
        if is_no(text):
            job.when, job.offered = TimeRequest(), []
            self._ask("time", phrases.OTHER_TIME)
            return True
        if intent is not None:
            return False
        self._ask("choice", phrases.which_of(job.offered))
        return True

    async def _on_readback(self, text: str, intent: Intent | None) -> bool:
        state, job = self._state, self._state.job
        if job is None:
            return False
        if is_yes(text) and not understand_when(text, today=self._today()).clock:
            if not state.readback_heard:
                self._read_back()
                return True
            self._done_asking()
            await self._carry_out()
            return True
        when = understand_when(text, today=self._today())
        if when.said_anything and job.kind in {"book", "move"}:
            job.when = when if when.first_day else _merged(job.when, when)
            job.chosen, job.offered = None, []
            await self._advance()
            return True
        if is_no(text):
            if job.kind in {"book", "move"}:
                job.chosen, job.offered, job.when = None, [], TimeRequest()
                self._ask("time", phrases.WHAT_TO_CHANGE)
            else:
                state.job = None
                self._ask("anything_else", phrases.NOTHING_CHANGED)
            return True
        if intent is not None:
            state.job = None
            return False
        self._read_back(again=True)
        return True

    async def _on_which_appointment(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None or not job.choices:
            return False
        picked = self._pick_appointment(text, job.choices)
        if picked is None:
            if intent is not None:
                return False
            self._ask("which_appointment", phrases.which_appointment(job.choices))
            return True
        job.appointment, job.choices = picked, []
        self._done_asking()
        await self._advance()
        return True

    # --------------------------------------------------------------- moving a job forward

    async def _advance(self) -> None:
        """Ask for the first thing the job still needs; with everything known, read it back."""
        state, job = self._state, self._state.job
        if job is None:
            return
        if self.tool_context.customer_id is None:
            state.resume, state.job = job, None
            await self._identify()
            return
        if job.kind == "book":
            await self._advance_booking(job)
        elif job.appointment is None:
            await self._find_appointment(job)
        elif job.kind == "move":
            if not job.when.said_anything and job.chosen is None:
                self._ask("time", phrases.move_when(job.appointment))
                return
            await self._advance_times(job)
        else:
            self._read_back()

    async def _advance_booking(self, job: Job) -> None:
        if not job.services:
            self._ask("service", phrases.WHICH_SERVICE)
            return
        if job.vehicle is None:
            vehicles = self._vehicles()
            if len(vehicles) == 1:
                job.vehicle = vehicles[0]
            elif not vehicles and self._state.car is not None:
                car, self._state.car = self._state.car, None  # said already: added once, not retried
                await self._add_vehicle(car)
                return
            elif not vehicles:
                self._ask("new_vehicle", phrases.WHICH_CAR_NEW)
                return
            else:
                self._ask("vehicle", phrases.which_vehicle(vehicles))
                return
        await self._advance_times(job)

    async def _advance_times(self, job: Job) -> None:
        if job.chosen is not None:
            self._read_back()
            return
        when = job.when
        if when.unclear:
            self._ask("time", phrases.unclear(when.unclear))
            return
        if not when.said_anything:
            self._ask("time", phrases.WHEN)
            return
        if when.clock is not None and when.first_day is None and not when.earliest:
            self._ask("time", phrases.which_day_at(when.clock))
            return
        await self._look_for_times(job)

    async def _look_for_times(self, job: Job) -> None:
        when = job.when
        arguments: dict = {"service_ids": await self._service_ids(job)}
        if when.first_day is not None and not when.earliest or when.first_day and when.last_day:
            last = when.last_day or when.first_day
            last = min(last, when.first_day + dt.timedelta(days=MAX_RANGE_DAYS))
            if last == when.first_day:
                arguments["date"] = when.first_day.isoformat()
            else:
                arguments["from_date"], arguments["to_date"] = when.first_day.isoformat(), last.isoformat()
        if when.part_of_day:
            arguments["part_of_day"] = when.part_of_day
        after = when.after or (when.clock if when.clock is not None else None)
        if after is not None:
            arguments["after"] = after.strftime("%H:%M")
        result = await self._tool("get_available_slots", **arguments)
        if not result.ok:
            options = result.data.get("next_openings") or result.data.get("alternatives") or []
            job.offered = options[:MAX_OFFERED]
            self._ask("choice" if job.offered else "time", result.say,
                      phrases.which_of(job.offered) if job.offered else phrases.OTHER_TIME)  # fmt: skip
            return
        slots = [s for s in result.data.get("slots", []) if _before(s, when.before)]
        if when.clock is not None:
            exact = next((s for s in slots if _clock_of(s) == when.clock), None)
            if exact is not None:
                job.chosen = exact
                self._read_back()
                return
            if slots:
                job.offered = slots[:MAX_OFFERED]
                self._ask("choice", phrases.not_open_at(when.clock), phrases.offer(job.offered))
                return
        if slots:
            job.offered = slots[:MAX_OFFERED]
            self._ask("choice", phrases.offer(job.offered, earliest=when.earliest))
            return
        options = (result.data.get("next_openings") or [])[:MAX_OFFERED]
        job.offered = options
        if options:
            self._ask("choice", result.say or phrases.NOTHING_THEN, phrases.which_of(options))
        else:
            self._ask("time", result.say or phrases.NOTHING_THEN, phrases.OTHER_TIME)

    async def _find_appointment(self, job: Job) -> None:
        result = await self._tool("get_upcoming_appointments")
        movable = [a for a in result.data.get("appointments", []) if a.get("status") in {"booked", "confirmed"}]
        if not movable:
            self._state.job = None
            self._ask("anything_else", phrases.NO_APPOINTMENTS)
            return
        if len(movable) == 1:
            job.appointment = movable[0]
            await self._advance()
            return
        picked = self._pick_appointment(" ".join(self._pending_context()), movable)
        if picked is not None:
            job.appointment = picked
            await self._advance()
            return
        job.choices = movable[:4]
        self._ask("which_appointment", phrases.which_appointment(job.choices))

    def _read_back(self, *, again: bool = False) -> None:
        job = self._state.job
        assert job is not None
        self._state.readback_heard = True
        self._ask("readback", phrases.read_back(job, again=again))

    async def _carry_out(self) -> None:
        state, job = self._state, self._state.job
        assert job is not None
        if job.kind == "book":
            assert job.vehicle is not None and job.chosen is not None
            extra = {"transport": job.transport} if job.transport else {}
            result = await self._tool("book_appointment", vehicle_id=job.vehicle["id"],
                                      service_ids=await self._service_ids(job), start=job.chosen["start"],
                                      **extra)  # fmt: skip
        elif job.kind == "move":
            assert job.appointment is not None and job.chosen is not None
            result = await self._tool("reschedule_appointment", appointment_id=job.appointment["appointment_id"],
                                      start=job.chosen["start"])  # fmt: skip
        elif job.kind == "cancel":
            assert job.appointment is not None
            result = await self._tool("cancel_appointment", appointment_id=job.appointment["appointment_id"])
        else:
            assert job.appointment is not None
            result = await self._tool("confirm_appointment", appointment_id=job.appointment["appointment_id"])
        if result.ok:
            state.job = None
            self._ask("anything_else", phrases.done(job), phrases.ANYTHING_ELSE)
            return
        alternatives = result.data.get("alternatives") or []
        if alternatives and job.kind in {"book", "move"}:
            job.chosen, job.offered = None, alternatives[:MAX_OFFERED]
            self._ask("choice", result.say, phrases.which_of(job.offered))
            return
        state.job = None
        self._ask("help_choice", result.say or phrases.SOMETHING_WRONG, phrases.MESSAGE_OR_PERSON)

    # --------------------------------------------------------------- answers that change nothing

    async def _goodbye(self, text: str) -> None:
        self._state.job = None
        self._done_asking()
        await self._tool(END_CALL)
        self._say(phrases.goodbye(self._shop.dealership))
        assert self._reply is not None
        self._reply.control = EndCall()

    async def _hand_over(self, text: str) -> None:
        reason = "The caller asked to speak with a person" if intent_of(text) is Intent.PERSON else text
        self._state.job = None
        self._done_asking()
        await self._tool(TRANSFER, reason=reason[:300])
        self._say(phrases.TRANSFERRING)
        assert self._reply is not None
        self._reply.control = Transfer(whisper=self.transfer_whisper(reason), reason=reason)

    async def _ask_message(self, text: str) -> None:
        self._state.job = None
        self._ask("message", phrases.ASK_MESSAGE)

    async def _status(self, text: str) -> None:
        if self.tool_context.customer_id is None:
            self._state.resume = Intent.STATUS
            await self._identify()
            return
        result = await self._tool("vehicle_status")
        self._ask("anything_else", result.say or phrases.SOMETHING_WRONG, phrases.ANYTHING_ELSE)

    async def _upcoming(self, text: str) -> None:
        if self.tool_context.customer_id is None:
            self._state.resume = Intent.UPCOMING
            await self._identify()
            return
        result = await self._tool("get_upcoming_appointments")
        self._ask("anything_else", phrases.upcoming(result.data.get("appointments", []), result.say),
                  phrases.ANYTHING_ELSE)  # fmt: skip

    async def _hours(self, text: str) -> None:
        when = understand_when(text, today=self._today())
        self._ask("anything_else", phrases.hours(self._shop, when.first_day), phrases.ANYTHING_ELSE)

    async def _price(self, text: str) -> None:
        named = services_named(text, await self._service_menu())
        if not named:
            await self._question(text)
            return
        self._ask("anything_else", phrases.prices(named), phrases.ANYTHING_ELSE)

    async def _question(self, text: str) -> None:
        result = await self._tool("search_knowledge", question=text[:500])
        passages = [p for p in result.data.get("passages") or [] if is_about(text, f"{p['title']} {p['text']}")]
        if result.ok and passages:
            self._ask("anything_else", phrases.passage(passages[0]["text"]), phrases.ANYTHING_ELSE)
            return
        self._ask("help_choice", phrases.DO_NOT_KNOW)

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

    async def _service_ids(self, job: Job) -> list[int]:
        if job.services:
            return [s["id"] for s in job.services]
        names = set((job.appointment or {}).get("services", []))
        return [s["id"] for s in await self._service_menu() if s["name"] in names]

    def _pick_offered(self, text: str, offered: list[dict]) -> dict | None:
        index = ordinal_choice(text, len(offered))
        if index is not None:
            return offered[index]
        when = understand_when(text, today=self._today())
        if when.clock is None:
            return None
        fitting = [s for s in offered if _clock_of(s) == when.clock
                   and (when.first_day is None or _day_of(s) == when.first_day)]  # fmt: skip
        return fitting[0] if len(fitting) == 1 else None

    def _pick_appointment(self, text: str, appointments: list[dict]) -> dict | None:
        if not text:
            return None
        index = ordinal_choice(text, len(appointments))
        if index is not None and "one" in words_of(text):
            return appointments[index]
        when = understand_when(text, today=self._today())
        fitting = appointments
        if when.first_day is not None:
            fitting = [a for a in fitting if _day_of(a) == when.first_day]
        named = services_named(text, self._menu or [])
        if named:
            names = {s["name"] for s in named}
            fitting = [a for a in fitting if names & set(a.get("services", []))]
        if fitting is appointments:
            return None
        return fitting[0] if len(fitting) == 1 else None


def _merged(old: TimeRequest, new: TimeRequest) -> TimeRequest:
    """A newer answer refines the time asked for: a new day replaces the day (and its times unless given
    again); a time alone keeps the day."""
    if new.first_day is not None or new.earliest or new.unclear:
        return new
    return replace(old, clock=new.clock or old.clock, part_of_day=new.part_of_day or old.part_of_day,
                   after=new.after or old.after, before=new.before or old.before, unclear=new.unclear)  # fmt: skip


def _moment(slot: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(slot["start"])


def _clock_of(slot: dict) -> dt.time:
    return _moment(slot).time().replace(tzinfo=None)


def _day_of(slot: dict) -> dt.date:
    return _moment(slot).date()


def _before(slot: dict, limit: dt.time | None) -> bool:
    return limit is None or _clock_of(slot) < limit

