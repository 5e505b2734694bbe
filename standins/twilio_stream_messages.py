"""The JSON text frames Twilio sends on a bidirectional Media Stream (all numbers are strings)."""

from __future__ import annotations

import base64
from typing import Any

MEDIA_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}


def connected() -> dict[str, Any]:
    return {"event": "connected", "protocol": "Call", "version": "1.0.0"}


def start(
    sequence: int, *, stream_sid: str, account_sid: str, call_sid: str, custom_parameters: dict[str, str]
) -> dict[str, Any]:
    return {
        "event": "start",
        "sequenceNumber": str(sequence),
        "start": {
            "accountSid": account_sid,
            "streamSid": stream_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": custom_parameters,
            "mediaFormat": dict(MEDIA_FORMAT),
        },
        "streamSid": stream_sid,
    }


def media(sequence: int, *, stream_sid: str, chunk: int, timestamp_ms: int, audio: bytes) -> dict[str, Any]:
    return {
        "event": "media",
        "sequenceNumber": str(sequence),
        "media": {
            "track": "inbound",
            "chunk": str(chunk),
            "timestamp": str(timestamp_ms),
            "payload": base64.b64encode(audio).decode("ascii"),
        },
        "streamSid": stream_sid,
    }


def dtmf(sequence: int, *, stream_sid: str, digit: str) -> dict[str, Any]:
    return {
        "event": "dtmf",
        "streamSid": stream_sid,
        "sequenceNumber": str(sequence),
        "dtmf": {"track": "inbound_track", "digit": digit},
    }


def mark(sequence: int, *, stream_sid: str, name: str) -> dict[str, Any]:
    """Twilio's echo of a mark the server sent, once the audio before it has played."""
    return {"event": "mark", "sequenceNumber": str(sequence), "streamSid": stream_sid, "mark": {"name": name}}


def stop(sequence: int, *, stream_sid: str, account_sid: str, call_sid: str) -> dict[str, Any]:
    return {
        "event": "stop",
        "streamSid": stream_sid,
        "sequenceNumber": str(sequence),
        "stop": {"accountSid": account_sid, "callSid": call_sid},
    }
