"""A reply begun on caller words that are not final yet (agent.interface): reads run at once, a write waits
for confirm(), and withdraw() leaves the conversation and the caller's identification as they were before.
The model is the OpenAI stand-in; the tools run against the real database (hence transaction=True)."""

import asyncio

import pytest

from agent.context import ConversationStart
from agent.events import ToolFinished, ToolsStarted
from agent.model_agent import ModelAgent
from crm.models import Vehicle
from standins._background import WAIT_SECONDS
from tests.agent.test_interruptions import SHOP, Kept, agent_for, in_thread, model  # noqa: F401
from tests.standins.fixtures import fake_openai  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def unknown_caller_agent(recorder=None) -> ModelAgent:
    return ModelAgent(ConversationStart(shop=SHOP, call_sid="CA" + "ef" * 16, caller_phone="+16025550199"),
                      recorder=recorder)  # fmt: skip


async def drive(agent: ModelAgent, seen: list) -> None:
    """Iterate the agent's reply as a call session does, keeping every event."""
    async for event in agent.reply():
        seen.append(event)


async def until(condition) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_write_waits_for_the_words_to_be_confirmed_then_runs(model, customer):  # noqa: F811
    model.queue_tool_calls([("add_vehicle", {"year": 2022, "make": "Mazda", "model": "CX-5", "plate": "MZD-2200"})])
    model.queue_text("I've added your Mazda.")
    kept = Kept()
    agent = await in_thread(agent_for, customer, kept)
    agent.hear_tentatively("please add my mazda cx-5 plate mzd 2200")
    seen: list = []
    replying = asyncio.create_task(drive(agent, seen))
    await until(lambda: any(isinstance(e, ToolsStarted) for e in seen))
    await asyncio.sleep(0.3)  # room for a write that would wrongly run: it must still be waiting
    assert not kept.invocations and not any(isinstance(e, ToolFinished) for e in seen)
    assert not await in_thread(lambda: Vehicle.objects.filter(plate="MZD2200").exists())

    agent.confirm()
    await asyncio.wait_for(replying, WAIT_SECONDS)
    assert [i.call.name for i in kept.invocations] == ["add_vehicle"] and kept.invocations[0].result.ok
    assert await in_thread(lambda: Vehicle.objects.filter(customer=customer, make="Mazda").count()) == 1
    assert model.chat_requests[-1].body["messages"][-1]["role"] == "tool"


async def test_withdrawn_words_leave_no_trace_in_the_conversation_or_the_identification(model, customer, vehicle):  # noqa: F811
    model.queue_tool_calls([("lookup_customer", {"name": "María López", "plate": "ABC-1234"})])
    model.queue_text("Thanks, María.", first_token_delay=WAIT_SECONDS)  # still thinking when withdrawn
    model.queue_text("Sure, what can I do for you?")
    agent = unknown_caller_agent()
    agent.hear("hello")
    agent.said("Hi, how can I help?")
    before = [dict(message) for message in agent.conversation.messages]
    agent.hear_tentatively("this is maria lopez plate abc 1234")
    seen: list = []
    replying = asyncio.create_task(drive(agent, seen))
    # The lookup is a read: it runs on tentative words, and identifies the caller.
    await until(lambda: agent.tool_context.customer_id is not None)
    await until(lambda: any(isinstance(e, ToolFinished) for e in seen))

    replying.cancel()  # the caller went on: the driver cancels the reply, then withdraws the words
    with pytest.raises(asyncio.CancelledError):
        await replying
    agent.withdraw()
    assert agent.conversation.messages == before
    assert agent.tool_context.customer_id is None and agent.tool_context.identified_by == ""

    agent.hear("actually I just have a question")
    async for _ in agent.reply():
        pass
    last = model.chat_requests[-1].body["messages"]
    assert [m["content"] for m in last if m["role"] == "user"] == ["hello", "actually I just have a question"]
    assert not any(m.get("tool_calls") or m["role"] == "tool" for m in last)
    assert "this is maria" not in str(last) and "María López" not in last[0]["content"]


def test_the_offline_agent_never_replies_preemptively(customer):
    from agent.offline.agent import OfflineAgent

    agent = OfflineAgent(ConversationStart(shop=SHOP, call_sid="CA" + "ab" * 16, caller_phone=str(customer.phone)))
    assert not agent.preemptive
    with pytest.raises(TypeError):
        agent.hear_tentatively("hello")
