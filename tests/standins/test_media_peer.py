"""MediaStreamPeer against a tiny Media Stream server written here (standing in for the project)."""

import asyncio
import base64
import json
import time

import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.server import serve
from websockets.exceptions import InvalidStatus

from standins import MediaStreamPeer, SpeechDecoder, UtteranceHeard, encode_speech, speech_duration

TOKEN = "0123456789abcdef0123456789abcdef"


class TinyAgent:
    """The server end of a Media Stream: checks the signature, records what arrives, plays what it is told."""

    def __init__(self, auth_token: str) -> None:
        self.auth_token = auth_token
        self.messages: list[tuple[float, dict]] = []
        self.heard: list[str] = []
        self.mark_echoes: dict[str, float] = {}
        self.started = asyncio.Event()
        self.closed = asyncio.Event()
        self.stream_sid = None
        self._decoder = SpeechDecoder()
        self.ws = None

    async def __aenter__(self):
        self.server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_signature)
        port = next(iter(self.server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/media-stream"
        return self

    async def __aexit__(self, *exc_info):
        self.server.close()
        await self.server.wait_closed()

    def _check_signature(self, connection, request):
        expected = RequestValidator(self.auth_token).compute_signature(self.url, {})
        if request.headers.get("X-Twilio-Signature") != expected:
            return connection.respond(403, "bad signature\n")
        return None

    async def _handle(self, ws):
        self.ws = ws
        try:
            async for raw in ws:
                message = json.loads(raw)
                self.messages.append((time.monotonic(), message))
                event = message["event"]
                if event == "start":
                    self.stream_sid = message["start"]["streamSid"]
                    self.started.set()
                elif event == "media":
                    for e in self._decoder.feed(base64.b64decode(message["media"]["payload"])):
                        if isinstance(e, UtteranceHeard):
                            self.heard.append(e.text)
                elif event == "mark":
                    self.mark_echoes[message["mark"]["name"]] = time.monotonic()
        finally:
            self.closed.set()

    async def play(self, text: str, mark: str | None = None) -> float:
        """Send a whole utterance at once (faster than real time, like TTS output), then a mark."""
        audio = encode_speech(text)
        sent_at = time.monotonic()
        for i in range(0, len(audio), 1600):
            payload = base64.b64encode(audio[i : i + 1600]).decode()
            await self.ws.send(
                json.dumps({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})
            )
        if mark:
            await self.ws.send(json.dumps({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": mark}}))
        return sent_at

    async def clear(self) -> float:
        await self.ws.send(json.dumps({"event": "clear", "streamSid": self.stream_sid}))
        return time.monotonic()

    def of_event(self, event):
        return [m for _, m in self.messages if m["event"] == event]


async def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_marks_follow_playback_and_clear_echoes_pending_marks_at_once():
    async with TinyAgent(TOKEN) as agent:
        async with MediaStreamPeer(agent.url, auth_token=TOKEN, custom_parameters={"from": "+15550100"}) as peer:
            await asyncio.wait_for(agent.started.wait(), 30)

            greeting = "Hello there."
            sent_at = await agent.play(greeting, mark="greeting")
            await wait_for(lambda: "greeting" in agent.mark_echoes)
            # Echoed once the greeting has played, never sooner (a busy machine can only make it later).
            assert agent.mark_echoes["greeting"] - sent_at >= speech_duration(greeting) - 0.02
            assert peer.heard == [greeting]
            heard_at = peer.events("heard")[0].t
            assert heard_at <= peer.events("mark_echoed")[0].t

            long_text = "This is a long answer that the caller interrupts well before the end."
            await agent.play(long_text, mark="long")
            await wait_for(lambda: len(peer.events("heard_start")) == 2)
            await asyncio.sleep(0.6)  # some of it plays; the caller's clock catches up on late ticks
            assert "long" not in agent.mark_echoes
            await agent.clear()
            await wait_for(lambda: "long" in agent.mark_echoes)
            assert long_text not in peer.heard  # echoed at the clear, not once the audio would have ended
            (cut,) = peer.cut
            assert long_text.startswith(cut.partial_text) and 0 < len(cut.partial_text) < len(long_text)
            assert [e.kind for e in peer.timeline if e.kind in ("clear_received", "cut", "mark_echoed")][-3:] == [
                "clear_received",
                "mark_echoed",
                "cut",
            ]

            await peer.say("I want to book a service.")
            await wait_for(lambda: agent.heard == ["I want to book a service."])
            await peer.send_dtmf("7")
        await asyncio.wait_for(agent.closed.wait(), 30)

    assert peer.protocol_errors == []
    events = [m["event"] for _, m in agent.messages]
    assert events[:2] == ["connected", "start"] and events[-1] == "stop"
    start = agent.of_event("start")[0]
    assert start["start"]["customParameters"] == {"from": "+15550100"}
    assert start["start"]["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    assert start["streamSid"].startswith("MZ") and len(start["streamSid"]) == 34
    numbered = [m for _, m in agent.messages if m["event"] != "connected"]
    assert [int(m["sequenceNumber"]) for m in numbered] == list(range(1, len(numbered) + 1))
    media = agent.of_event("media")
    assert all(isinstance(m["media"][k], str) for m in media for k in ("chunk", "timestamp", "payload"))
    assert [int(m["media"]["chunk"]) for m in media] == list(range(1, len(media) + 1))
    assert [int(m["media"]["timestamp"]) for m in media] == [20 * i for i in range(len(media))]
    assert all(len(base64.b64decode(m["media"]["payload"])) == 160 for m in media)
    assert agent.of_event("dtmf")[0]["dtmf"] == {"track": "inbound_track", "digit": "7"}
    assert agent.of_event("stop")[0]["stop"]["callSid"] == peer.call_sid
    # The clock really is 20 ms: media count matches the wall time the stream was open.
    open_for = agent.messages[-1][0] - agent.messages[1][0]
    assert abs(len(media) - open_for / 0.02) < 10
    assert peer.lag_stats()["frames"] == len(media)


@pytest.mark.parametrize("kwargs", [{"signature": "forged"}, {"sign": False}, {"auth_token": "wrong-token"}])
async def test_a_bad_or_missing_signature_is_refused(kwargs):
    async with TinyAgent(TOKEN) as agent:
        kwargs.setdefault("auth_token", TOKEN)
        with pytest.raises(InvalidStatus) as refused:
            await MediaStreamPeer(agent.url, **kwargs).connect()
        assert refused.value.response.status_code == 403


async def test_signature_covers_the_public_url_not_the_local_one():
    async with TinyAgent(TOKEN) as agent:
        public = "wss://dealer.example.com/media-stream"
        peer = MediaStreamPeer(agent.url, auth_token=TOKEN, public_url=public)
        assert peer._headers()["X-Twilio-Signature"] == RequestValidator(TOKEN).compute_signature(public, {})
        with pytest.raises(InvalidStatus):  # the agent checks its own URL, so this is refused
            await peer.connect()


async def test_abort_drops_the_connection_without_stop():
    async with TinyAgent(TOKEN) as agent:
        peer = await MediaStreamPeer(agent.url, auth_token=TOKEN).connect()
        await asyncio.wait_for(agent.started.wait(), 30)
        await peer.abort()
        await asyncio.wait_for(agent.closed.wait(), 30)
        assert peer.close_code == 1006
        assert agent.of_event("stop") == []


async def test_updating_the_call_twiml_ends_the_stream_like_twilio(fake_twilio):
    call = fake_twilio.add_call()
    async with TinyAgent(fake_twilio.auth_token) as agent:
        peer = await MediaStreamPeer(
            agent.url, auth_token=fake_twilio.auth_token, call_sid=call.sid, account_sid=fake_twilio.account_sid
        ).connect()
        fake_twilio.attach_stream(call.sid, peer)
        client = fake_twilio.make_client()
        updated = await asyncio.to_thread(
            client.calls(call.sid).update, twiml="<Response><Dial>+15550123</Dial></Response>"
        )
        assert updated.status == "in-progress"
        assert await peer.wait_closed() == 1000
        await asyncio.wait_for(agent.closed.wait(), 30)
        (stop,) = agent.of_event("stop")
        assert stop["stop"] == {"accountSid": fake_twilio.account_sid, "callSid": call.sid}
        assert peer.events("stream_ended_by_twilio")
