"""Twilio's playback model: marks wait for the audio before them; clear flushes them all."""

from standins.playback import PlaybackBuffer


def play_ticks(buffer, ticks):
    return [buffer.tick() for _ in range(ticks)]


def test_mark_is_echoed_after_the_audio_queued_before_it_has_played():
    buffer = PlaybackBuffer()
    buffer.add_audio(b"a" * 400)  # 2.5 frames
    buffer.add_mark("m1")
    buffer.add_audio(b"b" * 160)
    buffer.add_mark("m2")
    ticks = play_ticks(buffer, 6)
    assert [len(audio) for audio, _ in ticks] == [160, 160, 160, 80, 0, 0]
    assert [marks for _, marks in ticks] == [[], [], [], ["m1"], ["m2"], []]
    assert ticks[2][0] == b"a" * 80 + b"b" * 80  # audio after a mark keeps playing in the same frame
    assert buffer.idle


def test_mark_with_nothing_before_it_is_echoed_on_the_next_tick():
    buffer = PlaybackBuffer()
    buffer.add_mark("now")
    assert buffer.tick() == (b"", ["now"])


def test_clear_drops_audio_and_returns_every_pending_mark_in_order():
    buffer = PlaybackBuffer()
    buffer.add_audio(b"x" * 1600)
    buffer.add_mark("first")
    buffer.add_audio(b"y" * 1600)
    buffer.add_mark("second")
    buffer.tick()
    assert buffer.pending_marks == ["first", "second"]
    assert buffer.clear() == ["first", "second"]
    assert buffer.idle and buffer.tick() == (b"", [])
