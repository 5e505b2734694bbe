"""Call resources as the fake Twilio stores and renders them (API version 2010-04-01)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"
# Statuses after which a call can no longer be redirected or changed.
FINISHED = {"completed", "canceled", "busy", "failed", "no-answer"}


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two-letter prefix + 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: dt.datetime | None) -> str | None:
    """Twilio's 2010 API dates look like 'Tue, 31 Aug 2010 20:36:28 +0000'."""
    return format_datetime(moment) if moment else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@dataclass
class CallUpdate:
    """One POST to a call's URL: the form fields as sent (repeated fields as lists)."""

    call_sid: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class TwilioCall:
    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str = "outbound-api"
    status: str = "queued"
    twiml: str | None = None
    url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # create parameters as sent
    created: dt.datetime = field(default_factory=_now)
    updated: dt.datetime = field(default_factory=_now)
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    answered_by: str | None = None
    updates: list[CallUpdate] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def touch(self) -> None:
        self.updated = _now()

    def set_status(self, status: str) -> None:
        now = _now()
        if status == "in-progress" and self.start_time is None:
            self.start_time = now
        if status in FINISHED and self.end_time is None:
            self.end_time = now
        self.status = status
        self.updated = now

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        duration = None
        if self.start_time and self.end_time:
            duration = str(int((self.end_time - self.start_time).total_seconds()))
        base = self.uri[: -len(".json")]
        return {
            "sid": self.sid,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.updated),
            "parent_call_sid": None,
            "account_sid": self.account_sid,
            "to": self.to,
            "to_formatted": self.to,
            "from": self.from_,
            "from_formatted": self.from_,
            "phone_number_sid": None,
            "status": self.status,
            "start_time": rfc2822(self.start_time),
            "end_time": rfc2822(self.end_time),
            "duration": duration,
            "price": None,
            "price_unit": "USD",
            "direction": self.direction,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": self.uri,
            "subresource_uris": {
                name: f"{base}/{name.capitalize()}.json"
                for name in ("feedback", "notifications", "recordings", "streams", "payments", "events", "siprec")
            },
        }


def account_json(account_sid: str, auth_token: str) -> dict[str, Any]:
    created = rfc2822(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    uri = f"/{API_VERSION}/Accounts/{account_sid}"
    return {
        "sid": account_sid,
        "owner_account_sid": account_sid,
        "friendly_name": "Stand-in account",
        "status": "active",
        "type": "Full",
        "auth_token": auth_token,
        "date_created": created,
        "date_updated": created,
        "uri": uri + ".json",
        "subresource_uris": {"calls": uri + "/Calls.json"},
    }


def error_json(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's legacy error body; the SDK raises TwilioRestException(status, code, message)."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
