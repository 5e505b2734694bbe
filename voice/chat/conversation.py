"""One chat with the agent: what a chat page's socket drives, as a phone call's session drives a call.

The agent is the phone's (agent.factory picks the model agent, or the offline one without a key), with the same
tools. The caller's text is heard whole; the reply streams back as events for the page: its words, each round of
tool calls with their arguments and results, notices, and where the call would have ended or been handed over.
All of a reply is "heard" (nothing is interrupted in a chat).

A dry run gives the agent a database runner whose work happens in an ``agent.database.Sandbox`` opened for one
reply and rolled back when that reply ends, so no lock is held while a person types. Otherwise the server's
runner is used and the changes are real, credited to the phone agent (the tools do that).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.urls import reverse

from agent import database as databases
from agent.context import ConversationStart, caller_facts, shop_facts
from agent.events import AgentError, EndCall, Notice, TextDelta, TextDone, ToolFinished, ToolsStarted, Transfer
from agent.factory import make_agent
from voice.selectors import open_requests_for
from voice.session.records import RecordsWithoutCall
from voice.speech import SentenceChunker, speakable

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000

Send = Callable[[dict], Awaitable[None]]


class ChatError(Exception):
    """A message the chat cannot take; the text is shown on the page as it is."""


@dataclass(frozen=True)
class ChatSetup:
    customer_id: int | None  # the caller the phone line would know, or None for an unknown caller
    phone: str  # the caller ID, E.164, "" when withheld
    dry_run: bool
    caller: str = ""  # who calls, in words, for the page


class SandboxPerReply:
    """The agent's database runner in a dry run: each reply's work in a new Sandbox, rolled back by ``end``."""

    def __init__(self) -> None:
        self._sandbox: databases.Sandbox | None = None
        self._closed = False

    async def run(self, function, *args, **kwargs):
        if self._closed:
            raise RuntimeError("this chat is closed")
        if self._sandbox is None:
            self._sandbox = databases.Sandbox()
        return await self._sandbox.run(function, *args, **kwargs)

    async def end(self, *, closing: bool = False) -> None:
        self._closed = self._closed or closing
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            await sandbox.close()


class ServerRunner:
    """The server's runner: changes are committed as on a call."""

    async def run(self, function, *args, **kwargs):
        return await databases.SERVER.run(function, *args, **kwargs)

    async def end(self, *, closing: bool = False) -> None:
        pass


class Recorder:
    """Keeps each finished tool call's record (its kind and duration) for the event that reports it."""

    def __init__(self) -> None:
        self.invocations: dict[str, object] = {}

    def tool_finished(self, invocation) -> None:
        self.invocations[invocation.call.id] = invocation


def conversation_start(setup: ChatSetup) -> ConversationStart:
    """What the agent knows before the first word (database thread), as a call from this caller would give it."""
    open_requests = open_requests_for(setup.customer_id)
    return ConversationStart(shop=shop_facts(), call_sid="", caller_phone=setup.phone,
                             caller=caller_facts(setup.customer_id, open_requests=open_requests))  # fmt: skip


class AgentChat:
    """The driver of one chat. ``send`` takes each event for the page; ``say`` starts a reply in a task.

    ``make`` builds the agent (agent.factory.make_agent's signature): the one every conversation gets, unless a
    caller of this class wants a particular agent.
    """

    def __init__(self, setup: ChatSetup, send: Send, *, make=make_agent):
        self.setup = setup
        self._send = send
        self._make = make
        self._runner = SandboxPerReply() if setup.dry_run else ServerRunner()
        self._recorder = Recorder()
        self._agent = None
        self._today = None
        self._reply: asyncio.Task | None = None
        self.over = False  # the call would have ended or been handed over

    @property
    def replying(self) -> bool:
        return self._reply is not None and not self._reply.done()

    async def open(self) -> None:
        try:
            start = await self._runner.run(conversation_start, self.setup)
        finally:
            await self._runner.end()
        self._today = start.shop.now.date()
        self._agent = self._make(start, records=RecordsWithoutCall(), recorder=self._recorder,
                                 database=self._runner)  # fmt: skip
        await self._send({"type": "ready", "caller": self.setup.caller, "dry_run": self.setup.dry_run,
                          "known": start.caller is not None})  # fmt: skip

    def say(self, text) -> None:
        """The caller's words: checked, then answered in a task of its own. ChatError when they cannot be."""
        if self._agent is None:
            raise ChatError("Start a chat first.")
        if self.over:
            raise ChatError("This conversation is over (the call would have ended): start a new one.")
        if self.replying:
            raise ChatError("The agent is still answering: wait for its reply.")
        if not isinstance(text, str) or not text.strip():
            raise ChatError("Type something for the caller to say.")
        if len(text) > MAX_TEXT_CHARS:
            raise ChatError(f"That is too long: at most {MAX_TEXT_CHARS} characters.")
        text = " ".join(text.split())
        self._agent.hear(text)
        self._reply = asyncio.create_task(self._answer(text), name="agent-chat-reply")

    async def close(self) -> None:
        """The page went away: stop a reply under way, let running writes land, undo a dry run's changes."""
        if self._reply is not None:
            self._reply.cancel()
            with contextlib.suppress(BaseException):
                await self._reply
        try:
            if self._agent is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._agent.aclose(), timeout=30)
        finally:
            await self._runner.end(closing=True)

    # ------------------------------------------------------------------ one reply

    async def _answer(self, text: str) -> None:
        await self._send({"type": "caller", "text": text})
        reply = _Reply(self._send, today=self._today)
        stream = self._agent.reply()
        cancelled = False
        try:
            await self._relay(stream, reply)
            await reply.flush()
        except AgentError as exc:
            await reply.flush()
            await self._send({"type": "error", "message": f"The agent failed: {exc or 'no answer in time'}."})
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:  # one chat's fault stays in this chat
            logger.exception("agent chat: the reply failed")
            await reply.flush()
            await self._send({"type": "error", "message": f"The reply failed: {type(exc).__name__}."})
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()
            self._agent.heard(reply.whole_text())  # in a chat all of the reply is heard
            await self._runner.end()  # a dry run's changes are undone here, before the next word
            if not cancelled:
                await self._send({"type": "reply_done", "undone": self.setup.dry_run, "over": self.over})

    async def _relay(self, stream, reply: _Reply) -> None:
        # The agent bounds its model's silence itself (and asks again, or goes on offline, when it fails).
        async for event in stream:
            if isinstance(event, TextDelta):
                await reply.add(event.text)
            elif isinstance(event, TextDone):
                await reply.flush()
            elif isinstance(event, ToolsStarted):
                await reply.flush()
                await self._send({"type": "tools", "calls": [_call_data(call) for call in event.calls]})
            elif isinstance(event, ToolFinished):
                await self._send(self._finished_data(event))
            elif isinstance(event, EndCall):
                self.over = True
                await reply.flush()
                await self._send({"type": "end_call"})
            elif isinstance(event, Transfer):
                self.over = True
                await reply.flush()
                whisper = event.whisper or self._agent.transfer_whisper(event.reason)
                await self._send({"type": "transfer", "whisper": whisper, "reason": event.reason})
            elif isinstance(event, Notice):
                await self._send({"type": "notice", "text": event.text})

    def _finished_data(self, event: ToolFinished) -> dict:
        result = event.result
        invocation = self._recorder.invocations.pop(event.call.id, None)
        return {
            **_call_data(event.call),
            "type": "tool_result",
            "ok": result.ok,
            "result": json.loads(result.for_model()),
            "kind": str(invocation.kind) if invocation is not None else "",
            "ms": round(invocation.duration_ms) if invocation is not None else None,
            "changes": [] if self.setup.dry_run else [_change_data(change) for change in result.changes],
        }


class _Reply:
    """The reply's words in pieces (before and after each round of tools), each sent with its spoken form."""

    def __init__(self, send: Send, *, today):
        self._send, self._today = send, today
        self._piece = ""
        self._pieces: list[str] = []

    async def add(self, text: str) -> None:
        self._piece += text
        await self._send({"type": "delta", "text": text})

    async def flush(self) -> None:
        text, self._piece = self._piece.strip(), ""
        if not text:
            return
        self._pieces.append(text)
        spoken = spoken_form(text, today=self._today)
        await self._send({"type": "agent", "text": text, "spoken": "" if spoken == " ".join(text.split()) else spoken})

    def whole_text(self) -> str:
        return " ".join([*self._pieces, self._piece.strip()]).strip()


def spoken_form(text: str, *, today=None) -> str:
    """What the phone would say: the text cut into the chunks the call speaks, each made speakable."""
    chunker = SentenceChunker()
    chunks = [*chunker.feed(text), *chunker.flush()]
    return " ".join(spoken for spoken in (speakable(chunk, today=today) for chunk in chunks) if spoken)


def _call_data(call) -> dict:
    arguments = call.arguments if call.arguments is not None else call.raw_arguments
    return {"id": call.id, "name": call.name, "arguments": arguments}


_CHANGE_PAGES = [
    ("appointment_id", "scheduling_appointment", "appointment"),
    ("customer_id", "crm_customer", "customer"),
    ("vehicle_id", "crm_vehicle", "vehicle"),
    ("callback_id", "voice_callbackrequest", "callback request"),
]


def _change_data(change) -> dict:
    """A real change with a link to what it changed (the first of appointment, customer, vehicle, callback)."""
    for attribute, page, label in _CHANGE_PAGES:
        pk = getattr(change, attribute)
        if pk is not None:
            return {"kind": str(change.kind), "label": f"{label} {pk}",
                    "url": reverse(f"admin:{page}_change", args=[pk])}  # fmt: skip
    return {"kind": str(change.kind), "label": "", "url": ""}
