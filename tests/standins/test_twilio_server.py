"""The real twilio Client (sync, requests-based) against FakeTwilio."""

import re

import pytest
from twilio.base.exceptions import TwilioRestException

TWIML = '<Response><Connect><Stream url="wss://agent.example.com/media-stream"/></Connect></Response>'


def test_create_fetch_and_update_a_call(fake_twilio):
    client = fake_twilio.make_client()
    created_hook, updated_hook = [], []
    fake_twilio.on_create(created_hook.append)
    fake_twilio.on_update(lambda call, params: updated_hook.append((call.sid, params)))

    call = client.calls.create(
        to="+15551230000",
        from_="+15559870000",
        twiml=TWIML,
        status_callback="https://agent.example.com/twilio/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        machine_detection="DetectMessageEnd",
        async_amd="true",
        async_amd_status_callback="https://agent.example.com/twilio/amd",
        timeout=25,
        time_limit=900,
    )
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert (call.status, call.direction, call.to, call._from) == (
        "queued",
        "outbound-api",
        "+15551230000",
        "+15559870000",
    )
    assert call.account_sid == fake_twilio.account_sid and call.date_created is not None

    (stored,) = fake_twilio.creates
    assert stored.params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert stored.params["MachineDetection"] == "DetectMessageEnd" and stored.params["AsyncAmd"] == "true"
    assert stored.params["Timeout"] == "25" and stored.params["TimeLimit"] == "900"
    assert stored.twiml == TWIML and created_hook == [stored]

    fake_twilio.set_status(call.sid, "in-progress")
    redirected = client.calls(call.sid).update(twiml="<Response><Say>Transferring you now.</Say></Response>")
    assert redirected.status == "in-progress"
    ended = client.calls(call.sid).update(status="completed")
    assert ended.status == "completed" and ended.end_time is not None
    assert client.calls(call.sid).fetch().status == "completed"

    assert [u.params for u in fake_twilio.updates] == [
        {"Twiml": "<Response><Say>Transferring you now.</Say></Response>"},
        {"Status": "completed"},
    ]
    assert [sid for sid, _ in updated_hook] == [call.sid, call.sid]

    with pytest.raises(TwilioRestException) as finished:
        client.calls(call.sid).update(twiml="<Response><Hangup/></Response>")
    assert (finished.value.status, finished.value.code) == (400, 21220)


def test_hangup_twiml_completes_the_call(fake_twilio):
    client = fake_twilio.make_client()
    call = fake_twilio.add_call()
    assert client.calls(call.sid).update(twiml="<Response><Hangup/></Response>").status == "completed"


def test_account_fetch_is_a_credentials_check(fake_twilio):
    account = fake_twilio.make_client().api.accounts(fake_twilio.account_sid).fetch()
    assert account.sid == fake_twilio.account_sid and account.status == "active"


def test_wrong_credentials_and_unknown_calls_raise_twilio_errors(fake_twilio):
    with pytest.raises(TwilioRestException) as unauthorised:
        fake_twilio.make_client(auth_token="0" * 32).calls.create(to="+15551230000", from_="+15559870000", twiml=TWIML)
    assert (unauthorised.value.status, unauthorised.value.code) == (401, 20003)

    client = fake_twilio.make_client()
    with pytest.raises(TwilioRestException) as missing:
        client.calls("CA" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)

    with pytest.raises(TwilioRestException) as invalid:
        client.calls.create(to="+15551230000", from_="+15559870000")
    assert (invalid.value.status, invalid.value.code) == (400, 21205)


def test_injected_server_error(fake_twilio):
    fake_twilio.fail_next(1, 503, code=20503, message="Service Unavailable")
    client = fake_twilio.make_client()
    with pytest.raises(TwilioRestException) as failed:
        client.calls.create(to="+15551230000", from_="+15559870000", twiml=TWIML)
    assert failed.value.status == 503
    assert client.calls.create(to="+15551230000", from_="+15559870000", twiml=TWIML).status == "queued"
    assert [status for _, _, status in fake_twilio.requests] == [503, 201]


def test_client_points_at_the_fake_through_api_base_url(fake_twilio, monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")  # would rewrite the host if left in place
    client = fake_twilio.make_client()
    assert client.api.base_url == fake_twilio.base_url
    assert client.calls.create(to="+15551230000", from_="+15559870000", twiml=TWIML).sid.startswith("CA")
