"""Audio to Twilio: 160-byte frames, never more than the lead ahead of the caller's ear, a mark after each sentence."""

import asyncio
import base64
import time

from voice.session.pacer import FRAME_BYTES, FRAME_SECONDS, Pacer

LEAD = 0.1
CLOCK_SLACK = 0.002  # the event loop may wake a timer up to its clock resolution early


async def play(*items) -> list[tuple[float, dict]]:
    """Give the pacer sentences of (id, audio, mark); return what it sent, timed, once the last mark is out."""
    sent: list[tuple[float, dict]] = []

    async def send(message: dict) -> None:
        sent.append((time.monotonic(), message))

    pacer = Pacer(send, "MZ1", lead_seconds=LEAD)
    running = asyncio.create_task(pacer.run())
    for sentence, audio, mark in items:
        pacer.add_audio(sentence, audio)
        pacer.add_mark(mark)
    last_mark = items[-1][2]
    try:
        async with asyncio.timeout(30):
            while not any(m["event"] == "mark" and m["mark"]["name"] == last_mark for _, m in sent):
                await asyncio.sleep(0.01)
    finally:
        running.cancel()
    return sent


async def test_frames_are_whole_and_never_more_than_the_lead_ahead():
    sent = await play((1, b"\x01" * (FRAME_BYTES * 30), "s1"), (2, b"\x02" * (FRAME_BYTES * 10 + 7), "s2"))

    media = [(at, base64.b64decode(m["media"]["payload"])) for at, m in sent if m["event"] == "media"]
    assert [len(frame) for _, frame in media] == [FRAME_BYTES] * 41  # the last one padded with silence
    assert media[-1][1].endswith(b"\xff" * (FRAME_BYTES - 7))
    start = media[0][0]
    for number, (at, _) in enumerate(media):
        heard_at = start + number * FRAME_SECONDS  # when the caller's ear reaches this frame
        assert heard_at - at <= LEAD + CLOCK_SLACK, f"frame {number} went out too early"


async def test_each_mark_follows_its_sentences_last_frame():
    sent = await play((1, b"\x01" * (FRAME_BYTES * 3), "s1"), (2, b"\x02" * (FRAME_BYTES * 2), "s2"))

    kinds = [m["event"] if m["event"] == "media" else m["mark"]["name"] for _, m in sent]
    assert kinds == ["media"] * 3 + ["s1"] + ["media"] * 2 + ["s2"]
    assert all(m["streamSid"] == "MZ1" for _, m in sent)
