"""Text carried inside real 8 kHz mu-law audio ("text in audio").

The stand-ins need a fake speech-to-text that can "hear" what a fake caller
said, and a fake caller that can "hear" what a fake text-to-speech said, without
any model. So an utterance is encoded as ordinary telephone audio: 160-byte
frames (20 ms at 8000 samples/s, one byte per sample) of loud, non-silent mu-law
samples whose values carry the UTF-8 text. Anything that only moves audio
around (Twilio, the project's buffers, WebSocket chunking) keeps it intact.

Frame layout (before mapping to samples), 80 data bytes per frame:

    magic(2) utterance_id(4) index(2) count(2) text_length(2) chunk_length(1)
    chunk(<=63) zero padding ... crc32(4)

Each data byte becomes two samples (high nibble, low nibble). A sample is the
mu-law code  sign | exponent 5 | nibble, inverted as G.711 stores it; the sign
flips every 4 samples, so the frame is a ~1 kHz square-ish wave at roughly
-15 dBFS that any energy VAD calls speech, and no byte is ever mu-law silence
(0xFF / 0x7F).

The text is spread over the frames in speaking order: frame i carries text
bytes [i*L//N, (i+1)*L//N). A decoder that has heard the first k frames knows
the first ~k/N of the text, which is what lets the fake Deepgram send interim
transcripts that reveal words while the caller is still "talking".

Duration is realistic: 60 ms per character, at least 400 ms (about 16
characters a second, like real speech).
"""

from __future__ import annotations

import itertools
import math
import secrets
import struct
import zlib
from dataclasses import dataclass
from typing import Union

SAMPLE_RATE = 8000
FRAME_BYTES = 160
FRAME_SECONDS = FRAME_BYTES / SAMPLE_RATE  # 0.02
MS_PER_CHAR = 60
MIN_SPEECH_MS = 400
SILENCE_BYTE = 0xFF
SILENCE_FRAME = bytes([SILENCE_BYTE]) * FRAME_BYTES

_DATA_BYTES = FRAME_BYTES // 2  # two samples per data byte
_MAGIC = b"\xd6\x1a"
_HEADER = struct.Struct(">2sIHHHB")  # magic, utterance id, index, count, text length, chunk length
_CRC = struct.Struct(">I")
CHUNK_CAPACITY = _DATA_BYTES - _HEADER.size - _CRC.size  # 63 text bytes per frame at most
_EXPONENT = 5


def _sign_for_sample(k: int) -> int:
    """Sign bit for sample k of a frame: flips every 4 samples (a 1 kHz square wave)."""
    return 0x80 if (k // 4) % 2 == 0 else 0x00


def _sample_byte(k: int, nibble: int) -> int:
    return (~(_sign_for_sample(k) | (_EXPONENT << 4) | nibble)) & 0xFF


# byte -> its 4 data bits, and byte -> the (sign, exponent) part it must have.
_NIBBLE_OF = bytes(((~b) & 0x0F) for b in range(256))
_SIGN_EXP_OF = bytes((((~b) & 0xFF) >> 4) for b in range(256))
_EXPECTED_SIGN_EXP = bytes(((_sign_for_sample(k) | (_EXPONENT << 4)) >> 4) for k in range(FRAME_BYTES))
# Per sample position, nibble -> byte: encoding is one table look-up per sample.
_ENCODE = [bytes(_sample_byte(k, n) for n in range(16)) for k in range(FRAME_BYTES)]
# Byte j of a frame's data becomes samples 2j and 2j+1: both at once, looked up (the load benchmark encodes
# every word the agent says, and a per-sample loop was a tenth of its CPU).
_ENCODE_PAIR = [
    [bytes((_ENCODE[2 * j][byte >> 4], _ENCODE[2 * j + 1][byte & 0x0F])) for byte in range(256)]
    for j in range(FRAME_BYTES // 2)
]
# Every frame starts with the same 4 samples (the magic), so a decoder can find
# frame boundaries in an unaligned stream with a plain substring search.
_FRAME_PREFIX = bytes(
    _ENCODE[k][n] for k, n in enumerate((_MAGIC[0] >> 4, _MAGIC[0] & 15, _MAGIC[1] >> 4, _MAGIC[1] & 15))
)

# Utterance ids only need to differ between consecutive utterances; a random
# start keeps two processes (caller and agent) from colliding.
_utterance_ids = itertools.count(secrets.randbits(31))


def speech_frame_count(text: str, ms_per_char: int = MS_PER_CHAR, min_ms: int = MIN_SPEECH_MS) -> int:
    """How many 20 ms frames encode_speech(text) produces."""
    payload_len = len(text.encode("utf-8"))
    frames = max(math.ceil(min_ms / 20), math.ceil(len(text) * ms_per_char / 20))
    return max(frames, math.ceil(payload_len / CHUNK_CAPACITY))


def speech_duration(text: str, ms_per_char: int = MS_PER_CHAR, min_ms: int = MIN_SPEECH_MS) -> float:
    """Seconds of audio encode_speech(text) produces."""
    return speech_frame_count(text, ms_per_char, min_ms) * FRAME_SECONDS


def encode_speech(
    text: str,
    *,
    utterance_id: int | None = None,
    ms_per_char: int = MS_PER_CHAR,
    min_ms: int = MIN_SPEECH_MS,
) -> bytes:
    """Encode `text` as mu-law audio: a whole number of 160-byte non-silent frames."""
    if not text:
        raise ValueError("encode_speech needs some text")
    payload = text.encode("utf-8")
    if len(payload) > 0xFFFF:
        raise ValueError("text too long for one utterance (max 65535 UTF-8 bytes)")
    count = speech_frame_count(text, ms_per_char, min_ms)
    if count > 0xFFFF:
        raise ValueError("utterance too long")
    uid = (next(_utterance_ids) if utterance_id is None else utterance_id) & 0xFFFFFFFF
    out = bytearray()
    for index in range(count):
        lo, hi = _chunk_bounds(index, count, len(payload))
        out += _encode_frame(uid, index, count, len(payload), payload[lo:hi])
    return bytes(out)


def _chunk_bounds(index: int, count: int, length: int) -> tuple[int, int]:
    """Which text bytes frame `index` of `count` carries (speaking order)."""
    return index * length // count, (index + 1) * length // count


def _encode_frame(uid: int, index: int, count: int, length: int, chunk: bytes) -> bytes:
    body = _HEADER.pack(_MAGIC, uid, index, count, length, len(chunk)) + chunk
    body = body.ljust(_DATA_BYTES - _CRC.size, b"\0")
    data = body + _CRC.pack(zlib.crc32(body))
    return b"".join([pairs[byte] for pairs, byte in zip(_ENCODE_PAIR, data, strict=True)])


@dataclass(frozen=True)
class _Frame:
    utterance_id: int
    index: int
    count: int
    length: int
    chunk: bytes


def _parse_frame(frame: bytes) -> _Frame | None:
    """Decode one candidate frame; None if it is not one of ours (or damaged)."""
    if frame.translate(_SIGN_EXP_OF) != _EXPECTED_SIGN_EXP:
        return None
    nibbles = frame.translate(_NIBBLE_OF)
    data = bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, FRAME_BYTES, 2))
    body, (crc,) = data[: -_CRC.size], _CRC.unpack(data[-_CRC.size :])
    if zlib.crc32(body) != crc:
        return None
    magic, uid, index, count, length, chunk_len = _HEADER.unpack_from(body)
    if magic != _MAGIC or count == 0 or index >= count or chunk_len > CHUNK_CAPACITY:
        return None
    lo, hi = _chunk_bounds(index, count, length)
    if hi - lo != chunk_len:
        return None
    return _Frame(uid, index, count, length, body[_HEADER.size : _HEADER.size + chunk_len])


def is_silent(frame: bytes) -> bool:
    """True if every sample is within mu-law's smallest segment (|x| < ~0.4 % of full scale)."""
    return all(((~b) & 0x70) == 0 for b in frame)


# ---------------------------------------------------------------- decoding


@dataclass(frozen=True)
class SpeechStarted:
    """The first voiced frame of an utterance was heard. offset: stream byte offset of that frame."""

    utterance_id: int
    offset: int


@dataclass(frozen=True)
class UtteranceHeard:
    """Every frame of an utterance was heard; `text` is exactly what was encoded."""

    utterance_id: int
    text: str
    start_offset: int
    end_offset: int


@dataclass(frozen=True)
class UtteranceCut:
    """An utterance stopped before its last frame (cleared, dropped, interrupted, or had holes).

    partial_text is the part heard contiguously from its start.
    """

    utterance_id: int
    partial_text: str
    frames_heard: int
    frames_total: int
    start_offset: int
    end_offset: int


DecoderEvent = Union[SpeechStarted, UtteranceHeard, UtteranceCut]


@dataclass(frozen=True)
class UtteranceProgress:
    """What has been heard so far of the utterance in progress."""

    utterance_id: int
    text_so_far: str
    words_so_far: tuple[str, ...]
    frames_heard: int
    frames_total: int
    start_offset: int
    end_offset: int


class _Partial:
    """Reassembly state of one utterance."""

    def __init__(self, frame: _Frame, offset: int) -> None:
        self.utterance_id = frame.utterance_id
        self.count = frame.count
        self.payload = bytearray(frame.length)
        self.known = bytearray(frame.length)  # 1 where the byte has been received
        self.next_index = 0
        self.frames_heard = 0
        self.has_gap = False
        self.start_offset = offset
        self.end_offset = offset

    def matches(self, frame: _Frame) -> bool:
        return (frame.utterance_id, frame.count, len(self.payload)) == (self.utterance_id, self.count, frame.length)

    def add(self, frame: _Frame, offset: int) -> bool:
        """Store a frame; False if it is a repeat that must be ignored."""
        if frame.index < self.next_index:
            return False
        if frame.index > self.next_index:
            self.has_gap = True
        lo, hi = _chunk_bounds(frame.index, frame.count, frame.length)
        self.payload[lo:hi] = frame.chunk
        self.known[lo:hi] = b"\x01" * (hi - lo)
        self.next_index = frame.index + 1
        self.frames_heard += 1
        self.end_offset = offset + FRAME_BYTES
        return True

    @property
    def finished(self) -> bool:
        return self.next_index >= self.count

    def prefix_text(self) -> str:
        end = self.known.find(0)
        end = len(self.payload) if end < 0 else end
        return bytes(self.payload[:end]).decode("utf-8", errors="ignore")

    def complete(self) -> bool:
        return self.finished and 0 not in self.known

    def progress(self) -> UtteranceProgress:
        text = self.prefix_text()
        words = text.split()
        if words and not self.complete() and not text[-1:].isspace():
            words = words[:-1]  # the last word is still being spoken
        return UtteranceProgress(
            self.utterance_id, text, tuple(words), self.frames_heard, self.count, self.start_offset, self.end_offset
        )

    def cut(self) -> UtteranceCut:
        return UtteranceCut(
            self.utterance_id, self.prefix_text(), self.frames_heard, self.count, self.start_offset, self.end_offset
        )


class SpeechDecoder:
    """Streaming decoder: feed() any chunks of mu-law audio, get DecoderEvents back.

    Chunks may have any size and split frames anywhere; frames need not be
    aligned to 160-byte boundaries of the stream. Bytes that are not our frames
    (silence, noise, random garbage) are skipped and never raise.

    max_gap_bytes: if set, an utterance in progress that is followed by that
    many bytes of non-speech audio is reported as cut (for a listener that hears
    everything, such as fake STT). Leave None for a listener that is only fed
    audio actually played (the fake caller), where pauses are not audio.
    """

    def __init__(self, max_gap_bytes: int | None = None) -> None:
        self.max_gap_bytes = max_gap_bytes
        self.bytes_fed = 0
        self._buffer = bytearray()
        self._buffer_offset = 0  # stream offset of _buffer[0]
        self._current: _Partial | None = None

    @property
    def current(self) -> UtteranceProgress | None:
        """Progress of the utterance being heard right now, if any."""
        return self._current.progress() if self._current else None

    @property
    def words_spoken(self) -> int:
        """Whole words heard so far of the utterance in progress (0 if none)."""
        return len(self._current.progress().words_so_far) if self._current else 0

    def feed(self, chunk: bytes) -> list[DecoderEvent]:
        events: list[DecoderEvent] = []
        if not chunk:
            return events
        self._buffer += chunk
        self.bytes_fed += len(chunk)
        pos = 0
        buf = self._buffer
        while True:
            found = buf.find(_FRAME_PREFIX, pos)
            if found < 0:
                pos = max(pos, len(buf) - (len(_FRAME_PREFIX) - 1))
                break
            if len(buf) - found < FRAME_BYTES:
                pos = found
                break
            frame = _parse_frame(bytes(buf[found : found + FRAME_BYTES]))
            if frame is None:
                pos = found + 1
                continue
            events.extend(self._on_frame(frame, self._buffer_offset + found))
            pos = found + FRAME_BYTES
        del buf[:pos]
        self._buffer_offset += pos
        self._check_gap(events)
        return events

    def interrupt(self) -> list[DecoderEvent]:
        """Declare the utterance in progress cut (e.g. the caller's playback was cleared)."""
        self._buffer.clear()
        self._buffer_offset = self.bytes_fed
        if self._current is None:
            return []
        cut = self._current.cut()
        self._current = None
        return [cut]

    def _on_frame(self, frame: _Frame, offset: int) -> list[DecoderEvent]:
        events: list[DecoderEvent] = []
        current = self._current
        if current is not None and not current.matches(frame):
            events.append(current.cut())
            current = None
        if current is None:
            current = self._current = _Partial(frame, offset)
            events.append(SpeechStarted(frame.utterance_id, offset))
        if not current.add(frame, offset):
            return events
        if current.finished:
            self._current = None
            if current.complete():
                text = bytes(current.payload).decode("utf-8", errors="replace")
                events.append(UtteranceHeard(current.utterance_id, text, current.start_offset, current.end_offset))
            else:
                events.append(current.cut())
        return events

    def _check_gap(self, events: list[DecoderEvent]) -> None:
        if self.max_gap_bytes is None or self._current is None:
            return
        if self.bytes_fed - self._current.end_offset >= self.max_gap_bytes:
            events.append(self._current.cut())
            self._current = None
