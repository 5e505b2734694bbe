"""Bad input on the media stream closes that call only, marks it, and keeps what was said."""

import asyncio
import base64
import json

import pytest
import websockets
from asgiref.sync import sync_to_async

from standins._background import WAIT_SECONDS, async_wait_until
from standins.media_peer import twilio_signature
from tests.standins.fixtures import fake_deepgram, fake_openai  # noqa: F401
from tests.voice.conftest import PUBLIC_BASE_URL
from tests.voice.test_call_flow import GREETING, hears, settle, shop  # noqa: F401
from voice.models import Call, Outcome, Speaker

pytestmark = [pytest.mark.django_db(transaction=True)]
STREAM_URL = PUBLIC_BASE_URL.replace("https://", "wss://") + "/ws/voice/"


def outcome_of(call_sid):
    return Call.objects.get(call_sid=call_sid)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "malformed JSON"),
        (json.dumps({"event": "media", "media": {"payload": "***not base64***"}}), "bad base64"),
        (json.dumps({"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 8000).decode()}}),
         "oversized media frame"),
        ("x" * 20_000, "oversized frame"),
        (b"\x00\x01binary", "binary frame"),
        (json.dumps({"event": "start", "start": {"callSid": "CA" + "0" * 32, "streamSid": "MZ1"}}), "a second start"),
        (json.dumps(["a", "list"]), "not a JSON object"),
    ],
    ids=["malformed-json", "bad-base64", "oversized-media", "oversized-frame", "binary", "second-start", "list"],
)
async def test_bad_input_closes_and_marks_the_call_keeping_what_was_said(voice_live, shop, bad, reason):
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await settle(lambda: outcome_of(call_sid).turns.exists())
        await peer.send_raw(bad)
        code = await peer.wait_closed()
    assert code == 4400
    await settle(lambda: outcome_of(call_sid).outcome == Outcome.ERROR)
    call = await sync_to_async(outcome_of)(call_sid)
    assert reason in call.error
    said = await sync_to_async(lambda: list(call.turns.values_list("speaker", "text")))()
    assert said[0] == (Speaker.AGENT, GREETING)


async def test_an_unknown_event_is_ignored_and_the_call_goes_on(voice_live, shop):
    voice_live.openai.queue_text("Yes, we do.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await peer.send_raw(json.dumps({"event": "something-new", "sequenceNumber": "3"}))
        await hears(peer, GREETING)
        await peer.say("do you have loaners")
        await hears(peer, "Yes, we do.")
        await peer.send_stop()
    await settle(lambda: outcome_of(call_sid).outcome == Outcome.CALLER_HUNG_UP)


async def test_media_before_start_is_refused(voice_live, shop):
    headers = {"X-Twilio-Signature": twilio_signature(voice_live.twilio.auth_token, STREAM_URL)}
    async with websockets.connect(f"ws://127.0.0.1:{voice_live.port}/ws/voice/", additional_headers=headers) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps({"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 160).decode()}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
    assert closed.value.rcvd.code == 4400


async def test_an_abrupt_disconnect_ends_the_call_and_keeps_the_turns(voice_live, shop):
    voice_live.openai.queue_text("Sure. " + "Let me tell you all about our service specials this month. " * 4)
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)()
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("any specials")
        await hears(peer, "Sure.")
        await async_wait_until(lambda: len(peer.events("mark_echoed")) >= 3)  # the greeting's two sentences, "Sure."
        await peer.abort()
    await settle(lambda: outcome_of(call_sid).outcome == Outcome.CALLER_HUNG_UP)
    said = await sync_to_async(lambda: list(outcome_of(call_sid).turns.order_by("position")))()
    assert [t.speaker for t in said] == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT]
    assert said[2].interrupted and said[2].heard_text.startswith("Sure.")
    assert said[2].text.count("service specials") == 4


async def test_one_broken_call_does_not_disturb_another(voice_live, shop):
    voice_live.openai.queue_text("We close at six.")
    good_sid, good_parameters = await sync_to_async(voice_live.incoming_call)()
    bad_sid, bad_parameters = await sync_to_async(voice_live.incoming_call)(from_number="+16025550122")
    async with voice_live.peer(good_sid, good_parameters) as good, voice_live.peer(bad_sid, bad_parameters) as bad:
        await hears(good, GREETING)
        await bad.send_raw("{broken")
        assert await bad.wait_closed() == 4400
        await good.say("when do you close today")
        await hears(good, "We close at six.")
        await good.send_stop()
    await settle(lambda: outcome_of(good_sid).outcome == Outcome.CALLER_HUNG_UP)
    await settle(lambda: outcome_of(bad_sid).outcome == Outcome.ERROR)
