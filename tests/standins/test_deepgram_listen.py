"""The real deepgram-sdk live transcription client against FakeDeepgram."""

import asyncio
import time

import pytest
from deepgram import AsyncDeepgramClient
from deepgram.core.api_error import ApiError
from websockets.exceptions import ConnectionClosedError

from standins import SILENCE_FRAME, FakeDeepgram, encode_speech, speech_duration
from standins._background import async_wait_until

OPTIONS = dict(
    model="nova-3",
    encoding="mulaw",
    sample_rate=8000,
    channels=1,
    interim_results=True,
    endpointing=300,
    utterance_end_ms=1000,
    vad_events=True,
    smart_format=True,
    punctuate=True,
)


def client_for(server: FakeDeepgram, api_key: str | None = None) -> AsyncDeepgramClient:
    return AsyncDeepgramClient(api_key=api_key or server.api_key, environment=server.environment())


async def send_realtime(conn, audio: bytes) -> None:
    """Send audio in 20 ms frames at the pace a phone call produces it."""
    start = time.monotonic()
    for i in range(0, len(audio), 160):
        await conn.send_media(audio[i : i + 160])
        await asyncio.sleep(max(0.0, start + (i + 160) / 8000 - time.monotonic()))


async def collect(conn, into: list) -> None:
    async for message in conn:
        into.append((time.monotonic(), message))


def of_type(messages, kind):
    return [(t, m) for t, m in messages if getattr(m, "type", None) == kind]


async def test_caller_speech_becomes_speech_started_interims_final_and_utterance_end(fake_deepgram):
    text = "I need an oil change tomorrow morning"
    messages = []
    async with client_for(fake_deepgram).listen.v1.connect(**OPTIONS) as conn:
        reader = asyncio.create_task(collect(conn, messages))
        await send_realtime(conn, encode_speech(text))
        speech_end = time.monotonic()
        await send_realtime(conn, SILENCE_FRAME * 65)  # 1.3 s of silence
        await conn.send_close_stream()
        await asyncio.wait_for(reader, 30)

    kinds = [m.type for _, m in messages]
    assert kinds[0] == "Metadata" and kinds[-1] == "Metadata"
    assert kinds.index("SpeechStarted") < kinds.index("Results") < kinds.index("UtteranceEnd")

    (speech_started,) = of_type(messages, "SpeechStarted")
    assert speech_started[0] < speech_end  # while the caller talks, not after the speech
    results = [m for _, m in of_type(messages, "Results")]
    interims = [r for r in results if not r.is_final]
    finals = [r for r in results if r.is_final]
    assert len(interims) >= 4
    transcripts = [r.channel.alternatives[0].transcript for r in interims]
    assert all(text.startswith(t) for t in transcripts)
    assert [len(t.split()) for t in transcripts] == sorted(len(t.split()) for t in transcripts)
    # Interims arrive while the caller is still talking.
    interim_times = [t for t, m in of_type(messages, "Results") if not m.is_final]
    assert interim_times[0] < speech_end

    # Once the last frame is heard, an interim holds every word; the final follows it.
    assert transcripts[-1] == text
    whole_interim_at = interim_times[-1]

    (final,) = finals
    assert final.speech_final is True and not final.from_finalize
    assert final.channel.alternatives[0].transcript == text
    assert [w.punctuated_word for w in final.channel.alternatives[0].words] == text.split()
    final_at = next(t for t, m in of_type(messages, "Results") if m.is_final)
    # final_latency is 0.15 s after the last frame (a delay is never shorter; a busy machine only adds to it)
    assert speech_end + 0.1 <= final_at
    assert whole_interim_at < final_at
    assert final.start == pytest.approx(0.0, abs=0.03)
    assert final.duration == pytest.approx(speech_duration(text), abs=0.03)

    ((utterance_end_at, utterance_end),) = of_type(messages, "UtteranceEnd")
    assert utterance_end.last_word_end == pytest.approx(speech_duration(text), abs=0.03)
    assert speech_end + 0.95 <= utterance_end_at and final_at < utterance_end_at

    record = await fake_deepgram.async_wait_closed(fake_deepgram.connections[0])
    assert record.query["interim_results"] == "true" and record.query["endpointing"] == "300"
    assert record.query["utterance_end_ms"] == "1000" and record.query["sample_rate"] == "8000"
    assert record.headers["Authorization"] == f"Token {fake_deepgram.api_key}"
    assert record.finals == [text]
    assert record.closed_by == "client" and record.close_code == 1000


async def test_finalize_flushes_pending_speech_with_from_finalize(fake_deepgram):
    fake_deepgram.final_latency = 5.0  # only Finalize can produce a final in time
    messages = []
    async with client_for(fake_deepgram).listen.v1.connect(**OPTIONS) as conn:
        reader = asyncio.create_task(collect(conn, messages))
        await conn.send_media(encode_speech("Book me for Friday."))
        half = encode_speech("Actually make that Saturday please")
        await conn.send_media(half[: len(half) // 2])
        await asyncio.sleep(0.1)
        await conn.send_finalize()
        await asyncio.sleep(0.2)
        await conn.send_finalize()  # nothing pending now
        await asyncio.sleep(0.2)
        await conn.send_close_stream()
        await asyncio.wait_for(reader, 30)

    finals = [m for _, m in of_type(messages, "Results") if m.is_final]
    transcripts = [f.channel.alternatives[0].transcript for f in finals]
    assert transcripts[0] == "Book me for Friday."
    assert "Actually make that Saturday please".startswith(transcripts[1]) and transcripts[1].startswith("Actually")
    assert transcripts[2] == ""
    assert all(f.from_finalize and not f.speech_final for f in finals)


async def test_idle_socket_is_closed_like_net0001_unless_kept_alive():
    # KeepAlive every 0.3 s against a 1.5 s idle timeout: only a five-fold stall of this test could close it.
    with FakeDeepgram(idle_timeout=1.5) as server:
        client = client_for(server)
        async with client.listen.v1.connect(**OPTIONS) as conn:
            for _ in range(6):  # 1.8 s alive thanks to KeepAlive
                await asyncio.sleep(0.3)
                await conn.send_keep_alive()
            assert not server.connections[0].closed
            started = time.monotonic()
            with pytest.raises(ConnectionClosedError) as closed:
                async with asyncio.timeout(30):
                    async for _ in conn:
                        pass
        assert time.monotonic() - started >= 1.4  # not before the idle timeout
        assert closed.value.rcvd.code == 1011 and "net0001" in closed.value.rcvd.reason
        assert server.connections[0].closed_by == "idle_timeout"


async def test_drop_injection_after_an_utterance(fake_deepgram):
    fake_deepgram.drop_next("listen", after_utterances=1)
    messages = []
    async with client_for(fake_deepgram).listen.v1.connect(**OPTIONS) as conn:
        await conn.send_media(encode_speech("Hello"))
        with pytest.raises(ConnectionClosedError) as dropped:
            async for message in conn:
                messages.append(message)
    assert dropped.value.rcvd is None  # no close frame: the TCP connection just died
    assert [m.channel.alternatives[0].transcript for m in messages if getattr(m, "is_final", False)] == ["Hello"]
    assert fake_deepgram.connections[0].closed_by == "dropped"

    fake_deepgram.drop_next("listen", after_seconds=0.2)
    async with client_for(fake_deepgram).listen.v1.connect(**OPTIONS) as conn:
        with pytest.raises(ConnectionClosedError):
            async with asyncio.timeout(30):
                async for _ in conn:
                    pass
    assert fake_deepgram.connections[1].closed_by == "dropped"


async def test_bad_key_and_refusals_fail_the_handshake(fake_deepgram):
    with pytest.raises(ApiError) as refused:
        async with client_for(fake_deepgram, api_key="wrong").listen.v1.connect(**OPTIONS):
            pass
    assert refused.value.status_code == 401

    fake_deepgram.refuse_connections(1, status=503)
    with pytest.raises(ApiError) as unavailable:
        async with client_for(fake_deepgram).listen.v1.connect(**OPTIONS):
            pass
    assert unavailable.value.status_code == 503
    async with client_for(fake_deepgram).listen.v1.connect(**OPTIONS):
        pass
    with pytest.raises(ApiError) as wrong_encoding:  # the stand-in only hears 8 kHz mu-law
        async with client_for(fake_deepgram).listen.v1.connect(**dict(OPTIONS, encoding="linear16")):
            pass
    assert wrong_encoding.value.status_code == 400
    assert [status for _, status in fake_deepgram.rejected] == [401, 503, 400]
    assert len(fake_deepgram.connections) == 1


async def test_projects_endpoint_checks_the_key_over_plain_http(fake_deepgram):
    projects = await client_for(fake_deepgram).manage.v1.projects.list()
    assert projects.projects[0].project_id == "standin-project"
    with pytest.raises(ApiError) as refused:
        await client_for(fake_deepgram, api_key="wrong").manage.v1.projects.list()
    assert refused.value.status_code == 401


async def test_optional_empty_finals_during_silence_and_drop_all():
    with FakeDeepgram(silence_results_every=0.5) as server:
        messages = []
        async with client_for(server).listen.v1.connect(**OPTIONS) as conn:
            reader = asyncio.create_task(collect(conn, messages))
            await conn.send_media(SILENCE_FRAME * 60 + encode_speech("Hi") + SILENCE_FRAME * 10)  # 1.2 s, 0.4 s, 0.2 s
            await async_wait_until(lambda: [m for _, m in of_type(messages, "Results") if m.is_final][2:], 30)
            server.drop_all()
            with pytest.raises(ConnectionClosedError):
                await asyncio.wait_for(reader, 30)
    finals = [m for _, m in of_type(messages, "Results") if m.is_final]
    assert [f.channel.alternatives[0].transcript for f in finals] == ["", "", "Hi"]
    assert [(f.start, f.duration) for f in finals[:2]] == [(0.0, 0.5), (0.5, 0.5)]
    assert not any(f.speech_final for f in finals[:2])
    assert server.connections[0].closed_by == "dropped"
