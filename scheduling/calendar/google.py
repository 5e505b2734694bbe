"""Google Calendar v3 behind a small interface: the only module that imports the Google SDK.

Errors leave this module as ``CalendarTransientError`` (rate limits, server
errors, the network: worth retrying) or ``CalendarError`` (anything retrying
will not fix), each with the HTTP status in ``.status`` when there was one.
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from googleapiclient import http as google_http
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from scheduling.calendar.errors import CalendarError, CalendarTransientError

logger = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/calendar",)

# httplib2 waits forever unless told otherwise. Syncing runs in Celery and
# can wait a while; busy time is looked up while a caller is on the line.
TIMEOUT_SECONDS = 15
BUSY_TIMEOUT_SECONDS = 5

# freebusy.query refuses windows much longer than ~90 days: ask in pieces.
_FREEBUSY_MAX_WINDOW = timedelta(days=60)

# Gone already: 404 for an id never seen, 410 for an event deleted earlier.
_GONE = {404, 410}

Interval = tuple[datetime, datetime]


def _error(cls: type[CalendarError], message: str, status: int | None = None) -> CalendarError:
    error = cls(message)
    error.status = status
    return error


def _from_http_error(error: HttpError, what: str) -> CalendarError:
    status = int(error.resp.status)
    reason = (error.reason or "").strip()
    message = f"Google Calendar {what} failed: HTTP {status}" + (f" ({reason})" if reason else "")
    transient = status == 429 or status >= 500
    return _error(CalendarTransientError if transient else CalendarError, message, status)


class GoogleCalendar:
    """One calendar of a built ``calendar`` v3 service."""

    def __init__(self, service, calendar_id: str):
        self.service = service
        self.calendar_id = calendar_id

    def __repr__(self):
        return f"<GoogleCalendar {self.calendar_id}>"

    def _execute(self, request, what: str):
        try:
            return request.execute(num_retries=0)  # retrying is the Celery task's job
        except HttpError as error:
            raise _from_http_error(error, what) from error
        except auth_exceptions.RefreshError as error:
            # A refused token exchange (bad key, disabled account) stays refused.
            cls = CalendarTransientError if error.retryable else CalendarError
            raise _error(cls, f"Google Calendar {what} failed: could not obtain an access token") from error
        except (
            OSError,  # sockets, timeouts, TLS
            httplib2.HttpLib2Error,
            http.client.HTTPException,
            auth_exceptions.TransportError,
        ) as error:
            raise _error(
                CalendarTransientError, f"Google Calendar {what} failed: network error ({type(error).__name__})"
            ) from error

    # ------------------------------------------------------------------ events

    def describe(self) -> dict:
        """The calendar's own entry (summary, time zone): proves the credentials reach it."""
        return self._execute(self.service.calendars().get(calendarId=self.calendar_id), "read the calendar")

    def insert_event(self, body: dict) -> dict:
        """Create an event; with an ``id`` in ``body`` a second insert fails with status 409."""
        events = self.service.events()
        return self._execute(events.insert(calendarId=self.calendar_id, body=body, sendUpdates="none"), "insert")

    def update_event(self, event_id: str, body: dict) -> dict:
        """Replace the event (a full PUT: fields left out of ``body`` are cleared)."""
        events = self.service.events()
        request = events.update(calendarId=self.calendar_id, eventId=event_id, body=body, sendUpdates="none")
        return self._execute(request, "update")

    def delete_event(self, event_id: str) -> None:
        """Delete the event; one that is already gone counts as deleted."""
        events = self.service.events()
        try:
            self._execute(events.delete(calendarId=self.calendar_id, eventId=event_id, sendUpdates="none"), "delete")
        except CalendarError as error:
            if getattr(error, "status", None) not in _GONE:
                raise

    def get_event(self, event_id: str) -> dict | None:
        events = self.service.events()
        try:
            return self._execute(events.get(calendarId=self.calendar_id, eventId=event_id), "get")
        except CalendarError as error:
            if getattr(error, "status", None) in _GONE:
                return None
            raise

    # ------------------------------------------------------------------ busy time

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy intervals of the calendar between two aware datetimes, in UTC, sorted."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("busy() needs aware datetimes")
        intervals: list[Interval] = []
        piece_start = start
        while piece_start < end:
            piece_end = min(end, piece_start + _FREEBUSY_MAX_WINDOW)
            intervals.extend(self._busy_piece(piece_start, piece_end))
            piece_start = piece_end
        return sorted(set(intervals))

    def _busy_piece(self, start: datetime, end: datetime) -> list[Interval]:
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "items": [{"id": self.calendar_id}],
        }
        response = self._execute(self.service.freebusy().query(body=body), "freebusy")
        entry = (response.get("calendars") or {}).get(self.calendar_id)
        if entry is None:
            raise _error(CalendarError, "Google Calendar freebusy failed: the calendar is missing from the answer")
        if entry.get("errors"):
            # e.g. [{"domain": "global", "reason": "notFound"}]: no such calendar or no access to it.
            reasons = ", ".join(sorted({str(e.get("reason", "unknown")) for e in entry["errors"]}))
            raise _error(CalendarError, f"Google Calendar freebusy failed: {reasons}")
        try:
            return [(_parse_rfc3339(b["start"]), _parse_rfc3339(b["end"])) for b in entry.get("busy", [])]
        except (KeyError, TypeError, ValueError) as error:
            raise _error(CalendarError, "Google Calendar freebusy failed: unreadable busy interval") from error


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_rfc3339(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # Python 3.11 reads "Z" and fractional seconds
    if moment.tzinfo is None:
        raise ValueError(f"no offset in {text!r}")
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- configuration


def _configured() -> tuple[str, str]:
    return (settings.GOOGLE_SERVICE_ACCOUNT_FILE or "").strip(), (settings.GOOGLE_CALENDAR_ID or "").strip()


@functools.lru_cache(maxsize=4)
def _credentials(path: str, mtime_ns: int, size: int) -> service_account.Credentials:
    # Cached per key file (and its version on disk) so that the access token is
    # reused across tasks instead of being exchanged for every request.
    return service_account.Credentials.from_service_account_file(path, scopes=list(SCOPES))


def _load_credentials(path: str) -> service_account.Credentials:
    name = Path(path).name
    try:
        stat = os.stat(path)
    except OSError:
        raise _error(CalendarError, f"service-account file not found: {name}") from None
    try:
        return _credentials(path, stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError) as error:
        # The message of a malformed key file may quote it: say only what kind of failure it was.
        raise _error(CalendarError, f"service-account file unusable: {name} ({type(error).__name__})") from None


def calendar_from_settings(http=None, *, timeout: float = TIMEOUT_SECONDS) -> GoogleCalendar | None:
    """The configured calendar, or None when GOOGLE_SERVICE_ACCOUNT_FILE or GOOGLE_CALENDAR_ID is unset.

    ``http`` replaces the transport and the credentials (tests pass an
    ``HttpMockSequence``). Raises CalendarError when the key file is missing
    or unreadable.
    """
    key_file, calendar_id = _configured()
    if not key_file or not calendar_id:
        return None
    if http is None:
        credentials = _load_credentials(key_file)
        transport = google_http.build_http()
        transport.timeout = timeout
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=transport)
    service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False)
    return GoogleCalendar(service, calendar_id)


def calendar_status() -> tuple[bool, str]:
    """(usable, one line for the admin and check_integrations). Makes no network request; prints no secret."""
    key_file, calendar_id = _configured()
    if not key_file and not calendar_id:
        return False, "not configured"
    if not calendar_id:
        return False, "not configured (GOOGLE_CALENDAR_ID is not set)"
    if not key_file:
        return False, "not configured (GOOGLE_SERVICE_ACCOUNT_FILE is not set)"
    try:
        _load_credentials(key_file)
    except CalendarError as error:
        return False, str(error)
    return True, f"configured: {calendar_id}"


def calendar_check(http=None) -> tuple[bool, str]:
    """(reachable, one line) for check_integrations: reads the calendar's own entry. Prints no secret."""
    usable, status = calendar_status()
    if not usable and http is None:
        return False, status
    try:
        calendar = calendar_from_settings(http=http)
        if calendar is None:
            return False, status
        entry = calendar.describe()
    except CalendarError as error:
        return False, str(error)
    return True, f"reachable: {entry.get('summary') or calendar.calendar_id} ({entry.get('timeZone', 'no time zone')})"
