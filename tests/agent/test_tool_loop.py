"""The model agent's tool loop against the OpenAI stand-in, through the real SDK: fragments assembled, results
paired, rounds bounded, call control left to the driver."""

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent.context import ConversationStart, ShopFacts
from agent.events import EndCall, TextDelta, TextDone, ToolFinished, ToolsStarted, Transfer
from agent.model_agent import GIVE_UP, ModelAgent
from standins import Reply
from tests.standins.fixtures import fake_openai  # noqa: F401

# Tools run through the agent's database runner, which checks connections as a request would.
pytestmark = pytest.mark.django_db

SHOP = ShopFacts(dealership="Saguaro Motors", now=datetime(2026, 12, 3, 9, 30, tzinfo=ZoneInfo("America/Phoenix")),
                 hours=("today: 7 AM to 6 PM",))  # fmt: skip


class Kept:
    def __init__(self):
        self.invocations = []

    def tool_finished(self, invocation):
        self.invocations.append(invocation)


@pytest.fixture
def model(settings, fake_openai):  # noqa: F811
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    settings.VOICE_AGENT_TIMEOUT_SECONDS = 20
    return fake_openai


async def events_of(agent) -> list:
    return [event async for event in agent.reply()]


async def test_a_goodbye_then_end_call_is_an_event_for_the_driver_with_a_whole_tool_pair(model):
    model.queue_reply(Reply(text="Thanks for calling, goodbye.", tool_calls=[("end_call", {})]))
    kept = Kept()
    agent = ModelAgent(ConversationStart(shop=SHOP, call_sid="CA1"), recorder=kept)
    agent.hear("that's all, bye")
    events = await events_of(agent)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Thanks for calling, goodbye."
    assert [type(e) for e in events if not isinstance(e, TextDelta)] == [TextDone, ToolsStarted, ToolFinished, EndCall]
    assert len(model.chat_requests) == 1, "call control ends the round: the model is not asked again"
    assert [i.call.name for i in kept.invocations] == ["end_call"]
    tool_round = agent.conversation.messages[-2:]
    assert tool_round[0]["tool_calls"][0]["function"]["name"] == "end_call"
    assert tool_round[1]["tool_call_id"] == tool_round[0]["tool_calls"][0]["id"]
    assert json.loads(tool_round[1]["content"])["ok"] is True


async def test_the_preface_is_over_as_soon_as_the_tool_calls_begin(model):
    """The model's last words before a tool call are not held back until the whole call has streamed."""
    from agent.providers.openai_chat import OpenAIChat

    model.queue_reply(Reply(text="Let me check Tuesday.", tool_calls=[("get_available_slots", {
        "service_ids": [1], "date": "2026-12-08", "part_of_day": "afternoon"})]))
    kinds = [type(event).__name__ async for event in OpenAIChat().stream([{"role": "user", "content": "hi"}], [])]
    assert kinds[-2:] == ["TextDone", "ToolCall"] and set(kinds[:-2]) == {"TextDelta"}


async def test_a_transfer_carries_a_whisper_with_the_reason(model):
    model.queue_reply(Reply(text="Let me get you an advisor.",
                            tool_calls=[("transfer_to_person", {"reason": "wants a quote for new tires"})]))  # fmt: skip
    agent = ModelAgent(ConversationStart(shop=SHOP, call_sid="CA1", caller_phone="+16025550123"))
    agent.hear("can I talk to someone about tires")
    transfer = [e for e in await events_of(agent) if isinstance(e, Transfer)]
    assert len(transfer) == 1
    assert transfer[0].whisper == "A caller who is not on file, calling from 602 555 0123. Wants a quote for new tires."


async def test_unknown_tools_and_arguments_that_are_not_json_get_a_refusal_the_model_reads(model):
    model.queue_reply(Reply(tool_calls=[("teleport_car", {"to": "home"})]))
    model.queue_reply(Reply(text="Sorry about that. How else can I help?"))
    agent = ModelAgent(ConversationStart(shop=SHOP))
    agent.hear("send my car home")
    events = await events_of(agent)
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert len(finished) == 1 and not finished[0].result.ok and finished[0].result.say
    second = model.chat_requests[1].messages
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert second[2]["tool_calls"][0]["id"] == second[3]["tool_call_id"]
    assert json.loads(second[3]["content"])["ok"] is False


async def test_at_most_four_model_rounds_and_the_last_is_asked_without_tools(model):
    for _ in range(4):
        model.queue_reply(Reply(text="Checking.", tool_calls=[("teleport_car", {})]))
    agent = ModelAgent(ConversationStart(shop=SHOP))
    agent.hear("do the impossible")
    events = await events_of(agent)
    assert len(model.chat_requests) == 4
    assert all("tools" in r.body for r in model.chat_requests[:3]) and "tools" not in model.chat_requests[3].body
    assert GIVE_UP in "".join(e.text for e in events if isinstance(e, TextDelta))
    assert isinstance(events[-1], Transfer)
    # Every request was well formed: each tool call answered right after it.
    for request in model.chat_requests:
        messages = request.messages
        for index, message in enumerate(messages):
            for offset, call in enumerate(message.get("tool_calls") or [], start=1):
                assert messages[index + offset] == {"role": "tool", "tool_call_id": call["id"],
                                                    "content": messages[index + offset]["content"]}  # fmt: skip


async def test_the_prompt_holds_the_day_the_hours_and_the_tools_schemas(model):
    model.queue_text("Hello!")
    agent = ModelAgent(ConversationStart(shop=SHOP))
    agent.hear("hi")
    await events_of(agent)
    body = model.chat_requests[0].body
    system = body["messages"][0]["content"]
    assert "Saguaro Motors" in system and "Thursday, December 3, 2026" in system and "9:30 AM" in system
    assert "today: 7 AM to 6 PM" in system
    names = {tool["function"]["name"] for tool in body["tools"]}
    assert {"end_call", "transfer_to_person"} <= names
    for tool in body["tools"]:
        assert tool["function"]["parameters"]["type"] == "object"


async def test_a_reply_cut_mid_sentence_keeps_only_the_words_heard(model):
    model.queue_text("We have openings on Monday at eight in the morning and on Tuesday at ten, "
                     "and Wednesday is wide open.", tokens_per_second=20)  # fmt: skip
    model.queue_text("Friday works.")
    agent = ModelAgent(ConversationStart(shop=SHOP))
    agent.hear("when can you fit me in")
    first_words = asyncio.Event()

    async def drive():  # as a call session does: the reply's own task, closing the stream on the way out
        stream, said = agent.reply(), ""
        try:
            async for event in stream:
                said += event.text if isinstance(event, TextDelta) else ""
                if "Tuesday" in said:  # spoken so far: the caller heard up to "Monday"
                    first_words.set()
        finally:
            await stream.aclose()

    task = asyncio.create_task(drive())
    await asyncio.wait_for(first_words.wait(), 30)
    task.cancel()
    agent.heard("We have openings on Monday")  # told before the task has even seen its cancellation
    with pytest.raises(asyncio.CancelledError):
        await task
    agent.hear("what about friday")
    await events_of(agent)
    assert model.chat_requests[1].messages[1:] == [
        {"role": "user", "content": "when can you fit me in"},
        {"role": "assistant", "content": "We have openings on Monday"},
        {"role": "user", "content": "what about friday"},
    ]
