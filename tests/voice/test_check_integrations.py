"""manage.py check_integrations against the stand-ins: configured or not, reachable or not, never a secret."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.standins.fixtures import fake_deepgram, fake_openai, fake_twilio  # noqa: F401

pytestmark = pytest.mark.django_db


def run() -> tuple[str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("check_integrations", stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return out.getvalue() + err.getvalue(), code


@pytest.fixture
def configured(settings, fake_openai, fake_deepgram, fake_twilio):  # noqa: F811
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = fake_twilio.account_sid, fake_twilio.auth_token
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    settings.DEEPGRAM_API_KEY, settings.DEEPGRAM_BASE_URL = fake_deepgram.api_key, fake_deepgram.http_base
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    settings.OPENAI_MODEL = fake_openai.model
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = settings.GOOGLE_CALENDAR_ID = ""
    return settings


def line(output: str, name: str) -> str:
    return next(row for row in output.splitlines() if row.startswith(name))


def test_nothing_configured_says_so_and_succeeds(settings):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "DEEPGRAM_API_KEY", "OPENAI_API_KEY",
                 "GOOGLE_SERVICE_ACCOUNT_FILE", "GOOGLE_CALENDAR_ID"):  # fmt: skip
        setattr(settings, name, "")
    output, code = run()
    assert code == 0
    for name in ("Twilio", "Deepgram", "OpenAI", "Google Calendar"):
        assert "--" in line(output, name) and "not configured" in line(output, name)
    assert "searched by text only" in line(output, "Embeddings")


def test_everything_reachable(configured):
    output, code = run()
    assert code == 0, output
    assert line(output, "Twilio").split()[1] == "ok"
    assert line(output, "Deepgram").split()[1] == "ok"
    assert line(output, "OpenAI").split()[1] == "ok" and configured.OPENAI_MODEL in line(output, "OpenAI")
    for secret in (configured.TWILIO_AUTH_TOKEN, configured.DEEPGRAM_API_KEY, configured.OPENAI_API_KEY):
        assert secret not in output


def test_wrong_keys_fail_without_showing_them(configured):
    configured.TWILIO_AUTH_TOKEN = "wrong-twilio-token-1234567890"
    configured.DEEPGRAM_API_KEY = "wrong-deepgram-key-1234567890"
    configured.OPENAI_API_KEY = "sk-wrong-openai-key-1234567890"
    output, code = run()
    assert code == 1
    for name in ("Twilio", "Deepgram", "OpenAI"):
        assert line(output, name).split()[1] == "FAIL", output
    for secret in ("wrong-twilio-token", "wrong-deepgram-key", "sk-wrong-openai-key"):
        assert secret not in output


def test_an_unreachable_service_fails(configured):
    configured.DEEPGRAM_BASE_URL = "http://127.0.0.1:9"
    output, code = run()
    assert code == 1 and line(output, "Deepgram").split()[1] == "FAIL"


def test_a_google_key_file_that_is_missing_fails(configured, tmp_path):
    configured.GOOGLE_SERVICE_ACCOUNT_FILE = str(tmp_path / "missing.json")
    configured.GOOGLE_CALENDAR_ID = "service@example.com"
    output, code = run()
    assert code == 1 and line(output, "Google Calendar").split()[2] == "FAIL"


def test_google_calendar_reachable_through_the_client_library(settings):
    import json as _json

    from googleapiclient.http import HttpMockSequence

    from scheduling.calendar.google import calendar_check

    settings.GOOGLE_SERVICE_ACCOUNT_FILE, settings.GOOGLE_CALENDAR_ID = "/unused.json", "shop@example.com"
    http = HttpMockSequence([({"status": "200"}, _json.dumps({"summary": "Service bays", "timeZone": "America/Phoenix"}))])
    assert calendar_check(http=http) == (True, "reachable: Service bays (America/Phoenix)")


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1-mini"])
def test_a_model_announced_to_shut_down_is_warned_about(settings, model):
    settings.OPENAI_API_KEY, settings.OPENAI_MODEL = "", model
    output, code = run()
    assert code == 0
    assert model in line(output, "Model") and "2027-01-14" in line(output, "Model") and "WARN" in line(output, "Model")


def test_a_current_model_gets_no_warning(settings):
    settings.OPENAI_API_KEY, settings.OPENAI_MODEL = "", "gpt-5-mini"
    output, _ = run()
    assert not [row for row in output.splitlines() if row.startswith("Model")]
