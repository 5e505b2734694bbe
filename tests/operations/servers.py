"""What the tests that run the product's server in a process of its own share (a helper module, not a test module).

The settings such a process runs with (this run's test database, a Redis of the tests' own, the stand-ins of this
test process), calls placed on it as Twilio places them (a signed webhook over HTTP, then the media stream), the
end of its database sessions, and database reads that leave no session of this process open. The fixtures that go
with them are in ``tests/operations/conftest.py``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, connections

from standins import MediaStreamPeer
from standins._background import WAIT_SECONDS
from tests.voice.conftest import PUBLIC_BASE_URL, twilio_signature

ROOT = Path(__file__).resolve().parents[2]
PROCESS_SECONDS = 120  # a bound for a process to start or stop on a busy machine, not a measure
CALLER = "+16025550111"
DEALERSHIP_NUMBER = "+16025550100"
# libpq's PGAPPNAME names the servers' database sessions, telling them from this process's.
SERVER_APPLICATION_NAME = "dealership-server-under-test"


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test run uses (its test database, not the one the settings name)."""
    return settings.DATABASE_URL.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]


def server_environment(*, deepgram, twilio, redis_url: str, openai=None, **overrides: str) -> dict[str, str]:
    """The environment of a server process: this one's, with this test run's database, the given Redis and the
    stand-ins in place of Deepgram, Twilio and OpenAI (without ``openai``, no model key: the offline agent answers);
    ``overrides`` last."""
    environment = {
        **os.environ,
        "DEBUG": "false",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_BASE_URL": twilio.base_url,
        "DEEPGRAM_API_KEY": deepgram.api_key,
        "DEEPGRAM_BASE_URL": deepgram.http_base,
        "OPENAI_API_KEY": "" if openai is None else openai.api_key,
        "GOOGLE_SERVICE_ACCOUNT_FILE": "",
        "KNOWLEDGE_EMBEDDING_PROVIDER": "none",
        "VOICE_SILENCE_SECONDS": "60",
        "VOICE_AGENT_TIMEOUT_SECONDS": "20",
        "PYTHONUNBUFFERED": "1",
        "PGAPPNAME": SERVER_APPLICATION_NAME,
    }
    if openai is not None:
        environment["OPENAI_BASE_URL"] = openai.base_url
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)  # single-process metrics unless the overrides say otherwise
    return {**environment, **overrides}


def terminate(process: subprocess.Popen) -> None:
    """Stop a process as a service manager does (SIGTERM), killing it if it is still there after the bound."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(PROCESS_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def end_server_sessions() -> None:
    """End the database sessions the servers left: a process killed mid-call leaves its sessions for the database
    server to notice, and an open session keeps the test database from being flushed and dropped."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s",
                       [SERVER_APPLICATION_NAME])  # fmt: skip


# --------------------------------------------------------------------------- requests and calls


def http_request(port: int, path: str, **options) -> bytes:
    """A request to the server on ``port`` as it arrives through the https proxy in front of it, as Twilio's and a
    scraper's do (production redirects plain http); ``options`` as for ``urllib.request.Request``."""
    headers = {"X-Forwarded-Proto": "https", **options.pop("headers", {})}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers, **options)
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        return response.read()


def incoming_call(port: int, twilio, *, caller: str = CALLER) -> tuple[str, dict[str, str]]:
    """Twilio's signed "a call comes in" webhook; returns the CallSid and the parameters of the stream it opens."""
    call_sid = twilio.add_call(from_=caller, to=DEALERSHIP_NUMBER).sid
    params = {"CallSid": call_sid, "From": caller, "To": DEALERSHIP_NUMBER, "AccountSid": twilio.account_sid,
              "Direction": "inbound", "CallStatus": "ringing"}  # fmt: skip
    signature = twilio_signature(PUBLIC_BASE_URL + "/voice/incoming/", params, token=twilio.auth_token)
    twiml = http_request(port, "/voice/incoming/", data=urlencode(params).encode(), method="POST",
                         headers={"X-Twilio-Signature": signature,
                                  "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    stream = ElementTree.fromstring(twiml).find("./Connect/Stream")
    assert stream is not None, twiml
    return call_sid, {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


def stream_peer(port: int, twilio, call_sid: str, parameters: dict[str, str]) -> MediaStreamPeer:
    """The call's media stream as Twilio opens it, known to the Twilio stand-in; not connected yet (``connect()``
    or ``async with`` connects it)."""
    peer = MediaStreamPeer(f"ws://127.0.0.1:{port}/ws/voice/", auth_token=twilio.auth_token,
                           public_url=PUBLIC_BASE_URL.replace("https://", "wss://") + "/ws/voice/",
                           account_sid=twilio.account_sid, call_sid=call_sid, custom_parameters=parameters)  # fmt: skip
    twilio.attach_stream(call_sid, peer)
    return peer


async def place_call(port: int, twilio, *, caller: str = CALLER) -> MediaStreamPeer:
    """A call placed as Twilio places it: the webhook (in a thread), then the stream (not connected yet)."""
    call_sid, parameters = await asyncio.to_thread(incoming_call, port, twilio, caller=caller)
    return stream_peer(port, twilio, call_sid, parameters)


# --------------------------------------------------------------------------- reads


async def read(query):
    """Run ``query()`` (a database read, or anything blocking) in a worker thread that then closes its database
    connection: once the tests are done no session of this process is left open on the test database, which can
    then be dropped."""

    def closing():
        try:
            return query()
        finally:
            connections.close_all()

    return await sync_to_async(closing)()


async def until(condition, timeout: float = WAIT_SECONDS) -> None:
    """Wait until ``condition()``, run as ``read`` runs it, is true."""
    deadline = time.monotonic() + timeout
    while not await read(condition):
        assert time.monotonic() < deadline, f"still not so after {timeout} s"
        await asyncio.sleep(0.05)
