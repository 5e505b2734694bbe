"""FakeTwilio: a loopback server for the parts of Twilio's REST API (2010-04-01) a voice agent uses.

    POST /2010-04-01/Accounts/{AccountSid}/Calls.json            create a call
    GET  /2010-04-01/Accounts/{AccountSid}/Calls.json            list calls (To, From, Status, StartTime[<>])
    GET  /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  fetch a call
    POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  update (Twiml, Url, Status)
    GET  /2010-04-01/Accounts/{AccountSid}.json                  fetch the account (a credentials check)

HTTP Basic auth with (account sid, auth token). Errors use Twilio's JSON body
{"code","message","more_info","status"}, which the SDK raises as
TwilioRestException with .status and .code.

Pointing the real SDK here (twilio 9.13): every api.twilio.com resource URL is
built at request time by twilio.base.domain.Domain.absolute_url() from the
`base_url` attribute of the Api domain object, which ApiBase.__init__ sets to
"https://api.twilio.com". So make_client() sets `client.api.base_url` to this
server's origin. It also clears `client.edge` and `client.region`, because
ClientBase.get_hostname() rewrites the host of every URL when either is set
(e.g. from TWILIO_EDGE / TWILIO_REGION in the environment).

Live calls: attach_stream(call_sid, peer) links a call to a MediaStreamPeer.
When that call's TwiML is replaced (an update with Twiml or Url, e.g. <Dial>
or <Say>), or its status becomes completed/canceled, Twilio ends the
<Connect><Stream>: the peer sends "stop" and closes its WebSocket.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from ._aiohttp_base import ThreadedAiohttpServer
from ._background import WAIT_SECONDS, async_wait_until, wait_until
from .twilio_calls import API_VERSION, CallUpdate, TwilioCall, account_json, error_json, new_sid

log = logging.getLogger(__name__)

_HANGUP = re.compile(r"<\s*Hangup\b", re.IGNORECASE)


@dataclass
class _InjectedError:
    status: int
    code: int
    message: str


def _form_to_dict(form: MultiDictProxy) -> dict[str, Any]:
    """Form fields with repeated keys (StatusCallbackEvent) kept as lists."""
    out: dict[str, Any] = {}
    for key in form.keys():
        values = form.getall(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


class FakeTwilio(ThreadedAiohttpServer):
    """Stand-in for api.twilio.com.

    Args:
      account_sid / auth_token: the credentials accepted (random if not given).
      initial_status: status of a call right after create ("queued" like Twilio).
    """

    def __init__(
        self, *, account_sid: str | None = None, auth_token: str | None = None, initial_status: str = "queued"
    ) -> None:
        super().__init__("fake-twilio")
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.initial_status = initial_status
        self.calls: dict[str, TwilioCall] = {}
        self.creates: list[TwilioCall] = []
        self.updates: list[CallUpdate] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.hook_errors: list[BaseException] = []
        self._create_hooks: list[Callable[[TwilioCall], None]] = []
        self._update_hooks: list[Callable[[TwilioCall, dict[str, Any]], None]] = []
        self._streams: dict[str, Any] = {}
        self._errors: list[_InjectedError] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.origin

    def make_client(self, account_sid: str | None = None, auth_token: str | None = None):
        """A real twilio.rest.Client whose api.twilio.com requests come here (see module docstring)."""
        from twilio.rest import Client

        client = Client(account_sid or self.account_sid, auth_token or self.auth_token)
        client.edge = None
        client.region = None
        client.api.base_url = self.origin
        return client

    # ------------------------------------------------------------ test hooks

    def on_create(self, callback: Callable[[TwilioCall], None]) -> None:
        """callback(call) after each successful create. Runs on the server's thread: keep it short."""
        self._create_hooks.append(callback)

    def on_update(self, callback: Callable[[TwilioCall, dict[str, Any]], None]) -> None:
        """callback(call, form_params) after each successful update. Runs on the server's thread."""
        self._update_hooks.append(callback)

    def add_call(
        self,
        *,
        to: str = "+15550100",
        from_: str = "+15550199",
        direction: str = "inbound",
        status: str = "in-progress",
    ) -> TwilioCall:
        """Register a call Twilio 'already has' (an inbound call the peer is playing), so updates find it."""
        call = TwilioCall(new_sid("CA"), self.account_sid, to, from_, direction)
        call.set_status(status)
        self.calls[call.sid] = call
        return call

    def set_status(self, call_sid: str, status: str) -> None:
        """Move a call along (ringing, in-progress, completed...), as the network would."""
        call = self.calls[call_sid]
        call.set_status(status)
        if call.finished:
            self._end_stream(call_sid)

    def attach_stream(self, call_sid: str, peer: Any) -> None:
        """Link a MediaStreamPeer (anything with end_stream_threadsafe()) to a call."""
        self._streams[call_sid] = peer

    def detach_stream(self, call_sid: str) -> None:
        self._streams.pop(call_sid, None)

    def fail_next(
        self, count: int = 1, status: int = 500, *, code: int = 20500, message: str = "Internal Server Error"
    ) -> None:
        """The next `count` authenticated requests get this error instead of their answer."""
        with self._lock:
            self._errors.extend(_InjectedError(status, code, message) for _ in range(count))

    def wait_for_updates(self, count: int, timeout: float = WAIT_SECONDS) -> list[CallUpdate]:
        wait_until(lambda: len(self.updates) >= count, timeout)
        return self.updates

    async def async_wait_for_updates(self, count: int, timeout: float = WAIT_SECONDS) -> list[CallUpdate]:
        await async_wait_until(lambda: len(self.updates) >= count, timeout)
        return self.updates

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.creates.clear()
            self.updates.clear()
            self.requests.clear()
            self.hook_errors.clear()
            self._errors.clear()
            self._streams.clear()

    # ------------------------------------------------------------ plumbing

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        prefix = f"/{API_VERSION}/Accounts/{{account}}"
        app.router.add_get(prefix + ".json", self._fetch_account)
        app.router.add_post(prefix + "/Calls.json", self._create_call)
        app.router.add_get(prefix + "/Calls.json", self._list_calls)
        app.router.add_get(prefix + "/Calls/{call}.json", self._fetch_call)
        app.router.add_post(prefix + "/Calls/{call}.json", self._update_call)
        return app

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(f"{user}:{password}", f"{self.account_sid}:{self.auth_token}")

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        response = await self._guarded(request, handler)
        self.requests.append((request.method, request.path, response.status))
        return response

    async def _guarded(self, request: web.Request, handler) -> web.StreamResponse:
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        account = request.match_info.get("account")
        if account is not None and account != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        with self._lock:
            injected = self._errors.pop(0) if self._errors else None
        if injected:
            return _error(injected.status, injected.code, injected.message)
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return _error(404, 20404, f"The requested resource {request.path} was not found")

    def _run_hooks(self, hooks: list[Callable], *args: Any) -> None:
        for hook in hooks:
            try:
                hook(*args)
            except Exception as exc:  # a broken test hook must not break the HTTP answer
                log.exception("FakeTwilio hook failed")
                self.hook_errors.append(exc)

    def _end_stream(self, call_sid: str) -> None:
        peer = self._streams.pop(call_sid, None)
        if peer is not None:
            peer.end_stream_threadsafe()

    # ------------------------------------------------------------ handlers

    async def _fetch_account(self, request: web.Request) -> web.Response:
        return web.json_response(account_json(self.account_sid, self.auth_token))

    async def _create_call(self, request: web.Request) -> web.Response:
        params = _form_to_dict(await request.post())
        if not params.get("To"):
            return _error(400, 21201, "No 'To' number is specified")
        if not params.get("From"):
            return _error(400, 21213, "No 'From' number is specified")
        if not (params.get("Url") or params.get("Twiml") or params.get("ApplicationSid")):
            return _error(400, 21205, "Url parameter is required.")
        call = TwilioCall(
            new_sid("CA"),
            self.account_sid,
            params["To"],
            params["From"],
            twiml=params.get("Twiml"),
            url=params.get("Url"),
            params=params,
        )
        call.set_status(self.initial_status)
        self.calls[call.sid] = call
        self.creates.append(call)
        self._run_hooks(self._create_hooks, call)
        return web.json_response(call.to_json(), status=201)

    async def _list_calls(self, request: web.Request) -> web.Response:
        """Twilio's list: newest first, filtered like the real API, one page of PageSize (default 50)."""
        query = request.query
        try:
            matches = _call_filter(query)
            page_size = min(int(query.get("PageSize", "50")), 1000)
            page = int(query.get("Page", "0"))
        except ValueError as exc:
            return _error(400, 20001, f"Invalid filter: {exc}")
        # Newest first; calls created within one second (Twilio's resolution) newest first too.
        newest_first = reversed(list(self.calls.values()))
        calls = sorted((call for call in newest_first if matches(call)), key=lambda call: call.created, reverse=True)
        chunk = calls[page * page_size : (page + 1) * page_size]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls.json"
        more = len(calls) > (page + 1) * page_size
        return web.json_response({
            "calls": [call.to_json() for call in chunk],
            "page": page, "page_size": page_size, "start": page * page_size,
            "end": page * page_size + max(len(chunk) - 1, 0),
            "uri": f"{uri}?PageSize={page_size}&Page={page}",
            "first_page_uri": f"{uri}?PageSize={page_size}&Page=0",
            "previous_page_uri": f"{uri}?PageSize={page_size}&Page={page - 1}" if page else None,
            "next_page_uri": f"{uri}?PageSize={page_size}&Page={page + 1}" if more else None,
        })  # fmt: skip

    def _call(self, request: web.Request) -> TwilioCall:
        call = self.calls.get(request.match_info["call"])
        if call is None:
            raise web.HTTPNotFound()
        return call

    async def _fetch_call(self, request: web.Request) -> web.Response:
        return web.json_response(self._call(request).to_json())

    async def _update_call(self, request: web.Request) -> web.Response:
        call = self._call(request)
        params = _form_to_dict(await request.post())
        status = params.get("Status")
        redirect = params.get("Twiml") or params.get("Url")
        if status and status not in ("completed", "canceled"):
            return _error(400, 21218, f"Invalid value for Status: {status}")
        if call.finished and (redirect or status):
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        update = CallUpdate(call.sid, params)
        call.updates.append(update)
        self.updates.append(update)
        if params.get("Twiml"):
            call.twiml, call.url = params["Twiml"], None
        elif params.get("Url"):
            call.url, call.twiml = params["Url"], None
        if status:
            call.set_status(status)
        elif params.get("Twiml") and _HANGUP.search(params["Twiml"]):
            call.set_status("completed")
        else:
            call.touch()
        # Replacing TwiML ends the <Connect><Stream>; so does hanging up.
        if redirect or call.finished:
            self._end_stream(call.sid)
        self._run_hooks(self._update_hooks, call, params)
        return web.json_response(call.to_json())


def _day_or_moment(text: str) -> dt.datetime | dt.date:
    """A list filter's date: YYYY-MM-DD as the docs say, or the SDK's YYYY-MM-DDTHH:MM:SSZ for a datetime."""
    if "T" in text:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    return dt.date.fromisoformat(text)


def _call_filter(query) -> Callable[[TwilioCall], bool]:
    """The list's filters; a call that has not started (no start time) matches no StartTime filter."""
    to, from_, status = query.get("To"), query.get("From"), query.get("Status")
    names = (("on", "StartTime"), ("after", "StartTime>"), ("before", "StartTime<"))
    bounds = [(op, _day_or_moment(query[key])) for op, key in names if query.get(key)]

    def started_within(call: TwilioCall) -> bool:
        for op, bound in bounds:
            if call.start_time is None:
                return False
            started = call.start_time if isinstance(bound, dt.datetime) else call.start_time.date()
            if (op == "on" and started != bound) or (op == "after" and started < bound) or (
                    op == "before" and started >= bound):  # fmt: skip
                return False
        return True

    def matches(call: TwilioCall) -> bool:
        return ((not to or call.to == to) and (not from_ or call.from_ == from_)
                and (not status or call.status == status) and started_within(call))  # fmt: skip

    return matches


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(error_json(status, code, message), status=status)
