"""Every JSON message the fake Deepgram sends validates strictly against the installed SDK's models.

The SDK falls back to an unvalidated model when a message does not validate,
which would hide a wrong shape; so validate each one directly here.
"""

import pytest
from deepgram.core.unchecked_base_model import construct_type
from deepgram.listen.v1.socket_client import V1SocketClientResponse as ListenResponse
from deepgram.listen.v1.types import (
    ListenV1Error,
    ListenV1Metadata,
    ListenV1Results,
    ListenV1SpeechStarted,
    ListenV1UtteranceEnd,
)
from deepgram.speak.v1.socket_client import V1SocketClientResponse as SpeakResponse
from deepgram.speak.v1.types import SpeakV1Flushed, SpeakV1Metadata, SpeakV1Warning

from standins import deepgram_messages as msg

LISTEN_CASES = [
    (msg.listen_metadata("req", 1.5, 1), ListenV1Metadata),
    (msg.speech_started(0.48), ListenV1SpeechStarted),
    (msg.utterance_end(2.2), ListenV1UtteranceEnd),
    (msg.listen_error("bad", message="{}"), ListenV1Error),
    (
        msg.results(request_id="r", transcript="Hi, there.", start=0.1, end=0.9, is_final=True, speech_final=True),
        ListenV1Results,
    ),
    (
        msg.results(
            request_id="r", transcript="", start=1, end=1, is_final=True, speech_final=False, from_finalize=True
        ),
        ListenV1Results,
    ),
]

SPEAK_CASES = [
    (msg.speak_metadata("req", "aura-2-thalia-en"), SpeakV1Metadata),
    (msg.flushed(3), SpeakV1Flushed),
    # The SDK has no Cleared class in its union: a Cleared message parses as SpeakV1Flushed with type "Cleared".
    (msg.cleared(3), SpeakV1Flushed),
    (msg.speak_warning("careful", "W1"), SpeakV1Warning),
]


@pytest.mark.parametrize("message, model", LISTEN_CASES + SPEAK_CASES)
def test_message_validates_strictly(message, model):
    model.model_validate(message)


@pytest.mark.parametrize("message, model", LISTEN_CASES)
def test_listen_union_picks_the_right_model(message, model):
    parsed = construct_type(type_=ListenResponse, object_=message)
    assert type(parsed) is model
    assert parsed.type == message["type"]


@pytest.mark.parametrize("message, model", SPEAK_CASES)
def test_speak_union_picks_the_right_model(message, model):
    parsed = construct_type(type_=SpeakResponse, object_=message)
    assert type(parsed) is model
    assert parsed.type == message["type"]


def test_words_carry_bare_and_punctuated_forms_in_time_order():
    words = msg.words_with_times("Yes, Tuesday's fine.", 1.0, 2.0)
    assert [(w["word"], w["punctuated_word"]) for w in words] == [
        ("yes", "Yes,"),
        ("tuesday's", "Tuesday's"),
        ("fine", "fine."),
    ]
    assert words[0]["start"] == 1.0 and words[-1]["end"] == 2.0
    assert all(a["end"] <= b["start"] for a, b in zip(words, words[1:]))
