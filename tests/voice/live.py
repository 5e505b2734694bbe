"""A real Daphne serving the project's ASGI application on loopback, and the stand-ins wired to it.

Daphne runs Twisted's reactor, which can start once per process: one server for the
whole test session, in a thread. Settings are read per call, so each test points the
product at its own stand-ins (function-scoped) through the ``voice_live`` fixture.
Tests that use it must be ``django_db(transaction=True)``: the server's threads
see only committed rows.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.urls import reverse

from standins import MediaStreamPeer
from tests.standins.fixtures import fake_deepgram, fake_openai, fake_twilio  # noqa: F401
from tests.voice.conftest import PUBLIC_BASE_URL

_server = {}


@pytest.fixture(scope="session")
def daphne_port(django_db_setup, django_db_blocker):
    import daphne.server  # installs the asyncio reactor before Twisted is imported anywhere else
    from daphne.endpoints import build_endpoint_description_strings
    from twisted.internet import reactor

    from dealership.asgi import application

    server = daphne.server.Server(
        application=application,
        endpoints=build_endpoint_description_strings(host="127.0.0.1", port=0),
        signal_handlers=False,
        verbosity=0,
    )
    django_db_blocker.unblock()  # the server's threads use the test database
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a bound for a broken start, not a measure
    while not server.listening_addresses and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.listening_addresses, "Daphne did not start"
    yield server.listening_addresses[0][1]
    reactor.callFromThread(reactor.stop)
    thread.join(timeout=30)
    # The server's worker threads keep their database connections: end them, or the test database
    # cannot be dropped.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    django_db_blocker.restore()


class Live:
    """The stand-ins of one test and helpers to place a call against the running server."""

    def __init__(self, port, client, openai, deepgram, twilio):
        self.port, self.client, self.openai, self.deepgram, self.twilio = port, client, openai, deepgram, twilio

    def incoming_call(self, from_number: str = "+16025550111") -> tuple[str, dict]:
        """A call Twilio has, announced by its signed "a call comes in" webhook.

        Returns the CallSid and the <Parameter>s of the TwiML's <Stream>.
        """
        from xml.etree import ElementTree

        from tests.voice.conftest import twilio_signature

        call_sid = self.twilio.add_call(from_=from_number, to="+16025550100").sid
        params = {"CallSid": call_sid, "From": from_number, "To": "+16025550100", "AccountSid": self.twilio.account_sid,
                  "Direction": "inbound", "CallStatus": "ringing"}  # fmt: skip
        url = PUBLIC_BASE_URL + reverse("voice:incoming")
        signature = twilio_signature(url, params, token=self.twilio.auth_token)
        response = self.client.post(reverse("voice:incoming"), params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200, response.content
        stream = ElementTree.fromstring(response.content).find("./Connect/Stream")
        assert stream is not None, response.content
        return call_sid, {p.get("name"): p.get("value") for p in stream.findall("Parameter")}

    def peer(self, call_sid: str, parameters: dict, **options) -> MediaStreamPeer:
        peer = MediaStreamPeer(
            f"ws://127.0.0.1:{self.port}/ws/voice/",
            auth_token=self.twilio.auth_token,
            public_url=PUBLIC_BASE_URL.replace("https://", "wss://") + "/ws/voice/",
            account_sid=self.twilio.account_sid,
            call_sid=call_sid,
            custom_parameters=parameters,
            **options,
        )
        self.twilio.attach_stream(call_sid, peer)
        return peer


@pytest.fixture
def voice_live(settings, daphne_port, client, fake_openai, fake_deepgram, fake_twilio):  # noqa: F811
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_ACCOUNT_SID = fake_twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = fake_twilio.auth_token
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    settings.DEEPGRAM_API_KEY = fake_deepgram.api_key
    settings.DEEPGRAM_BASE_URL = fake_deepgram.http_base
    settings.OPENAI_API_KEY = fake_openai.api_key
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.VOICE_AGENT_TIMEOUT_SECONDS = 20  # the stand-in answers at once; a busy machine must not time out
    settings.VOICE_SILENCE_SECONDS = 30
    yield Live(daphne_port, client, fake_openai, fake_deepgram, fake_twilio)
    _wait_for_calls_to_end()


def _wait_for_calls_to_end() -> None:
    """A call the test left behind finishes before the database is emptied for the next test.

    A session still saving its records (and summarizing the call) while pytest-django truncates the tables
    can deadlock the truncation, which then leaves this test's rows to break the next test's setup.
    """
    from operations import draining

    deadline = time.monotonic() + 60  # a bound for a session that never ends, not a measure
    while draining.live_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not draining.live_count(), f"{draining.live_count()} call session(s) still running after the test"
