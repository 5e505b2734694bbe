"""Audio to Twilio: 160-byte frames, never more than the lead ahead of the caller's ear, a mark after each sentence."""

import asyncio
import base64
import contextlib
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


class Recorder:
    """A pacer's sends, with events to wait on (frames counted, a mark seen)."""

    def __init__(self):
        self.sent: list[dict] = []
        self.changed = asyncio.Event()

    async def send(self, message: dict) -> None:
        self.sent.append(message)
        self.changed.set()

    def frames(self) -> list[bytes]:
        return [base64.b64decode(m["media"]["payload"]) for m in self.sent if m["event"] == "media"]

    async def until(self, condition) -> None:
        async with asyncio.timeout(30):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def numbered_frames(count: int) -> bytes:
    """Audio whose every frame says which it is, so that a lost or repeated frame shows."""
    return b"".join(bytes([n]) * FRAME_BYTES for n in range(count))


@contextlib.asynccontextmanager
async def playing_forty_frames():
    """A running pacer given one sentence of 40 numbered frames and its mark "s1", and the recorder of its sends."""
    recorder = Recorder()
    pacer = Pacer(recorder.send, "MZ1", lead_seconds=LEAD)
    running = asyncio.create_task(pacer.run())
    try:
        pacer.add_audio(1, numbered_frames(40))
        pacer.add_mark("s1")
        yield pacer, recorder
    finally:
        running.cancel()


async def test_a_paused_pacer_sends_nothing_new_and_resumes_from_the_very_frame_where_it_stopped():
    async with playing_forty_frames() as (pacer, recorder):
        await recorder.until(lambda: len(recorder.frames()) >= 5)
        pacer.pause()
        sent_when_paused = len(recorder.sent)
        # Twenty frame times pass; at most the one frame already in hand may still go out.
        await asyncio.sleep(20 * FRAME_SECONDS)
        assert len(recorder.sent) <= sent_when_paused + 1
        assert pacer.paused and not pacer.idle()
        held = len(recorder.sent)
        await asyncio.sleep(10 * FRAME_SECONDS)
        assert len(recorder.sent) == held, "nothing goes out while paused"

        pacer.resume()
        await recorder.until(lambda: any(m["event"] == "mark" for m in recorder.sent))
    assert [frame[0] for frame in recorder.frames()] == list(range(40)), "every frame once, in order"
    assert recorder.sent[-1]["mark"]["name"] == "s1"


async def test_a_clear_while_paused_drops_the_rest_and_ends_the_pause():
    async with playing_forty_frames() as (pacer, recorder):
        await recorder.until(lambda: len(recorder.frames()) >= 3)
        pacer.pause()
        pacer.clear()  # the words that followed were a barge-in
        assert not pacer.paused and pacer.idle()
        before = len(recorder.frames())
        pacer.add_audio(2, b"\x77" * (FRAME_BYTES * 2))  # the next reply plays at once
        pacer.add_mark("s2")
        await recorder.until(lambda: any(m["event"] == "mark" and m["mark"]["name"] == "s2" for m in recorder.sent))
    frames = recorder.frames()
    assert frames[-2:] == [b"\x77" * FRAME_BYTES] * 2
    assert len(frames) <= before + 1 + 2, "nothing of the cleared reply after the clear but a frame in hand"
    assert not any(m["event"] == "mark" and m["mark"]["name"] == "s1" for m in recorder.sent)
