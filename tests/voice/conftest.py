"""Voice fixtures.

Twilio HTTP side and call records (tests/voice/test_webhooks.py, test_records.py, test_voice_admin.py):
``twilio_webhook_settings`` pins the settings the webhooks read, ``twilio_post`` posts a webhook signed the way
Twilio signs it (the real RequestValidator over the public URL), ``known_customer`` is a caller we know, and
``voice_advisor`` / ``voice_manager`` are staff in the two groups.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from twilio.request_validator import RequestValidator

from crm import services as crm_services
from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER
from tests.standins.fixtures import fake_twilio  # noqa: F401

PUBLIC_BASE_URL = "https://crm.example.com"
AUTH_TOKEN = "twilio-test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "1" * 32
KNOWN_NUMBER = "+16025550100"


def call_sid(n: int = 1) -> str:
    """A Twilio-shaped CallSid: CA + 32 hex digits."""
    return f"CA{n:032x}"


def twilio_signature(url: str, params: dict | None = None, *, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params or {})


@pytest.fixture
def twilio_webhook_settings(settings):
    """What the webhooks read: the public address, Twilio's credentials, and keys that let the agent run."""
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_API_BASE_URL = ""
    settings.DEEPGRAM_API_KEY = "dg-test-key"
    settings.OPENAI_API_KEY = "sk-test-key"
    settings.VOICE_STREAM_TOKEN_SECONDS = 120
    return settings


@pytest.fixture
def twilio_post(client, twilio_webhook_settings):
    """``twilio_post("voice:incoming", {...}, query={...})``: POST as Twilio would, signed over the public URL.

    ``signature=`` sends that header value instead (None: no header); ``signed_url=`` signs another URL;
    ``host=`` sets the Host header the proxy forwards.
    """

    def post(name: str, params: dict, *, query: dict | None = None, signature: str | bool | None = True,
             signed_url: str | None = None, host: str | None = None):  # fmt: skip
        path = reverse(name)
        if query:
            path += "?" + urlencode(query)
        headers = {}
        if signature is True:
            headers["X-Twilio-Signature"] = twilio_signature(signed_url or PUBLIC_BASE_URL + path, params)
        elif signature:
            headers["X-Twilio-Signature"] = signature
        extra = {"HTTP_HOST": host} if host else {}
        body = urlencode(params, doseq=True)
        return client.post(path, body, content_type="application/x-www-form-urlencoded", headers=headers, **extra)

    return post


@pytest.fixture
def known_customer(db):
    return crm_services.customer_create(first_name="Dana", last_name="Whitfield", phone="(602) 555-0100",
                                        other_phones=["480-555-0177"])  # fmt: skip


def _staff_in(username: str, group: str):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "correct-horse-battery",
                                                is_staff=True)  # fmt: skip
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def voice_advisor(db):
    return _staff_in("vera-advisor", SERVICE_ADVISOR)


@pytest.fixture
def voice_manager(db):
    return _staff_in("max-manager", SERVICE_MANAGER)


@pytest.fixture(autouse=True)
def close_connections():
    """Async tests leave connections in worker threads; closed, the test database can be dropped."""
    yield
    from django.db import connections

    connections.close_all()


# The live server and its stand-ins, defined once here so that every module shares one Daphne.
from tests.voice.live import daphne_port, voice_live  # noqa: E402, F401
