"""What an interruption or a slow database does to a tool round: writes always land, reads stop and say so,
and the next request to the model is well formed. Tools run in the agent's database threads against the real
database, so these tests commit (transaction=True) and hold real table locks from another session."""

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from agent.context import ConversationStart, ShopFacts, caller_facts
from agent.events import ToolFinished, ToolsStarted
from agent.fillers import Fillers
from agent.model_agent import ModelAgent, _batches
from agent.tool_runner import TOO_SLOW
from agent.events import ToolCall
from scheduling.models import Appointment
from standins import Reply
from standins._background import WAIT_SECONDS, async_wait_until
from tests.locks import TableLock, someone_waits_on
from tests.standins.fixtures import fake_openai  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = ShopFacts(dealership="Saguaro Motors", now=datetime(2026, 12, 3, 9, 30, tzinfo=ZoneInfo("America/Phoenix")),
                 hours=("today: 7 AM to 6 PM",))  # fmt: skip


async def in_thread(function, *args):
    """Database work from an async test, in a thread that closes its connection after (the database is dropped
    at the end of the session)."""

    def closing():
        try:
            return function(*args)
        finally:
            connection.close()

    return await asyncio.to_thread(closing)


@pytest.fixture(params=[0, 2], ids=["shared-database-thread", "agent-pool"])
def model(request, settings, fake_openai):  # noqa: F811
    """The OpenAI stand-in, with the tools on Channels' shared database thread or on the agent's own pool."""
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    settings.AGENT_DATABASE_THREADS = request.param
    return fake_openai


class Kept:
    """The driver's recorder: every tool call the agent reports."""

    def __init__(self):
        self.invocations = []

    def tool_finished(self, invocation):
        self.invocations.append(invocation)


def agent_for(customer, recorder=None) -> ModelAgent:
    return ModelAgent(ConversationStart(shop=SHOP, call_sid="CA" + "cd" * 16, caller_phone=str(customer.phone),
                                        caller=caller_facts(customer.pk)), recorder=recorder)  # fmt: skip


async def until_tools_started(agent: ModelAgent) -> asyncio.Task:
    """Iterate the agent's reply in a task of its own, as a call session does; return once its tools started."""
    started = asyncio.Event()

    async def drive():
        async for event in agent.reply():
            if isinstance(event, ToolsStarted):
                started.set()

    task = asyncio.create_task(drive())
    await asyncio.wait_for(started.wait(), WAIT_SECONDS)
    return task


async def test_a_write_under_way_when_the_caller_interrupts_still_lands_and_the_next_request_has_its_pair(
    model, bays, menu, customer, vehicle, monday, at
):
    agent = await in_thread(agent_for, customer)
    start = at(monday, "09:00").isoformat()
    model.queue_reply(Reply(text="Booking it.", tool_calls=[
        ("book_appointment", {"vehicle_id": vehicle.pk, "service_ids": [menu.oil.pk], "start": start})]))
    model.queue_text("Sure, go ahead.")
    agent.hear("yes book it")
    with TableLock("scheduling_appointmentevent", "EXCLUSIVE") as lock:
        reply = await until_tools_started(agent)
        await someone_waits_on(lock)  # the booking waits on the lock
        reply.cancel()  # the caller talks over it
        with pytest.raises(asyncio.CancelledError):
            await reply
        agent.heard("Booking it.")
        agent.hear("wait, one more thing")
        lock.release()
        async for _ in agent.reply():
            pass
    assert await in_thread(lambda: Appointment.objects.filter(customer=customer).count()) == 1
    messages = model.chat_requests[1].messages
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "user"]
    assert json.loads(messages[3]["content"])["ok"] is True
    assert messages[3]["tool_call_id"] == messages[2]["tool_calls"][0]["id"]


async def test_a_read_stopped_by_the_caller_leaves_a_cancelled_result(model, menu, customer, vehicle):
    agent = await in_thread(agent_for, customer)
    model.queue_reply(Reply(text="Let me see.", tool_calls=[("list_services", {})]))
    model.queue_text("Of course.")
    agent.hear("what do you offer")
    with TableLock("scheduling_servicetype", "ACCESS EXCLUSIVE") as lock:  # even reads wait
        reply = await until_tools_started(agent)
        await someone_waits_on(lock)
        reply.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reply
    agent.heard("")
    agent.hear("never mind")
    async for _ in agent.reply():
        pass
    messages = model.chat_requests[1].messages
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "user"]
    assert messages[2]["content"] is None, "nothing of the preface was heard"
    assert json.loads(messages[3]["content"]) == {"ok": False, "cancelled": True,
                                                  "error": "stopped: the caller interrupted"}  # fmt: skip


async def test_a_tool_over_its_time_limit_gets_an_apology_and_a_late_write_is_told_before_the_next_answer(
    model, settings, bays, menu, customer, vehicle, monday, at
):
    settings.AGENT_TOOL_TIMEOUT_SECONDS = 0.5
    agent_records = Kept()
    agent = await in_thread(agent_for, customer, agent_records)
    start = at(monday, "10:00").isoformat()
    model.queue_reply(Reply(tool_calls=[
        ("book_appointment", {"vehicle_id": vehicle.pk, "service_ids": [menu.oil.pk], "start": start})]))
    model.queue_text("Sorry, that's slow today.")
    model.queue_text("It did go through.")
    agent.hear("book it")
    with TableLock("scheduling_appointmentevent", "EXCLUSIVE") as lock:
        events = []
        async for event in agent.reply():
            events.append(event)
        lock.release()
        finished = [e for e in events if isinstance(e, ToolFinished)]
        assert finished[0].result.say == TOO_SLOW and finished[0].result.data["still_running"] is True
        await async_wait_until(lambda: any(m["role"] == "system" for m in agent.conversation.messages), WAIT_SECONDS)
    agent.heard("Sorry, that's slow today.")
    agent.hear("did it work")
    async for _ in agent.reply():
        pass
    note = [m for m in model.chat_requests[2].messages[1:] if m["role"] == "system"]
    assert len(note) == 1 and "book_appointment" in note[0]["content"] and '"ok":true' in note[0]["content"]
    assert await in_thread(lambda: Appointment.objects.filter(customer=customer).count()) == 1
    kept = [(i.call.name, i.result.ok, i.result.data.get("error")) for i in agent_records.invocations]
    assert kept == [("book_appointment", False, "timed out"), ("book_appointment", True, None)], \
        "the write is kept as it really ended, after the apology"


def test_reads_side_by_side_and_each_write_alone_in_the_order_asked():
    calls = [ToolCall(str(n), name, {}) for n, name in enumerate(
        ["get_available_slots", "search_knowledge", "create_customer", "add_vehicle", "list_services", "end_call"])]
    assert [[c.name for c in batch] for batch in _batches(calls)] == [
        ["get_available_slots", "search_knowledge"], ["create_customer"], ["add_vehicle"],
        ["list_services", "end_call"]]  # fmt: skip


def test_fillers_fit_the_tools_and_never_repeat_back_to_back():
    fillers = Fillers(seed=7)
    slots = [ToolCall("a", "get_available_slots", {})]
    picks = [fillers.pick(slots) for _ in range(30)]
    assert all(a != b for a, b in zip(picks, picks[1:]))
    assert set(picks) <= {"Let me look at the schedule.", "One moment while I check what's open.",
                          "Let me see what we have."}  # fmt: skip
    assert fillers.pick([ToolCall("b", "book_appointment", {})]) in {
        "Okay, I'm putting that in now.", "One moment while I set that up.", "Let me get that booked."}
