"""The benchmark's barge-in figures (voice.simulation.barge_in_figures), on a caller's timeline made by hand:
when the agent went quiet, and when Twilio was told to clear, after the caller began a line over it."""

from types import SimpleNamespace

import pytest

from standins import TimelineEvent
from voice.simulation import CallerLine, barge_in_figures

LINE = CallerLine("wait, one more thing", started_at=10.0, ended_at=11.2)


def peer(arrivals, *, clear_at=None, line_sent_at=10.0):
    timeline = [TimelineEvent(line_sent_at, "sent_utterance_start", {"text": LINE.text})]
    if clear_at is not None:
        timeline.append(TimelineEvent(clear_at, "clear_received"))
    return SimpleNamespace(timeline=sorted(timeline, key=lambda e: e.t), media_arrivals=arrivals)


def frames(first, last, every=0.04):
    """Agent frames arriving two at a time every 40 ms, as the server paces them."""
    count = round((last - first) / every) + 1
    return [t for n in range(count) for t in (first + n * every,) * 2]


def test_quiet_is_the_last_frame_before_the_audio_stops_and_clear_is_measured_apart():
    figures = barge_in_figures(peer(frames(9.0, 10.08) + frames(10.6, 11.0), clear_at=10.5), LINE)
    assert figures.over_agent
    assert figures.quiet_ms == pytest.approx(80)  # the frames at 10.08 were the last before a 100 ms gap
    assert figures.clear_ms == pytest.approx(500)


def test_frames_after_the_clear_do_not_count_as_still_talking():
    figures = barge_in_figures(peer(frames(9.0, 10.4), clear_at=10.2), LINE)
    assert figures.quiet_ms == pytest.approx(200)


def test_a_line_said_after_the_agent_had_stopped_interrupted_nothing():
    figures = barge_in_figures(peer(frames(9.0, 9.5)), LINE)
    assert not figures.over_agent and figures.quiet_ms == 0 and figures.clear_ms is None
