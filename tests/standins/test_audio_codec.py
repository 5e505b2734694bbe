"""The text-in-audio codec: real-looking mu-law in, exact text out, garbage ignored."""

import random

import pytest

from standins.audio_codec import (
    FRAME_BYTES,
    SILENCE_FRAME,
    SpeechDecoder,
    SpeechStarted,
    UtteranceCut,
    UtteranceHeard,
    encode_speech,
    is_silent,
    speech_duration,
)


def feed_in_random_chunks(decoder, audio, seed=1, max_chunk=700):
    rng = random.Random(seed)
    events, i = [], 0
    while i < len(audio):
        n = rng.randint(1, max_chunk)
        events += decoder.feed(audio[i : i + n])
        i += n
    return events


def heard_texts(events):
    return [e.text for e in events if isinstance(e, UtteranceHeard)]


def test_encoding_is_whole_frames_of_loud_non_silent_audio():
    audio = encode_speech("Can I bring my car in on Tuesday?")
    assert len(audio) % FRAME_BYTES == 0
    assert 0xFF not in audio and 0x7F not in audio
    frames = [audio[i : i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES)]
    assert not any(is_silent(f) for f in frames)
    assert is_silent(SILENCE_FRAME)


@pytest.mark.parametrize(
    "text, seconds",
    [("Hi", 0.4), ("x" * 16, 0.96), ("Book me an oil change for Friday at nine.", 41 * 0.06)],
)
def test_duration_is_sixty_ms_per_character_with_a_400_ms_floor(text, seconds):
    audio = encode_speech(text)
    assert len(audio) / 8000 == pytest.approx(seconds, abs=0.02)
    assert speech_duration(text) == pytest.approx(len(audio) / 8000)


def test_round_trip_through_arbitrary_chunking_offsets_and_silence():
    texts = ["Hello, this is Dana.", "Ünïcödé — façade 🚗 ok", "Yes."]
    stream = b"\xff" * 77 + encode_speech(texts[0]) + SILENCE_FRAME * 3 + b"\x12\x34\x56"
    stream += encode_speech(texts[1]) + encode_speech(texts[2]) + b"\xff" * 5
    for seed in range(5):
        decoder = SpeechDecoder()
        events = feed_in_random_chunks(decoder, stream, seed=seed)
        assert heard_texts(events) == texts
        assert sum(isinstance(e, SpeechStarted) for e in events) == 3
        assert decoder.bytes_fed == len(stream)


def test_event_offsets_locate_the_utterance_in_the_stream():
    lead = b"\xff" * 333
    speech = encode_speech("Where is my car?")
    events = SpeechDecoder().feed(lead + speech + SILENCE_FRAME)
    started, heard = events
    assert started.offset == len(lead)
    assert (heard.start_offset, heard.end_offset) == (len(lead), len(lead) + len(speech))


def test_words_are_revealed_progressively_while_speaking():
    text = "I would like to book an appointment"
    audio = encode_speech(text)
    decoder = SpeechDecoder()
    seen = []
    for i in range(0, len(audio) - FRAME_BYTES, FRAME_BYTES):
        decoder.feed(audio[i : i + FRAME_BYTES])
        seen.append(decoder.words_spoken)
        assert " ".join(decoder.current.words_so_far) in text
    assert seen == sorted(seen)  # never goes backwards
    assert seen[0] == 0 and seen[-1] == len(text.split()) - 1  # last word only when it is complete
    events = decoder.feed(audio[-FRAME_BYTES:])
    assert heard_texts(events) == [text]
    assert decoder.current is None and decoder.words_spoken == 0


def test_interrupt_reports_the_part_heard_as_cut():
    text = "Your car will be ready at five this afternoon."
    audio = encode_speech(text)
    decoder = SpeechDecoder()
    decoder.feed(audio[: len(audio) // 2])
    (cut,) = decoder.interrupt()
    assert isinstance(cut, UtteranceCut)
    assert text.startswith(cut.partial_text) and 0 < len(cut.partial_text) < len(text)
    assert cut.frames_heard == len(audio) // 2 // FRAME_BYTES
    assert decoder.interrupt() == []


def test_a_new_utterance_cuts_the_unfinished_one():
    first, second = encode_speech("This sentence is interrupted"), encode_speech("Second")
    events = SpeechDecoder().feed(first[: 10 * FRAME_BYTES] + second)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["SpeechStarted", "UtteranceCut", "SpeechStarted", "UtteranceHeard"]
    assert events[-1].text == "Second"


def test_missing_frames_make_a_cut_not_a_wrong_transcript():
    audio = encode_speech("Nothing may be invented here")
    damaged = audio[: 8 * FRAME_BYTES] + audio[12 * FRAME_BYTES :]
    events = SpeechDecoder().feed(damaged)
    assert not heard_texts(events)
    (cut,) = [e for e in events if isinstance(e, UtteranceCut)]
    assert "Nothing may be invented here".startswith(cut.partial_text)


def test_gap_limit_ends_an_utterance_that_stops_mid_way():
    audio = encode_speech("Cut off in the middle of a sentence")
    decoder = SpeechDecoder(max_gap_bytes=4000)
    events = decoder.feed(audio[: 20 * FRAME_BYTES]) + decoder.feed(SILENCE_FRAME * 24)
    assert not any(isinstance(e, UtteranceCut) for e in events)
    events = decoder.feed(SILENCE_FRAME * 2)
    assert [type(e) for e in events] == [UtteranceCut]


def test_random_audio_is_ignored_and_never_raises():
    rng = random.Random(7)
    decoder = SpeechDecoder()
    for _ in range(200):
        assert decoder.feed(rng.randbytes(rng.randint(0, 2000))) == []
    # Corrupting any byte of a frame drops that frame (CRC), never yields wrong text.
    audio = bytearray(encode_speech("Exact text only"))
    for _ in range(30):
        audio[rng.randrange(len(audio))] ^= 1 << rng.randrange(8)
    events = SpeechDecoder().feed(bytes(audio))
    assert all(e.text == "Exact text only" for e in events if isinstance(e, UtteranceHeard))


def test_empty_text_is_refused():
    with pytest.raises(ValueError):
        encode_speech("")
