"""When the caller has paused: the moment a reply may start before the final transcript (a preemptive reply).

Deepgram's final transcript comes only once its endpointing has heard enough silence, and the model then
takes hundreds of milliseconds to start answering. The call's own audio shows the pause earlier: the
caller's frames turn quiet, and the interim transcript already holds the words said before it. The session
starts the model on those words then; the final transcript decides whether that reply is kept
(voice.session.turn_taking.same_words) or discarded unheard.

The check runs for every 20 ms frame of every call, so it is a byte translation and a substring search.
"""

from __future__ import annotations

# A G.711 mu-law byte stores its sample inverted: the low 7 bits of ~byte are the magnitude (exponent in bits
# 4-6). Exponent 3 and up is a sample over about 3% of full scale (-30 dBFS): a voice, not line hiss.
_VOICED_FROM = 0x30
_LOUDNESS = bytes(1 if ((~byte) & 0x7F) >= _VOICED_FROM else 0 for byte in range(256))


def is_voiced(frame: bytes) -> bool:
    """Whether any sample of this mu-law audio is loud enough to be the caller speaking."""
    return b"\x01" in frame.translate(_LOUDNESS)


class PauseDetector:
    """Tells the session when the caller has paused after words, once per caller turn.

    A pause is ``silence_seconds`` of quiet audio since the last voiced frame, with a transcript that arrived
    after that frame (so it holds the words said before the pause, not only earlier ones).
    """

    def __init__(self, silence_seconds: float):
        self.silence_seconds = silence_seconds
        self._voiced_at: float | None = None  # time.monotonic() of the last voiced frame
        self._words_at: float | None = None  # ... and of the latest transcript with words
        self._armed = True  # no preemptive reply yet in this caller turn

    def on_frame(self, frame: bytes, now: float) -> bool:
        """An inbound frame; True when it completes a pause."""
        if is_voiced(frame):
            self._voiced_at = now
            return False
        return self.paused(now)

    def on_words(self, now: float) -> bool:
        """A transcript with words arrived; True when the caller is already in a pause."""
        self._words_at = now
        return self.paused(now)

    def paused(self, now: float) -> bool:
        voiced, words = self._voiced_at, self._words_at
        return (self._armed and voiced is not None and words is not None and words >= voiced
                and now - voiced >= self.silence_seconds)  # fmt: skip

    def used(self) -> None:
        """A preemptive reply started: none again until the next caller turn."""
        self._armed = False

    def next_turn(self) -> None:
        self._armed, self._words_at = True, None
