"""Preemptive replies in whole calls: the agent starts the model when the caller pauses, before Deepgram's final
transcript, and keeps that reply only when the final says the same.

The stand-in Deepgram sends the final a whole second after the caller's audio ends here, so that the pause
(VOICE_PREEMPT_SILENCE_MS of quiet after words already transcribed) clearly comes first.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from standins._background import WAIT_SECONDS
from tests.standins.fixtures import fake_deepgram, fake_openai  # noqa: F401
from tests.voice.test_call_flow import GREETING, hears, settle, shop, turns  # noqa: F401
from voice import metrics
from voice.models import Call, Outcome, Speaker, ToolInvocation

pytestmark = [pytest.mark.django_db(transaction=True)]

FINAL_LATENCY = 1.0


@pytest.fixture
def slow_final(voice_live):
    voice_live.deepgram.final_latency = FINAL_LATENCY
    return voice_live


def final_sent_at(deepgram, text: str) -> float:
    """When the stand-in sent the final Result saying ``text`` (its own clock, time.monotonic())."""
    for connection in deepgram.of_kind("listen"):
        for message in connection.sent_of_type("Results"):
            alternative = message["channel"]["alternatives"][0]
            if message["is_final"] and alternative["transcript"] == text:
                return message["_t"]
    raise AssertionError(f"no final said {text!r}")


async def until(condition, timeout: float = WAIT_SECONDS) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def finals(deepgram) -> list[str]:
    return [text for connection in deepgram.of_kind("listen") for text in connection.finals]


def user_messages(request) -> list[str]:
    return [m["content"] for m in request.body["messages"] if m["role"] == "user"]


def counted(result: str) -> int:
    return metrics.PREEMPTIVE_REPLIES[result]


async def one_question(live, question: str, answer: str):
    """A call: the greeting, one question, its answer heard and saved, then the caller hangs up."""
    call_sid, parameters = await sync_to_async(live.incoming_call)()
    async with live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say(question)
        await hears(peer, answer)
        await settle(lambda: Call.objects.get(call_sid=call_sid).turns.count() == 3)
        await peer.send_stop()
    return call_sid, peer


async def test_a_reply_started_in_the_pause_is_kept_when_the_final_says_the_same(slow_final, shop):  # noqa: F811
    live = slow_final
    kept_before = counted(metrics.KEPT)
    live.openai.queue_text("We are open Saturdays from eight to two.")
    call_sid, peer = await one_question(live, "are you open on saturday", "We are open Saturdays from eight to two.")

    (request,) = live.openai.chat_requests  # one model request for the turn: no extra one
    assert user_messages(request) == ["are you open on saturday"]
    final_at = final_sent_at(live.deepgram, "are you open on saturday")
    assert request.received_at < final_at, "the model was asked before the final transcript"
    # Nothing of the reply was spoken before the final confirmed it.
    first_audio = next(e.t for e in peer.events("outbound_media_start") if e.t > request.received_at)
    assert final_at < first_audio
    answer = (await turns(call_sid))[2]
    assert answer.speaker == Speaker.AGENT and answer.preemptive
    assert answer.heard_text == answer.text == "We are open Saturdays from eight to two."
    assert " ".join(peer.heard).count("We are open Saturdays from eight to two.") == 1
    assert counted(metrics.KEPT) == kept_before + 1


async def test_a_reply_on_words_the_final_corrects_is_discarded_unheard_and_its_booking_never_runs(slow_final, shop):  # noqa: F811
    live = slow_final
    discarded_before = counted(metrics.DISCARDED)
    live.deepgram.revise_final("book me for tuesday", "book me for thursday")
    # The reply begun on "tuesday" books at once: a write, it waits for the final, which never confirms it.
    live.openai.queue_tool_calls(
        [("book_appointment", {"services": ["oil-change"], "start": "2026-12-08T09:00:00-07:00"})]
    )
    live.openai.queue_text("Thursday works. What time would you like?")
    call_sid, peer = await one_question(live, "book me for tuesday", "Thursday works. What time would you like?")

    early, answer = live.openai.chat_requests
    assert user_messages(early) == ["book me for tuesday"]
    assert early.received_at < final_sent_at(live.deepgram, "book me for thursday")
    # The model was asked again with the final words, and nothing of the discarded reply.
    assert user_messages(answer) == ["book me for thursday"]
    history = answer.body["messages"]
    assert not any(m.get("tool_calls") or m["role"] == "tool" for m in history)
    assert " ".join(peer.heard).count("Thursday works.") == 1
    assert not await sync_to_async(ToolInvocation.objects.filter(call__call_sid=call_sid).exists)()
    said = await turns(call_sid)
    assert [(t.speaker, t.text) for t in said] == [
        (Speaker.AGENT, GREETING),
        (Speaker.CALLER, "book me for thursday"),
        (Speaker.AGENT, "Thursday works. What time would you like?"),
    ]
    assert not said[2].preemptive
    assert counted(metrics.DISCARDED) == discarded_before + 1


async def test_a_reply_begun_in_a_pause_goes_as_soon_as_the_caller_goes_on_talking(slow_final, shop):  # noqa: F811
    live = slow_final
    live.deepgram.final_latency = 2 * FINAL_LATENCY  # the caller goes on well before the first final
    discarded_before = counted(metrics.DISCARDED)
    live.openai.queue_tool_calls([("end_call", {})])  # begun on the first words: call control waits for the final
    live.openai.queue_text("Sure, an oil change next week.")
    live.openai.queue_text("Sure, an oil change next week.")
    call_sid, parameters = await sync_to_async(live.incoming_call)()
    async with live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("that is all")
        await asyncio.sleep(0.6)  # a pause: the reply begins on "that is all"
        going_on = peer.say_nowait("for the oil change next week")  # before the first final: the caller went on
        await until(lambda: counted(metrics.DISCARDED) > discarded_before)
        # Dropped on the caller's next words, before the final of the first ones had even come.
        assert "that is all" not in finals(live.deepgram)
        await going_on
        await hears(peer, "Sure, an oil change next week.")
        await settle(lambda: Call.objects.get(call_sid=call_sid).turns.filter(text__startswith="Sure").exists())
        await peer.send_stop()

    early = live.openai.chat_requests[0]
    assert user_messages(early) == ["that is all"]
    assert early.received_at < final_sent_at(live.deepgram, "that is all")
    await settle(lambda: Call.objects.get(call_sid=call_sid).ended_at is not None)
    call = await sync_to_async(Call.objects.get)(call_sid=call_sid)
    assert call.outcome == Outcome.CALLER_HUNG_UP  # the discarded end_call never hung up
    assert not await sync_to_async(ToolInvocation.objects.filter(call__call_sid=call_sid).exists)()
    for request in live.openai.chat_requests[1:]:
        assert not any(m.get("tool_calls") for m in request.body["messages"])
    assert counted(metrics.DISCARDED) == discarded_before + 1


async def test_with_preemptive_replies_off_the_model_waits_for_the_final(slow_final, shop, settings):  # noqa: F811
    settings.VOICE_PREEMPTIVE_REPLIES = False
    live = slow_final
    live.openai.queue_text("We are open Saturdays from eight to two.")
    call_sid, _ = await one_question(live, "are you open on saturday", "We are open Saturdays from eight to two.")

    (request,) = live.openai.chat_requests
    assert final_sent_at(live.deepgram, "are you open on saturday") < request.received_at
    assert not (await turns(call_sid))[2].preemptive
