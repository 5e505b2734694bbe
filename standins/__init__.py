"""Loopback stand-ins for the services a phone call touches: Twilio, Deepgram, OpenAI.

Servers and clients on 127.0.0.1 that speak Twilio's, Deepgram's and OpenAI's real wire protocols, so the
official SDKs (openai, deepgram-sdk, twilio) are exercised unmodified; only their base URLs change. Used by
``manage.py simulate_call`` (through ``voice.simulation``), the voice benchmarks in ``bench/`` and the tests.
A plain package, not a Django app: nothing here touches the database or the settings.

Speech is "text in audio" (see audio_codec): real 8 kHz mu-law frames whose samples carry the words, so the
fake STT can hear the fake caller and the fake caller can hear the fake TTS.

    FakeOpenAI       chat completions (stream or not, text or tool calls), embeddings, models
    FakeDeepgram     /v1/listen live STT and /v1/speak streaming TTS (+ GET /v1/projects)
    FakeTwilio       Calls REST API, with live-call hooks that end media streams
    MediaStreamPeer  Twilio's side of a bidirectional Media Stream, as a WebSocket client

The pytest fixtures that start and stop them are in the test suite, not here.
"""

from .audio_codec import (
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
from .deepgram_records import DeepgramConnection
from .deepgram_server import FakeDeepgram
from .media_peer import MediaStreamPeer, TimelineEvent, twilio_signature
from .openai_script import Reply
from .openai_server import ChatRecord, EmbeddingRecord, FakeOpenAI
from .twilio_calls import CallUpdate, TwilioCall
from .twilio_server import FakeTwilio

__all__ = [
    "FRAME_BYTES",
    "SILENCE_FRAME",
    "CallUpdate",
    "ChatRecord",
    "DeepgramConnection",
    "EmbeddingRecord",
    "FakeDeepgram",
    "FakeOpenAI",
    "FakeTwilio",
    "MediaStreamPeer",
    "Reply",
    "SpeechDecoder",
    "SpeechStarted",
    "TimelineEvent",
    "TwilioCall",
    "UtteranceCut",
    "UtteranceHeard",
    "encode_speech",
    "is_silent",
    "speech_duration",
    "twilio_signature",
]
