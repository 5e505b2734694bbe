"""Our public addresses as Twilio sees them, and the short-lived token that ties a media stream to its call.

Twilio signs every request on the URL it called, which is our public address
(PUBLIC_BASE_URL), not whatever host and port the proxy in front of us forwards
to; so signatures are always checked against URLs built here.

The stream token travels in the TwiML as a <Parameter> and comes back in the
stream's ``start`` message: a stream that does not carry a fresh token made for
its own CallSid is not one we asked for.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

MEDIA_STREAM_PATH = "/ws/voice/"
_TOKEN_SALT = "voice.security.stream-token"


def _base_url() -> str:
    return (getattr(settings, "PUBLIC_BASE_URL", "") or "").strip().rstrip("/")


def public_url(path: str) -> str:
    """The public URL of ``path`` (which includes any query string exactly as received or to be sent)."""
    return _base_url() + path


def media_stream_url() -> str:
    """The wss:// (or ws:// for an http base) address of our media-stream socket, without a query string."""
    base = _base_url()
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + MEDIA_STREAM_PATH


def stream_token_seconds() -> int:
    return int(getattr(settings, "VOICE_STREAM_TOKEN_SECONDS", 120))


def _unix(now: datetime | float | None) -> int:
    if now is None:
        return int(time.time())
    if isinstance(now, datetime):
        return int(now.timestamp())
    return int(now)


def _mac(call_sid: str, expiry: int) -> str:
    return salted_hmac(_TOKEN_SALT, f"{call_sid}|{expiry}", algorithm="sha256").hexdigest()


def make_stream_token(call_sid: str, *, now: datetime | float | None = None) -> str:
    """A token "<expiry unix seconds>.<hex HMAC-SHA256 of call_sid and expiry>", valid VOICE_STREAM_TOKEN_SECONDS."""
    expiry = _unix(now) + stream_token_seconds()
    return f"{expiry}.{_mac(call_sid, expiry)}"


def stream_token_is_valid(token: str | None, call_sid: str | None, *, now: datetime | float | None = None) -> bool:
    """True for a token made by make_stream_token for this CallSid that has not expired; never raises."""
    if not isinstance(token, str) or not isinstance(call_sid, str) or not call_sid:
        return False
    expiry_text, dot, mac = token.partition(".")
    if not dot or not expiry_text.isascii() or not expiry_text.isdigit() or len(expiry_text) > 12:
        return False
    expiry = int(expiry_text)
    current = _unix(now)
    # Expired, or claiming a longer life than we give tokens now (the TTL was lowered since).
    if expiry < current or expiry > current + stream_token_seconds():
        return False
    return constant_time_compare(mac, _mac(call_sid, expiry))
