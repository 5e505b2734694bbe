"""The real deepgram-sdk streaming TTS client against FakeDeepgram."""

import asyncio
import time

import pytest
from deepgram import AsyncDeepgramClient
from deepgram.core.api_error import ApiError
from deepgram.speak.v1.types import SpeakV1Text
from websockets.exceptions import ConnectionClosedError

from standins import FakeDeepgram, SpeechDecoder, UtteranceCut, UtteranceHeard, speech_duration

OPTIONS = dict(model="aura-2-thalia-en", encoding="mulaw", sample_rate=8000)


def client_for(server: FakeDeepgram, api_key: str | None = None) -> AsyncDeepgramClient:
    return AsyncDeepgramClient(api_key=api_key or server.api_key, environment=server.environment())


async def test_speak_and_flush_stream_audio_that_decodes_to_the_text(fake_deepgram):
    parts = ["Your car is ready. ", "You can pick it up after three."]
    text = "".join(parts)
    decoder, events, audio_times, replies = SpeechDecoder(), [], [], []
    async with client_for(fake_deepgram).speak.v1.connect(**OPTIONS) as tts:
        for part in parts:
            await tts.send_text(SpeakV1Text(text=part))
        flushed_at = time.monotonic()
        await tts.send_flush()
        async for message in tts:
            if isinstance(message, bytes):
                audio_times.append(time.monotonic())
                events += decoder.feed(message)
            else:
                replies.append(message)
                if message.type == "Flushed":
                    break
        await tts.send_close()

    assert [r.type for r in replies] == ["Metadata", "Flushed"]
    assert replies[0].model_name == "aura-2-thalia-en"
    assert replies[1].sequence_id == 0
    assert [e.text for e in events if isinstance(e, UtteranceHeard)] == [text]
    # first_byte_delay 0.15 s, then paced at 4x real time: never sooner (a busy machine only adds), and in
    # several pieces rather than all at once.
    assert audio_times[0] - flushed_at >= 0.14
    assert audio_times[-1] - flushed_at >= 0.14 + speech_duration(text) / 4 - 0.05 and len(audio_times) > 4
    (record,) = fake_deepgram.of_kind("speak")
    assert record.texts == parts and record.flushed_texts == [text] and record.spoken == [text]
    assert record.query == {"model": "aura-2-thalia-en", "encoding": "mulaw", "sample_rate": "8000"}


async def test_clear_stops_the_audio_and_replies_cleared(fake_deepgram):
    fake_deepgram.tts_realtime_factor = 1.0  # real time, so there is plenty left to clear
    long_text = "I can offer Monday at eight, Tuesday at ten, or Wednesday right after lunch."
    decoder, received = SpeechDecoder(), 0
    async with client_for(fake_deepgram).speak.v1.connect(**OPTIONS) as tts:
        await tts.send_text(SpeakV1Text(text=long_text))
        await tts.send_flush()
        replies = []
        async for message in tts:
            if isinstance(message, bytes):
                received += len(message)
                decoder.feed(message)
                if received >= 4800:  # 0.6 s of audio in: the caller barges in
                    await tts.send_clear()
                    break
        async for message in tts:
            if isinstance(message, bytes):
                received += len(message)
                continue
            replies.append(message)
            if message.type == "Cleared":
                break
        # The SDK parses Cleared into its SpeakV1Flushed class; branch on .type.
        (cleared,) = replies
        assert type(cleared).__name__ == "SpeakV1Flushed" and cleared.type == "Cleared"
        # Nothing more arrives after Cleared, and the socket is still usable.
        await tts.send_text(SpeakV1Text(text="Okay."))
        await tts.send_flush()
        after = []
        async for message in tts:
            after.append(message)
            if getattr(message, "type", None) == "Flushed":
                break
    assert received < len(long_text) * 0.06 * 8000 / 2
    (cut,) = decoder.interrupt()
    assert isinstance(cut, UtteranceCut) and long_text.startswith(cut.partial_text)
    new_audio = b"".join(m for m in after if isinstance(m, bytes))
    assert [e.text for e in SpeechDecoder().feed(new_audio) if isinstance(e, UtteranceHeard)] == ["Okay."]
    assert after[-1].sequence_id == 1
    (record,) = fake_deepgram.of_kind("speak")
    assert record.clears == 1 and record.cleared_texts == [long_text] and record.spoken == ["Okay."]


async def test_close_message_closes_the_socket(fake_deepgram):
    async with client_for(fake_deepgram).speak.v1.connect(**OPTIONS) as tts:
        await tts.send_close()
        messages = [m async for m in tts]
    assert [m.type for m in messages] == ["Metadata"]
    record = await fake_deepgram.async_wait_closed(fake_deepgram.of_kind("speak")[0])
    assert record.close_code == 1000 and record.closed_by == "client"


async def test_speak_failures(fake_deepgram):
    with pytest.raises(ApiError) as refused:
        async with client_for(fake_deepgram, api_key="nope").speak.v1.connect(**OPTIONS):
            pass
    assert refused.value.status_code == 401

    fake_deepgram.refuse_connections(seconds=0.3, kind="speak")
    with pytest.raises(ApiError) as unavailable:
        async with client_for(fake_deepgram).speak.v1.connect(**OPTIONS):
            pass
    assert unavailable.value.status_code == 503

    await asyncio.sleep(0.35)
    fake_deepgram.drop_next("speak", after_flushes=1)
    async with client_for(fake_deepgram).speak.v1.connect(**OPTIONS) as tts:
        await tts.send_text(SpeakV1Text(text="First and last."))
        await tts.send_flush()
        seen = []
        with pytest.raises(ConnectionClosedError):
            async for message in tts:
                seen.append(getattr(message, "type", "audio"))
    assert seen[0] == "Metadata" and seen[-1] == "Flushed" and "audio" in seen
