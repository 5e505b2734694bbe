"""Twilio: webhook signatures, the TwiML we answer with, the few REST calls on a live call, and placing calls.

The only module that imports the twilio SDK. Everything here is synchronous; the
call session reaches the REST part through a thread (``asyncio.to_thread`` or
``sync_to_async``).

Settings read (with getattr, so a missing one means "not configured"):
TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_BASE_URL (optional: another
origin for api.twilio.com, e.g. a loopback stand-in in tests).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from requests.exceptions import Timeout
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Connect, VoiceResponse

from operations import metrics

log = logging.getLogger(__name__)

# Seconds a REST request to Twilio may take before we give up on it.
REST_TIMEOUT_SECONDS = 10


def _auth_token() -> str:
    return (getattr(settings, "TWILIO_AUTH_TOKEN", "") or "").strip()


def _account_sid() -> str:
    return (getattr(settings, "TWILIO_ACCOUNT_SID", "") or "").strip()


# --------------------------------------------------------------------------- signatures


def form_signature_is_valid(url: str, params: Mapping, signature: str | None) -> bool:
    """True when ``signature`` (X-Twilio-Signature) signs this public URL and these POST parameters.

    ``params`` may be a dict or Django's QueryDict (repeated keys are all signed).
    Without TWILIO_AUTH_TOKEN nothing is valid.
    """
    token = _auth_token()
    if not token or not signature or not url:
        return False
    try:
        return RequestValidator(token).validate(url, params or {}, signature)
    except Exception:  # a malformed URL or parameter must read as "not signed", never as a crash
        log.warning("Twilio signature check failed on malformed input", exc_info=True)
        return False


def _without_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.hostname or ""))


def websocket_signature_is_valid(url: str, signature: str | None) -> bool:
    """True when ``signature`` signs this public wss:// URL (a Media Streams upgrade carries no parameters).

    Twilio signs the wss URL without its port, so both the URL as given and its
    port-less variant are tried.
    """
    candidates = [url]
    try:
        stripped = _without_port(url)
    except ValueError:  # an invalid port number
        stripped = url
    if stripped != url:
        candidates.append(stripped)
    return any(form_signature_is_valid(candidate, {}, signature) for candidate in candidates)


# --------------------------------------------------------------------------- TwiML


def connect_stream(stream_url: str, parameters: Mapping[str, str]) -> str:
    """<Connect><Stream url> with one <Parameter> per item: a bidirectional media stream to our socket.

    Twilio refuses query strings on the stream URL; values go in the parameters
    (they arrive in the stream's ``start.customParameters``).
    """
    if "?" in stream_url:
        raise ValueError("Twilio does not accept a query string on a media stream URL; use parameters.")
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=str(value))
    response.append(connect)
    return str(response)


def empty_response() -> str:
    """<Response/>: nothing more to do; the call ends."""
    return str(VoiceResponse())


def say_and_hang_up(text: str) -> str:
    """Say ``text``, then end the call."""
    response = VoiceResponse()
    if text:
        response.say(text)
    response.hangup()
    return str(response)


def transfer(number: str, *, say: str = "", action_url: str, timeout: int = 20, whisper_url: str = "") -> str:
    """Say ``say`` (if any), then ring ``number``; when the dial ends Twilio posts the result to ``action_url``.

    With ``whisper_url``, Twilio fetches TwiML there when the number answers and plays it to that person alone
    before connecting the two (a <Number url>): how the advisor hears who is calling.
    """
    response = VoiceResponse()
    if say:
        response.say(say)
    if whisper_url:
        dial = response.dial(action=action_url, timeout=timeout)
        dial.number(number, url=whisper_url)
    else:
        response.dial(number, action=action_url, timeout=timeout)
    return str(response)


def say_only(text: str) -> str:
    """Just words, then the call goes on (a whisper: a <Hangup> there would refuse the transfer)."""
    response = VoiceResponse()
    response.say(text)
    return str(response)


def take_message(
    say: str, *, action_url: str, transcribe_callback_url: str, max_length: int = 120, goodbye: str = ""
) -> str:
    """Say ``say``, record a message after a beep, then say goodbye and hang up.

    Twilio posts the recording to ``action_url`` (whose answer replaces the rest
    of this TwiML) and the transcript later to ``transcribe_callback_url``. The
    goodbye only plays when nothing was recorded (Twilio skips the action then).
    """
    response = VoiceResponse()
    if say:
        response.say(say)
    response.record(
        play_beep=True,
        max_length=max_length,
        action=action_url,
        transcribe=True,
        transcribe_callback=transcribe_callback_url,
    )
    response.say(goodbye or "We did not get a message. Goodbye.")
    response.hangup()
    return str(response)


def apology_and_transfer(
    *,
    apology: str,
    number: str,
    dial_action_url: str,
    message_prompt: str,
    record_action_url: str,
    transcribe_callback_url: str,
    timeout: int = 20,
    max_length: int = 120,
) -> str:
    """The fallback when the phone agent cannot answer: apologise, then ring ``number``.

    Without a number there is nobody to ring: the apology is followed by
    ``message_prompt`` and a recorded message instead.
    """
    if number:
        return transfer(number, say=apology, action_url=dial_action_url, timeout=timeout)
    return take_message(
        f"{apology} {message_prompt}".strip(),
        action_url=record_action_url,
        transcribe_callback_url=transcribe_callback_url,
        max_length=max_length,
    )


# --------------------------------------------------------------------------- REST


def preload() -> None:
    """Import the REST client's call resources now rather than at a call's first hang-up (voice.preload)."""
    _ = Client("AC" + "0" * 32, "preload", http_client=TwilioHttpClient()).calls


class TwilioError(Exception):
    """A REST call to Twilio failed; the message says why in one sentence (never with credentials)."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status  # HTTP status from Twilio, when it answered
        self.code = code  # Twilio's error code (e.g. 21220: the call is not in progress), when given


def is_configured() -> bool:
    """Whether the account SID and auth token are set (webhooks and REST calls need both)."""
    return bool(_account_sid() and _auth_token())


@dataclass(frozen=True)
class CallInfo:
    """What Twilio says about one call (its Call resource), in our terms."""

    sid: str
    status: str  # queued, ringing, in-progress, completed, busy, failed, no-answer, canceled
    to: str
    from_: str
    direction: str  # "outbound-api" for calls we placed
    answered_by: str  # "" when Twilio did not report it
    created_at: datetime | None
    started_at: datetime | None


def _call_info(call) -> CallInfo:
    return CallInfo(sid=call.sid, status=call.status or "", to=call.to or "", from_=call._from or "",
                    direction=call.direction or "", answered_by=call.answered_by or "",
                    created_at=call.date_created, started_at=call.start_time)  # fmt: skip


def _error_kind(exc: Exception) -> str:
    """A failed REST request, by kind (operations.metrics.PROVIDER_ERRORS)."""
    if isinstance(exc, TwilioRestException):
        return metrics.http_error_kind(exc.status)
    if isinstance(exc, Timeout):
        return "timeout"
    if isinstance(exc, OSError):
        return "connect"
    return "client"  # the SDK refused before asking


class TwilioCalls:
    """The REST calls made on a live call: hang up, replace its TwiML (e.g. to transfer), check credentials;
    and placing a call, asking about one, and listing the calls to a number.

    Built from settings unless given explicit values. Synchronous; one instance
    per thread of use (its HTTP session is not shared between threads by design).
    """

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_base_url: str | None = None,
        timeout: float = REST_TIMEOUT_SECONDS,
    ):
        self.account_sid = (account_sid if account_sid is not None else _account_sid()).strip()
        self._auth_token = (auth_token if auth_token is not None else _auth_token()).strip()
        base = api_base_url if api_base_url is not None else getattr(settings, "TWILIO_API_BASE_URL", "")
        self.api_base_url = (base or "").strip().rstrip("/")
        self.timeout = timeout
        self._client: Client | None = None

    def is_configured(self) -> bool:
        return bool(self.account_sid and self._auth_token)

    @property
    def client(self) -> Client:
        if not self.is_configured():
            raise TwilioError("Twilio is not configured (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed).")
        if self._client is None:
            client = Client(self.account_sid, self._auth_token, http_client=TwilioHttpClient(timeout=self.timeout))
            if self.api_base_url:
                # The SDK has no base-URL option: every api.twilio.com URL is built from
                # client.api.base_url, and edge/region (also read from the environment)
                # would rewrite the host again.
                client.api.base_url = self.api_base_url
                client.edge = None
                client.region = None
            self._client = client
        return self._client

    def _scrub(self, text: str) -> str:
        return text.replace(self._auth_token, "***") if self._auth_token else text

    def _error(self, action: str, exc: Exception) -> TwilioError:
        if isinstance(exc, TwilioRestException):
            detail = f"Twilio answered HTTP {exc.status}"
            if exc.code:
                detail += f", error {exc.code}"
            if exc.msg:
                detail += f": {exc.msg}"
            return TwilioError(self._scrub(f"Could not {action}. {detail}"), status=exc.status, code=exc.code)
        reason = type(exc).__name__
        return TwilioError(self._scrub(f"Could not {action}: Twilio did not answer ({reason})."))

    def _run(self, action: str, func):
        try:
            return func()
        except TwilioError:
            raise
        except (TwilioException, OSError) as exc:  # requests' errors are OSErrors
            metrics.provider_error("twilio", _error_kind(exc))
            error = self._error(action, exc)
            log.warning("%s", error.message)
            raise error from None

    def hang_up(self, call_sid: str) -> None:
        """End the call now (Twilio status "completed")."""
        self._run("hang up the call", lambda: self.client.calls(call_sid).update(status="completed"))

    def update_twiml(self, call_sid: str, twiml: str) -> None:
        """Replace what the call is doing with ``twiml`` (this ends a running media stream)."""
        self._run("change the call's instructions", lambda: self.client.calls(call_sid).update(twiml=twiml))

    def place_call(
        self, *, to: str, from_: str, url: str, status_callback: str, status_callback_events: Sequence[str],
        async_amd_status_callback: str, ring_seconds: int, time_limit_seconds: int,
        machine_detection: str = "DetectMessageEnd",
    ) -> str:
        """Ask Twilio to dial ``to`` and fetch its instructions from ``url`` once answered; returns the CallSid.

        Answering-machine detection runs alongside the conversation (``async_amd``; the SDK wants the string
        "true") and reports to ``async_amd_status_callback``. A TwilioError with an HTTP ``status`` below 500
        means Twilio refused and no call exists; without a status (no answer, a timeout) or with a 5xx, a call
        may exist all the same, so the caller must ask before dialling again.
        """
        call = self._run("place the call", lambda: self.client.calls.create(
            to=to, from_=from_, url=url, method="POST",
            status_callback=status_callback, status_callback_method="POST",
            status_callback_event=list(status_callback_events),
            machine_detection=machine_detection, async_amd="true",
            async_amd_status_callback=async_amd_status_callback, async_amd_status_callback_method="POST",
            timeout=ring_seconds, time_limit=time_limit_seconds,
        ))  # fmt: skip
        return call.sid

    def fetch_call(self, call_sid: str) -> CallInfo:
        """The call as Twilio has it now (a TwilioError with status 404 when it has no such call)."""
        return _call_info(self._run("look up the call", lambda: self.client.calls(call_sid).fetch()))

    def calls_to(self, to: str, *, from_: str, since: date | None = None, limit: int = 20) -> list[CallInfo]:
        """Calls from ``from_`` to ``to``, newest first: with ``since``, those that started on or after that UTC
        day (Twilio filters by day; a call not dialled yet, or one that never started, has no start time and is
        left out), else the ``limit`` most recent whatever their state."""
        # As the API documents it: YYYY-MM-DD (the SDK would send a date as midnight with a time part).
        filters = {"start_time_after": since.isoformat()} if since else {}
        calls = self._run("list the calls", lambda: self.client.calls.list(to=to, from_=from_, limit=limit,
                                                                            **filters))  # fmt: skip
        return [_call_info(call) for call in calls]

    def check(self) -> tuple[bool, str]:
        """(True, what we reached) when the credentials work, else (False, a short reason)."""
        if not self.is_configured():
            return False, "not configured (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are empty)"
        try:
            account = self._run("reach Twilio", lambda: self.client.api.accounts(self.account_sid).fetch())
        except TwilioError as error:
            if error.status in (401, 403):
                return False, "Twilio refused the account SID and auth token"
            return False, error.message
        where = f" at {self.api_base_url}" if self.api_base_url else ""
        return True, f"connected{where}: account …{self.account_sid[-4:]} is {account.status}"
