"""Whole calls end to end: Twilio's media stream (the peer) -> Daphne -> our consumer and session -> the Deepgram
and OpenAI stand-ins -> audio back to the peer, which "hears" it. Real SDKs, real sockets, real timing."""

import asyncio
from datetime import time

import pytest
from asgiref.sync import sync_to_async

from crm.selectors import dealership_profile
from scheduling.models import OpeningHours
from standins._background import WAIT_SECONDS
from tests.standins.fixtures import fake_deepgram, fake_openai  # noqa: F401
from voice.models import Call, Outcome, Speaker

pytestmark = [pytest.mark.django_db(transaction=True)]

GREETING = "Thanks for calling Saguaro Motors service. This call is recorded."


@pytest.fixture
def shop(db):
    """The dealership, open around the clock (hand-overs ring the transfer number only during opening hours)."""
    profile = dealership_profile()
    profile.name = "Saguaro Motors Service"
    profile.greeting = GREETING
    profile.transfer_phone = "+16025550101"
    profile.save()
    for weekday in range(7):
        OpeningHours.objects.create(weekday=weekday, opens=time(0, 0), closes=time(23, 59, 59))
    return profile


@pytest.fixture
def closed_shop(shop):
    OpeningHours.objects.all().delete()
    return shop


async def hears(peer, text: str, timeout: float = WAIT_SECONDS) -> None:
    """Wait until the caller has heard ``text`` (the agent speaks it sentence by sentence, one utterance each)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in " ".join(peer.heard):
        assert asyncio.get_running_loop().time() < deadline, f"not heard: {text!r}; heard {peer.heard!r}"
        await asyncio.sleep(0.05)


async def call_record(call_sid: str) -> Call:
    return await sync_to_async(Call.objects.get)(call_sid=call_sid)


async def turns(call_sid: str) -> list:
    return await sync_to_async(lambda: list(Call.objects.get(call_sid=call_sid).turns.order_by("position")))()


async def settle(condition, timeout=WAIT_SECONDS):
    """Wait until ``condition()`` (sync, may touch the database) is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await sync_to_async(condition)():
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_greeting_then_a_question_answered_with_audio(voice_live, shop):
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    voice_live.openai.queue_text("We are open Saturdays from eight to two.")
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("are you open on saturday")
        await hears(peer, "We are open Saturdays from eight to two.")
        # Saved as soon as its last mark came back, before the call ends.
        await settle(lambda: Call.objects.get(call_sid=call_sid).turns.count() == 3)
        await peer.send_stop()

    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.CALLER_HUNG_UP)
    said = await turns(call_sid)
    assert [(t.speaker, t.text) for t in said] == [
        (Speaker.AGENT, GREETING),
        (Speaker.CALLER, "are you open on saturday"),
        (Speaker.AGENT, "We are open Saturdays from eight to two."),
    ]
    answer = said[2]
    assert answer.heard_text == answer.text and not answer.interrupted
    # Timings count from the caller's final transcript. A reply started in the caller's pause (preemptive) may have
    # had its first token before that final, and a stage done before it has no timing; its audio never does.
    assert 0 < answer.tts_first_byte_ms <= answer.first_frame_ms <= answer.first_mark_ms
    assert answer.agent_first_token_ms is None or answer.agent_first_token_ms <= answer.tts_first_byte_ms
    assert answer.agent_first_token_ms is not None or answer.preemptive
    request = voice_live.openai.chat_requests[0].body
    assert request["messages"][0]["role"] == "system" and "Saguaro Motors Service" in request["messages"][0]["content"]
    assert request["messages"][1:] == [
        {"role": "assistant", "content": GREETING},
        {"role": "user", "content": "are you open on saturday"},
    ]
    call = await call_record(call_sid)
    assert call.answered_at is not None and call.ended_at is not None


async def test_barge_in_clears_audio_and_keeps_only_what_was_heard(voice_live, shop):
    long_reply = ("We have openings on Monday at eight in the morning. "
                  "We also have Tuesday at ten and Wednesday right after lunch. "
                  "Thursday is quite full but Friday afternoon is wide open for you.")  # fmt: skip
    voice_live.openai.queue_text(long_reply)
    voice_live.openai.queue_text("Sure, Friday it is.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("when can you fit me in")
        await hears(peer, "We have openings on Monday at eight in the morning.")
        await peer.say("actually what about friday")
        await hears(peer, "Sure, Friday it is.")
        await settle(lambda: Call.objects.get(call_sid=call_sid).turns.filter(text="Sure, Friday it is.").exists())
        await peer.send_stop()

    assert peer.events("clear_received"), "clear was sent to Twilio"
    # The agent stopped sending at the caller's first sound (the buffered audio ran dry), then the words cleared.
    began = next(e.t for e in peer.events("sent_utterance_start") if e.data.get("text") == "actually what about friday")
    cleared = next(e.t for e in peer.events("clear_received") if e.t > began)
    assert any(began < e.t < cleared for e in peer.events("underrun")), "sending went on until the clear"
    await settle(lambda: Call.objects.get(call_sid=call_sid).ended_at is not None)
    said = await turns(call_sid)
    interrupted = [t for t in said if t.interrupted]
    assert len(interrupted) == 1
    cut = interrupted[0]
    assert cut.text == long_reply
    assert cut.heard_text.startswith("We have openings on Monday at eight in the morning.")
    assert "Friday afternoon" not in cut.heard_text
    # The model saw only what the caller heard.
    second = voice_live.openai.chat_requests[1].body["messages"]
    assistant = [m["content"] for m in second if m["role"] == "assistant"]
    assert assistant[-1] == cut.heard_text
    assert voice_live.openai.chat_requests[0].client_disconnected or voice_live.openai.chat_requests[0].outcome


async def test_an_mm_hmm_over_the_agent_holds_its_audio_then_every_sentence_is_heard_once(voice_live, shop):
    sentences = ["We have openings on Monday at eight in the morning.",
                 "We also have Tuesday at ten and Wednesday right after lunch.",
                 "Thursday is quite full but Friday afternoon is wide open for you."]  # fmt: skip
    voice_live.openai.queue_text(" ".join(sentences))
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("when can you fit me in")
        await hears(peer, sentences[0])
        await peer.say("mm-hmm")  # a listening noise: Deepgram reports speech starting, then no interrupting words
        await hears(peer, sentences[2])
        await settle(lambda: Call.objects.get(call_sid=call_sid).turns.filter(text=" ".join(sentences)).exists())
        await peer.send_stop()

    # The agent's audio ran dry in the middle of a sentence after the caller began: sending was held. (The hold
    # starts while the second sentence, over three seconds of audio, plays: no sentence boundary falls in it.)
    began = next(e.t for e in peer.events("sent_utterance_start") if e.data.get("text") == "mm-hmm")
    last_heard = next(e.t for e in peer.events("heard") if e.data.get("text", "").endswith(sentences[2]))
    assert any(began < e.t < last_heard for e in peer.events("underrun")), "sending went on over the caller"
    assert not peer.events("clear_received"), "nothing was cleared: the caller did not interrupt"
    heard = " ".join(peer.heard)  # the agent speaks its first clause early: a sentence may come in two pieces
    assert [heard.count(sentence) for sentence in sentences] == [1, 1, 1], peer.heard
    assert not peer.cut
    said = await turns(call_sid)
    reply = next(t for t in said if t.text == " ".join(sentences))
    assert reply.heard_text == reply.text and not reply.interrupted
    assert [t.text for t in said if t.speaker == Speaker.CALLER] == ["when can you fit me in", "mm-hmm"]


async def test_goodbye_then_hang_up_after_it_was_heard(voice_live, shop):
    voice_live.openai.queue_tool_calls([("end_call", {})], text="Thanks for calling, goodbye!")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("that's all thanks bye")
        await hears(peer, "Thanks for calling, goodbye!")
        await peer.wait_closed()

    heard_at = [e.t for e in peer.timeline if e.kind == "heard" and "goodbye" in e.data.get("text", "")][0]
    (update,) = [u for u in voice_live.twilio.updates if u.call_sid == call_sid]
    assert update.params.get("Status") == "completed"
    assert update.at >= heard_at, "hung up only after the goodbye was heard"
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.COMPLETED)


async def test_transfer_after_the_hand_off_sentence(voice_live, shop):
    voice_live.openai.queue_tool_calls([("transfer_to_person", {})], text="Let me get an advisor for you.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("can I talk to a real person")
        await hears(peer, "Let me get an advisor for you.")
        await peer.wait_closed()
    (update,) = [u for u in voice_live.twilio.updates if u.call_sid == call_sid]
    twiml = update.params.get("Twiml", "")
    assert "<Dial" in twiml and "+16025550101" in twiml
    # How it ends (answered, or a message) is for the transfer-result webhook to record.
    await settle(lambda: Call.objects.get(call_sid=call_sid).turns.filter(text="Handed over to +16025550101.").exists())
    # The media stream ended because Twilio took the call over, not because the caller hung up.
    call = await sync_to_async(Call.objects.get)(call_sid=call_sid)
    assert call.outcome == Outcome.IN_PROGRESS


async def test_outside_opening_hours_a_message_is_taken_instead(voice_live, closed_shop):
    voice_live.openai.queue_tool_calls([("transfer_to_person", {})], text="Let me get an advisor for you.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("can I talk to a real person")
        await peer.wait_closed()
    (update,) = [u for u in voice_live.twilio.updates if u.call_sid == call_sid]
    assert "<Record" in update.params["Twiml"] and "<Dial" not in update.params["Twiml"]


async def test_pressing_zero_asks_for_a_person(voice_live, shop):
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.send_dtmf("0")
        await hears(peer, "Let me connect you with a service advisor.")
        await peer.wait_closed()
    assert any("<Dial" in u.params.get("Twiml", "") for u in voice_live.twilio.updates)


async def test_a_model_that_does_not_answer_in_time_is_asked_again(voice_live, shop, settings):
    settings.VOICE_AGENT_TIMEOUT_SECONDS = 1
    voice_live.openai.hang_next(1)
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("how much is an oil change")
        await hears(peer, "You said: how much is an oil change")
        await peer.send_stop()
    assert voice_live.openai.chat_requests[0].outcome == "hung" and len(voice_live.openai.chat_requests) == 2
    assert not any("<Dial" in u.params.get("Twiml", "") for u in voice_live.twilio.updates), "no hand-over"


async def test_speech_recognition_drop_reconnects_and_asks_to_repeat(voice_live, shop):
    voice_live.openai.queue_text("Yes, we do.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        voice_live.deepgram.drop_open("listen")  # while nobody speaks, after the greeting
        await hears(peer, "Could you say that again?")
        await peer.say("do you have loaner cars")
        await hears(peer, "Yes, we do.")
        await peer.send_stop()
    assert len(voice_live.deepgram.of_kind("listen")) >= 2
    said = await turns(call_sid)
    assert any(t.speaker == Speaker.SYSTEM and "reconnected" in t.text for t in said)


async def test_a_forged_upgrade_signature_is_refused(voice_live, shop):
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    peer = voice_live.peer(call_sid, parameters, signature="Zm9yZ2Vk")
    with pytest.raises(Exception):
        async with peer:
            pass
    call = await call_record(call_sid)
    assert call.answered_at is None


async def test_a_token_for_another_call_is_refused(voice_live, shop):
    call_sid, _ = await sync_to_async(voice_live.incoming_call)()
    other_sid, other_parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, {"call_sid": call_sid, "token": other_parameters["token"]}) as peer:
        code = await peer.wait_closed()
    assert code == 4403
    assert (await call_record(call_sid)).answered_at is None


async def test_text_to_speech_failure_falls_back_to_twilio_say(voice_live, shop):
    voice_live.deepgram.refuse_connections(1, kind="speak")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await peer.wait_closed()  # Twilio ends the stream when the call's TwiML is replaced
    (update,) = [u for u in voice_live.twilio.updates if u.call_sid == call_sid]
    twiml = update.params["Twiml"]
    assert "<Say>" in twiml and "Thanks for calling Saguaro Motors service." in twiml
    assert "<Dial" in twiml and "+16025550101" in twiml
    said = await turns(call_sid)
    assert any(t.speaker == Speaker.SYSTEM and "Text-to-speech failed" in t.text for t in said)


async def test_silence_asks_then_ends_politely(voice_live, shop, settings):
    settings.VOICE_SILENCE_SECONDS = 1.5
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await hears(peer, "Are you still there?")
        await hears(peer, "Goodbye.")
        await peer.wait_closed()
    (update,) = [u for u in voice_live.twilio.updates if u.call_sid == call_sid]
    assert update.params.get("Status") == "completed"
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.NO_RESPONSE)


async def test_the_maximum_call_length_ends_the_call(voice_live, shop, settings):
    settings.VOICE_MAX_CALL_SECONDS = 6
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, "I have to end our call now.")
        await peer.wait_closed()
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.TOO_LONG)


async def test_text_to_speech_dropping_mid_reply_hands_the_rest_to_twilio_say(voice_live, shop):
    voice_live.deepgram.drop_next("speak", after_flushes=1)  # the greeting's second sentence never comes
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await peer.wait_closed()
    (update,) = [u for u in voice_live.twilio.updates if u.call_sid == call_sid]
    assert "This call is recorded." in update.params["Twiml"] and "<Dial" in update.params["Twiml"]


async def test_a_text_to_speech_socket_closed_while_idle_is_opened_again(voice_live, shop):
    voice_live.deepgram.drop_next("speak", after_flushes=2)  # right after the greeting, nothing owed
    voice_live.openai.queue_text("Yes, we do.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("do you have loaner cars")
        await hears(peer, "Yes, we do.")
        await peer.send_stop()
    assert len(voice_live.deepgram.of_kind("speak")) == 2
    assert voice_live.twilio.updates == []
