"""Deciding when the caller has finished a turn, and whether they are talking over the agent."""

from __future__ import annotations

import re

from voice.providers.deepgram import Transcript

# Said while listening, not to take the turn: alone, they never interrupt the agent.
BACKCHANNEL = frozenset(
    "mm mhm mmhm mm-hmm mmm uh-huh uh huh hmm um uh ok okay yeah yep yes right sure alright got it i see".split()
)
_WORD = re.compile(r"[\w'-]+")


def interrupting_words(text: str) -> int:
    """How many words of ``text`` are more than listening noises."""
    return sum(1 for word in _WORD.findall(text.lower()) if word not in BACKCHANNEL)


def same_words(first: str, second: str) -> bool:
    """Whether two transcripts say the same, whatever their case and punctuation (a preemptive reply's words
    against the final transcript: "Do you have loaner cars" is "do you have loaner cars?")."""
    return _WORD.findall(first.lower()) == _WORD.findall(second.lower())


class TurnTaker:
    """Merges transcript fragments into caller turns.

    Deepgram sends interim results while the caller talks, then final pieces; a turn
    ends on a final marked speech_final (the caller paused), on an UtteranceEnd after
    final pieces, or on the final our Finalize asks for. Each piece is used once, so a
    turn is never answered twice.
    """

    def __init__(self):
        self._finals: list[str] = []
        self._interim = ""
        self.speech_started_at: float | None = None

    def heard_so_far(self) -> str:
        """Everything of the turn in progress, interim words included (for barge-in)."""
        return " ".join([*self._finals, self._interim]).strip()

    def has_unfinished_speech(self) -> bool:
        return bool(self._interim) and not self._finals

    def on_transcript(self, transcript: Transcript) -> str | None:
        """The caller's whole turn when this transcript ends it, else None."""
        if transcript.is_final:
            if transcript.text:
                self._finals.append(transcript.text)
            self._interim = ""
            if (transcript.speech_final or transcript.from_finalize) and self._finals:
                return self._complete()
        elif transcript.text:
            self._interim = transcript.text
            if self.speech_started_at is None:
                self.speech_started_at = transcript.at
        return None

    def on_utterance_end(self) -> str | None:
        return self._complete() if self._finals else None

    def _complete(self) -> str:
        text = " ".join(self._finals).strip()
        self._finals, self._interim, self.speech_started_at = [], "", None
        return text
