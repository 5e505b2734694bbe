"""JSON messages the fake Deepgram sends, shaped so the installed SDK's models validate them.

Checked against deepgram-sdk 7.16: deepgram/listen/v1/types/listen_v1*.py and
deepgram/speak/v1/types/speak_v1*.py. The SDK parses each text frame into a
union of models, picking the first whose Literal "type" matches and whose
required fields validate; a message missing a required field silently falls
back to an unvalidated model, so the stand-in's own tests validate every shape
strictly (see test_deepgram_messages.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from typing import Any

MODEL_UUID = "1dbdfb4d-85b2-4659-9ac4-8e5b6f1a0c27"
LISTEN_MODEL_INFO = {"name": "2-general-nova", "version": "2024-01-09.29447", "arch": "nova-3"}
SPEAK_MODEL_VERSION = "2025-04-07.0"
_WORD_CHARS = re.compile(r"[^\w'-]+", re.UNICODE)


def new_request_id() -> str:
    return str(uuid.uuid4())


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def listen_metadata(request_id: str, duration: float, channels: int) -> dict[str, Any]:
    return {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": request_id,
        "sha256": hashlib.sha256(request_id.encode()).hexdigest(),
        "created": _now_iso(),
        "duration": round(duration, 3),
        "channels": channels,
        "models": [MODEL_UUID],
        "model_info": {MODEL_UUID: LISTEN_MODEL_INFO},
    }


def speech_started(timestamp: float) -> dict[str, Any]:
    return {"type": "SpeechStarted", "channel": [0, 1], "timestamp": round(timestamp, 3)}


def utterance_end(last_word_end: float) -> dict[str, Any]:
    return {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": round(last_word_end, 3)}


def listen_error(description: str, variant: str = "SchemaError", message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "Error", "variant": variant, "description": description}
    if message is not None:
        body["message"] = message
    return body


def words_with_times(text: str, start: float, end: float) -> list[dict[str, Any]]:
    """Per-word timings spread over [start, end] in proportion to character position."""
    words: list[dict[str, Any]] = []
    span = max(end - start, 0.0)
    length = max(len(text), 1)
    for match in re.finditer(r"\S+", text):
        bare = _WORD_CHARS.sub("", match.group()).lower() or match.group().lower()
        words.append(
            {
                "word": bare,
                "start": round(start + span * match.start() / length, 3),
                "end": round(start + span * match.end() / length, 3),
                "confidence": 0.99,
                "punctuated_word": match.group(),
            }
        )
    return words


def results(
    *,
    request_id: str,
    transcript: str,
    start: float,
    end: float,
    is_final: bool,
    speech_final: bool,
    from_finalize: bool = False,
) -> dict[str, Any]:
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": round(max(end - start, 0.0), 3),
        "start": round(start, 3),
        "is_final": is_final,
        "speech_final": speech_final,
        "from_finalize": from_finalize,
        "channel": {
            "alternatives": [
                {
                    "transcript": transcript,
                    "confidence": 0.99 if transcript else 0.0,
                    "words": words_with_times(transcript, start, end),
                }
            ]
        },
        "metadata": {"request_id": request_id, "model_info": LISTEN_MODEL_INFO, "model_uuid": MODEL_UUID},
    }


def speak_metadata(request_id: str, model_name: str) -> dict[str, Any]:
    return {
        "type": "Metadata",
        "request_id": request_id,
        "model_name": model_name,
        "model_version": SPEAK_MODEL_VERSION,
        "model_uuid": MODEL_UUID,
    }


def flushed(sequence_id: int) -> dict[str, Any]:
    return {"type": "Flushed", "sequence_id": sequence_id}


def cleared(sequence_id: int) -> dict[str, Any]:
    return {"type": "Cleared", "sequence_id": sequence_id}


def speak_warning(description: str, code: str) -> dict[str, Any]:
    return {"type": "Warning", "description": description, "code": code}
