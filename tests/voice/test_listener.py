"""The call's live transcription (voice.providers.deepgram.Listener) against the Deepgram stand-in."""

import asyncio
import math

import pytest

from standins import SILENCE_FRAME, encode_speech
from standins._background import async_wait_until
from tests.standins.fixtures import fake_deepgram  # noqa: F401
from voice.providers import deepgram

FRAME = 160


@pytest.fixture
def listening(settings, fake_deepgram):  # noqa: F811
    settings.DEEPGRAM_API_KEY = fake_deepgram.api_key
    settings.DEEPGRAM_BASE_URL = fake_deepgram.http_base
    return fake_deepgram


async def next_final(events: asyncio.Queue) -> deepgram.Transcript:
    while True:
        event = await asyncio.wait_for(events.get(), 30)
        if isinstance(event, deepgram.Transcript) and event.is_final and event.text:
            return event


async def test_caller_audio_goes_in_batches_and_all_of_it_before_finalize(listening):
    events: asyncio.Queue = asyncio.Queue()
    listener = deepgram.Listener(events)
    running = asyncio.create_task(listener.run())
    audio = encode_speech("I need an oil change") + SILENCE_FRAME * 3
    audio += SILENCE_FRAME[: (-len(audio)) % FRAME]  # whole frames, as Twilio sends them
    try:
        for start in range(0, len(audio), FRAME):
            listener.send_audio(audio[start : start + FRAME])
            await asyncio.sleep(0.02)  # a phone call's pace
        listener.finalize()  # the caller's turn ends before Deepgram's own endpointing
        final = await next_final(events)
    finally:
        listener.close()
        await asyncio.wait_for(running, 30)

    assert final.text == "I need an oil change"
    record = listening.of_kind("listen")[0]
    assert record.audio_bytes_received == len(audio)  # nothing lost, the tail under one batch included
    # Three frames a send, not one: the server's per-frame work is a third of Twilio's frame rate.
    assert record.audio_messages_received <= math.ceil(len(audio) / deepgram.AUDIO_BATCH_BYTES) + 1
    assert record.audio_messages_received < len(audio) // FRAME / 2
    controls = [message.get("type") for message in record.controls]
    assert "Finalize" in controls


async def test_audio_sent_while_deepgram_is_away_is_kept_up_to_five_seconds(listening):
    listener = deepgram.Listener(asyncio.Queue())
    for _ in range(400):  # eight seconds before the socket opens
        listener.send_audio(SILENCE_FRAME)
    running = asyncio.create_task(listener.run())
    try:
        record = (await listening.async_wait_for_connections(1, kind="listen"))[0]
        await async_wait_until(lambda: record.audio_bytes_received >= deepgram.MAX_BUFFERED_BYTES, 30)
    finally:
        listener.close()
        await asyncio.wait_for(running, 30)
    await listening.async_wait_closed(record, timeout=30)  # everything it was going to send has arrived
    assert record.audio_bytes_received == deepgram.MAX_BUFFERED_BYTES  # the latest five seconds
