"""Twilio's webhooks: signatures, the TwiML we answer with, what each one records; and the REST wrapper."""

import datetime
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from crm import services as crm_services
from scheduling.models import OpeningHours
from voice import services
from voice.models import Call, CallbackRequest, CallStatus, Direction, Outcome, Speaker, Turn
from voice.providers.twilio import TwilioCalls, TwilioError, form_signature_is_valid, websocket_signature_is_valid
from voice.security import stream_token_is_valid
from voice.tasks import settle_unfinished_calls

from .conftest import AUTH_TOKEN, KNOWN_NUMBER, PUBLIC_BASE_URL, call_sid, twilio_signature

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_webhook_settings")]

TRANSFER_NUMBER = "+16025550199"


def incoming_params(sid: str, from_number: str = KNOWN_NUMBER) -> dict:
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": from_number,
        "To": "+16025550000",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return root


def set_transfer_phone(number: str) -> None:
    crm_services.dealership_profile_update(transfer_phone=number, name="Sonoran Motors Service")


@pytest.fixture
def open_now(db):
    """The service department is open at any hour, so a fallback may ring the transfer number."""
    for weekday in range(7):
        OpeningHours.objects.create(weekday=weekday, opens=datetime.time(0), closes=datetime.time(23, 59, 59))


# --------------------------------------------------------------------------- a call comes in


def test_incoming_call_from_a_known_customer_connects_the_media_stream(twilio_post, known_customer):
    sid = call_sid(1)
    response = twilio_post("voice:incoming", incoming_params(sid))
    root = twiml(response)

    (connect,) = root
    assert connect.tag == "Connect"
    (stream,) = connect
    assert stream.tag == "Stream"
    assert stream.get("url") == "wss://crm.example.com/ws/voice/"
    assert "?" not in stream.get("url")
    parameters = {p.get("name"): p.get("value") for p in stream}
    assert set(parameters) == {"call_sid", "token"}
    assert parameters["call_sid"] == sid
    token = parameters["token"]
    assert stream_token_is_valid(token, sid)
    assert not stream_token_is_valid(token, call_sid(2))
    assert not stream_token_is_valid(token, sid, now=time.time() + 121)

    call = Call.objects.get()
    assert (call.call_sid, call.direction, call.from_number, call.to_number) == (
        sid, Direction.INBOUND, KNOWN_NUMBER, "+16025550000",
    )  # fmt: skip
    assert call.customer == known_customer
    assert call.status == CallStatus.RINGING and call.error == ""
    known_customer.refresh_from_db()
    assert known_customer.last_contact_at == call.started_at


def test_a_customer_is_also_known_by_another_of_their_numbers(twilio_post, known_customer):
    twilio_post("voice:incoming", incoming_params(call_sid(1), from_number="+14805550177"))
    assert Call.objects.get().customer == known_customer


@pytest.mark.parametrize("caller", ["+15205550123", "anonymous", "+266696687", ""])
def test_unknown_and_anonymous_callers_get_the_agent_without_a_customer(twilio_post, known_customer, caller):
    root = twiml(twilio_post("voice:incoming", incoming_params(call_sid(3), from_number=caller)))
    assert root[0].tag == "Connect"
    call = Call.objects.get()
    assert call.customer is None and call.from_number == caller


def test_a_retried_incoming_webhook_records_the_call_once(twilio_post, known_customer):
    for _ in range(2):
        twiml(twilio_post("voice:incoming", incoming_params(call_sid(1))))
    assert Call.objects.count() == 1


# --------------------------------------------------------------------------- signatures


@pytest.mark.parametrize("name", [
    "voice:incoming", "voice:status", "voice:fallback", "voice:transfer_result", "voice:message",
    "voice:message_transcript",
])  # fmt: skip
def test_every_webhook_refuses_a_forged_or_missing_signature(twilio_post, name):
    params = {
        **incoming_params(call_sid(9)),
        "CallStatus": "completed",
        "DialCallStatus": "completed",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "TranscriptionText": "call me",
    }
    forged = twilio_signature(PUBLIC_BASE_URL + reverse(name), params, token="not-the-auth-token")
    for signature in (forged, None, "", "garbage=="):
        response = twilio_post(name, params, signature=signature)
        assert response.status_code == 403, (name, signature)
    assert not Call.objects.exists() and not CallbackRequest.objects.exists() and not Turn.objects.exists()


def test_a_signature_over_other_parameters_is_refused(client, twilio_webhook_settings):
    params = incoming_params(call_sid(1))
    path = reverse("voice:incoming")
    signature = twilio_signature(PUBLIC_BASE_URL + path, {**params, "From": "+15205550000"})
    response = client.post(path, urlencode(params), content_type="application/x-www-form-urlencoded",
                           headers={"X-Twilio-Signature": signature})  # fmt: skip
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_signature_computed_on_another_host_is_refused(twilio_post):
    path = reverse("voice:incoming")
    for other in ("https://attacker.example.net", "http://crm.example.com", "https://crm.example.com:8443"):
        response = twilio_post("voice:incoming", incoming_params(call_sid(1)), signed_url=other + path)
        assert response.status_code == 403, other
    assert not Call.objects.exists()


def test_behind_a_proxy_the_public_url_counts_not_the_host_header(twilio_post, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "10.0.0.5"]
    response = twilio_post("voice:incoming", incoming_params(call_sid(1)), host="10.0.0.5:8000")
    assert twiml(response)[0].tag == "Connect"
    # ...and a signature over the internal address the request really came to is refused.
    internal = "http://10.0.0.5:8000" + reverse("voice:incoming")
    refused = twilio_post("voice:incoming", incoming_params(call_sid(2)), host="10.0.0.5:8000", signed_url=internal)
    assert refused.status_code == 403
    assert list(Call.objects.values_list("call_sid", flat=True)) == [call_sid(1)]


def test_a_trailing_slash_on_public_base_url_makes_no_difference(twilio_post, settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL + "/"
    assert twiml(twilio_post("voice:incoming", incoming_params(call_sid(1))))[0].tag == "Connect"


def test_without_an_auth_token_every_webhook_is_refused(twilio_post, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    params = incoming_params(call_sid(1))
    empty_token_signature = twilio_signature(PUBLIC_BASE_URL + reverse("voice:incoming"), params, token="")
    assert twilio_post("voice:incoming", params, signature=empty_token_signature).status_code == 403
    assert twilio_post("voice:incoming", params).status_code == 403
    assert not Call.objects.exists()


def test_webhooks_answer_only_post(client, twilio_webhook_settings):
    assert client.get(reverse("voice:incoming")).status_code == 405
    assert not Call.objects.exists()


def test_signature_checks_in_the_provider(settings, twilio_webhook_settings):
    url = "https://crm.example.com/voice/status/?a=1"
    params = {"CallSid": call_sid(1), "CallStatus": "ringing"}
    assert form_signature_is_valid(url, params, twilio_signature(url, params))
    assert not form_signature_is_valid(url, {**params, "CallStatus": "completed"}, twilio_signature(url, params))
    assert not form_signature_is_valid(url, params, None)

    stream_url = "wss://crm.example.com/ws/voice/"
    assert websocket_signature_is_valid(stream_url, twilio_signature(stream_url))
    # Twilio signs the wss URL without a port: a URL given with one still matches.
    assert websocket_signature_is_valid("wss://crm.example.com:443/ws/voice/", twilio_signature(stream_url))
    assert not websocket_signature_is_valid(stream_url, twilio_signature("wss://other.example.com/ws/voice/"))
    assert not websocket_signature_is_valid("wss://crm.example.com:99999/ws/voice/", "x")
    settings.TWILIO_AUTH_TOKEN = ""
    assert not websocket_signature_is_valid(stream_url, twilio_signature(stream_url, token=""))


# --------------------------------------------------------------------------- fallbacks


def test_without_a_model_key_the_offline_agent_takes_the_call(twilio_post, settings):
    settings.OPENAI_API_KEY = ""
    root = twiml(twilio_post("voice:incoming", incoming_params(call_sid(6))))
    (connect,) = root
    assert connect.tag == "Connect" and connect[0].tag == "Stream"
    assert not Call.objects.get().error


def test_without_agent_keys_the_caller_is_apologised_to_and_transferred(twilio_post, settings, known_customer,
                                                                         open_now):
    settings.DEEPGRAM_API_KEY = ""
    set_transfer_phone("(602) 555-0199")
    sid = call_sid(4)
    root = twiml(twilio_post("voice:incoming", incoming_params(sid)))

    say, dial = root
    assert say.tag == "Say" and "Sonoran Motors Service" in say.text and "not available" in say.text
    assert dial.tag == "Dial" and dial.text == TRANSFER_NUMBER and dial.get("timeout") == "20"
    action = urlsplit(dial.get("action"))
    assert f"{action.scheme}://{action.netloc}{action.path}" == PUBLIC_BASE_URL + reverse("voice:transfer_result")
    assert parse_qs(action.query) == {"to": [TRANSFER_NUMBER]}

    twiml(twilio_post("voice:incoming", incoming_params(sid)))  # Twilio retries: still one record, one note
    call = Call.objects.get()
    assert call.customer == known_customer
    assert "DEEPGRAM_API_KEY" in call.error and "OPENAI_API_KEY" not in call.error
    (note,) = call.turns.all()
    assert note.speaker == Speaker.SYSTEM and "not configured" in note.text


def test_without_agent_keys_or_a_transfer_number_a_message_is_taken(twilio_post, settings):
    settings.DEEPGRAM_API_KEY = ""
    set_transfer_phone("")
    root = twiml(twilio_post("voice:incoming", incoming_params(call_sid(5))))

    say, record, goodbye, hangup = root
    assert say.tag == "Say" and "leave your name and a short message after the tone" in say.text
    assert record.tag == "Record"
    assert record.get("action") == PUBLIC_BASE_URL + reverse("voice:message")
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == PUBLIC_BASE_URL + reverse("voice:message_transcript")
    assert record.get("playBeep") == "true" and record.get("maxLength") == "120"
    assert goodbye.tag == "Say" and hangup.tag == "Hangup"
    assert "DEEPGRAM_API_KEY" in Call.objects.get().error


def test_the_fallback_url_apologises_and_transfers(twilio_post, known_customer, open_now):
    set_transfer_phone(TRANSFER_NUMBER)
    params = {**incoming_params(call_sid(6)), "ErrorCode": "11200", "ErrorUrl": PUBLIC_BASE_URL + "/voice/incoming/"}
    root = twiml(twilio_post("voice:fallback", params))
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root[1].text == TRANSFER_NUMBER
    call = Call.objects.get()
    assert call.customer == known_customer and call.direction == Direction.INBOUND
    assert "fallback URL (error 11200)" in call.error


def test_the_fallback_url_takes_a_message_when_there_is_nobody_to_transfer_to(twilio_post, open_now):
    set_transfer_phone("")
    root = twiml(twilio_post("voice:fallback", incoming_params(call_sid(7))))
    assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]


def test_outside_opening_hours_the_fallback_takes_a_message_instead_of_ringing(twilio_post, settings):
    settings.DEEPGRAM_API_KEY = ""
    set_transfer_phone(TRANSFER_NUMBER)  # no opening hours at all: closed
    for hook in ("voice:incoming", "voice:fallback"):
        root = twiml(twilio_post(hook, incoming_params(call_sid(8))))
        assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]
        assert "leave your name and a short message" in root[0].text


# --------------------------------------------------------------------------- status callbacks


def status_params(sid: str, status: str, **extra) -> dict:
    return {"CallSid": sid, "CallStatus": status, "Direction": "inbound", "From": KNOWN_NUMBER,
            "To": "+16025550000", **extra}  # fmt: skip


def test_status_callbacks_in_order(twilio_post):
    sid = call_sid(1)
    twilio_post("voice:incoming", incoming_params(sid))
    for status in ("ringing", "in-progress"):
        response = twilio_post("voice:status", status_params(sid, status))
        assert response.status_code == 204
        assert Call.objects.get().status == status
    assert Call.objects.get().ended_at is None
    response = twilio_post("voice:status", status_params(sid, "completed", CallDuration="42",
                                                          Timestamp="Sat, 21 Nov 2026 21:40:00 +0000"))  # fmt: skip
    assert response.status_code == 204
    call = Call.objects.get()
    assert call.status == CallStatus.COMPLETED and call.duration_seconds == 42
    assert call.ended_at.isoformat() == "2026-11-21T21:40:00+00:00"


def test_status_callbacks_out_of_order_never_move_an_ended_call_back(twilio_post):
    sid = call_sid(1)
    twilio_post("voice:status", status_params(sid, "completed", CallDuration="30"))
    ended_at = Call.objects.get().ended_at
    for status in ("in-progress", "ringing", "busy"):
        assert twilio_post("voice:status", status_params(sid, status)).status_code == 204
    call = Call.objects.get()
    assert call.status == CallStatus.COMPLETED and call.ended_at == ended_at and call.duration_seconds == 30


def test_a_status_for_an_unknown_call_creates_a_minimal_one(twilio_post):
    sid = call_sid(8)
    params = {"CallSid": sid, "CallStatus": "no-answer", "Direction": "outbound-api", "To": KNOWN_NUMBER,
              "From": "+16025550000"}  # fmt: skip
    assert twilio_post("voice:status", params).status_code == 204
    call = Call.objects.get()
    assert (call.call_sid, call.direction, call.status) == (sid, Direction.OUTBOUND, CallStatus.NO_ANSWER)
    assert call.ended_at is not None and call.to_number == KNOWN_NUMBER


@pytest.mark.parametrize("params, message", [
    ({"CallStatus": "exploded"}, "Unknown call status"),
    ({"CallStatus": ""}, "CallStatus is missing"),
    ({"CallStatus": "completed", "CallDuration": "ten"}, "whole number"),
    ({"CallStatus": "completed", "CallDuration": "-3"}, "whole number"),
    ({"CallStatus": "ringing", "CallSid": ""}, "CallSid is missing"),
    ({"CallStatus": "ringing", "CallSid": "CA<script>"}, "not a Twilio call SID"),
])  # fmt: skip
def test_bad_status_callbacks_are_400_and_change_nothing(twilio_post, params, message):
    response = twilio_post("voice:status", {"CallSid": call_sid(1), **params})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Call.objects.exists()


# --------------------------------------------------------------------------- transfers and messages


def test_an_answered_transfer_ends_the_call_as_transferred(twilio_post):
    sid = call_sid(1)
    twilio_post("voice:incoming", incoming_params(sid))
    params = {"CallSid": sid, "DialCallStatus": "completed", "DialCallSid": call_sid(99), "DialCallDuration": "65"}
    root = twiml(twilio_post("voice:transfer_result", params, query={"to": TRANSFER_NUMBER}))
    assert len(root) == 0  # an empty <Response/>
    call = Call.objects.get()
    assert call.outcome == Outcome.TRANSFERRED and call.transfer_target == TRANSFER_NUMBER
    assert call.ended_at is not None


def test_the_transfer_number_in_the_action_url_is_covered_by_the_signature(twilio_post):
    sid = call_sid(1)
    params = {"CallSid": sid, "DialCallStatus": "completed"}
    signed_for = PUBLIC_BASE_URL + reverse("voice:transfer_result") + "?to=%2B16025550199"
    response = twilio_post("voice:transfer_result", params, query={"to": "+19995550000"}, signed_url=signed_for)
    assert response.status_code == 403
    assert not Call.objects.exists()


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed"])
def test_an_unanswered_transfer_takes_a_message(twilio_post, dial_status):
    sid = call_sid(1)
    twilio_post("voice:incoming", incoming_params(sid))
    root = twiml(twilio_post("voice:transfer_result", {"CallSid": sid, "DialCallStatus": dial_status},
                             query={"to": TRANSFER_NUMBER}))  # fmt: skip
    say, record, _, _ = root
    assert say.text == (
        "Sorry, nobody could take your call right now. Please leave your name and a short message after the tone, "
        "and we will call you back."
    )
    assert record.get("action") == PUBLIC_BASE_URL + reverse("voice:message")
    call = Call.objects.get()
    assert call.outcome == Outcome.IN_PROGRESS
    assert dial_status in call.turns.get(speaker=Speaker.SYSTEM).text


def test_a_transfer_result_without_a_dial_status_is_400(twilio_post):
    response = twilio_post("voice:transfer_result", {"CallSid": call_sid(1), "DialCallStatus": "sideways"})
    assert response.status_code == 400 and not Call.objects.exists()


def test_a_message_and_its_transcript_make_a_callback_request_in_the_admin(twilio_post, known_customer, admin_client):
    sid = call_sid(1)
    twilio_post("voice:incoming", incoming_params(sid))
    recording = f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE{'a' * 32}"
    left = {**incoming_params(sid), "RecordingUrl": recording, "RecordingDuration": "14", "RecordingSid": "RE1"}
    root = twiml(twilio_post("voice:message", left))
    assert [child.tag for child in root] == ["Say", "Hangup"] and "call you back" in root[0].text

    callback = CallbackRequest.objects.get()
    assert callback.call.call_sid == sid and callback.customer == known_customer
    assert callback.phone == KNOWN_NUMBER and callback.recording_url == recording and callback.message == ""
    call = Call.objects.get()
    assert call.outcome == Outcome.MESSAGE_TAKEN and call.ended_at is not None

    transcript = {**incoming_params(sid), "RecordingUrl": recording, "TranscriptionStatus": "completed",
                  "TranscriptionText": "Hi, this is Dana, please call me about my brakes."}  # fmt: skip
    assert twilio_post("voice:message_transcript", transcript).status_code == 204
    callback.refresh_from_db()
    assert callback.message == "Hi, this is Dana, please call me about my brakes."

    page = admin_client.get(reverse("admin:voice_callbackrequest_changelist")).content.decode()
    assert "Hi, this is Dana, please call me about my brakes." in page and "Dana Whitfield" in page
    call_page = admin_client.get(reverse("admin:voice_call_change", args=[call.pk])).content.decode()
    assert "Hi, this is Dana" in call_page and "message taken" in call_page


def test_a_transcript_before_its_recording_webhook_still_makes_one_request(twilio_post):
    sid, recording = call_sid(2), "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2"
    twilio_post("voice:message_transcript", {"CallSid": sid, "From": "+15205550123", "RecordingUrl": recording,
                                             "TranscriptionText": "call me back"})  # fmt: skip
    twilio_post("voice:message", {"CallSid": sid, "From": "+15205550123", "RecordingUrl": recording})
    twilio_post("voice:message", {"CallSid": sid, "From": "+15205550123", "RecordingUrl": recording})  # a retry
    callback = CallbackRequest.objects.get()
    assert callback.message == "call me back" and callback.phone == "+15205550123" and callback.customer is None


def test_a_failed_transcription_says_so(twilio_post):
    sid, recording = call_sid(2), "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2"
    twilio_post("voice:message", {"CallSid": sid, "From": "+15205550123", "RecordingUrl": recording})
    twilio_post("voice:message_transcript", {"CallSid": sid, "RecordingUrl": recording,
                                             "TranscriptionStatus": "failed"})  # fmt: skip
    assert "could not transcribe" in CallbackRequest.objects.get().message


@pytest.mark.parametrize("name, params", [
    ("voice:message", {"CallSid": call_sid(1), "RecordingUrl": "javascript:alert(1)"}),
    ("voice:message", {"RecordingUrl": "https://api.twilio.com/r/RE1"}),
    ("voice:message_transcript", {"CallSid": call_sid(1), "TranscriptionText": "hello"}),
])  # fmt: skip
def test_bad_message_webhooks_are_400(twilio_post, name, params):
    assert twilio_post(name, params).status_code == 400
    assert not CallbackRequest.objects.exists() and not Call.objects.exists()


# --------------------------------------------------------------------------- the REST wrapper


@pytest.fixture
def twilio_rest(fake_twilio, settings):
    settings.TWILIO_ACCOUNT_SID = fake_twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = fake_twilio.auth_token
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url + "/"
    return fake_twilio


def test_hang_up_and_update_twiml_reach_twilio(twilio_rest):
    live = twilio_rest.add_call()
    calls = TwilioCalls()
    calls.update_twiml(live.sid, "<Response><Say>One moment.</Say></Response>")
    calls.hang_up(live.sid)
    assert [update.params for update in twilio_rest.updates] == [
        {"Twiml": "<Response><Say>One moment.</Say></Response>"},
        {"Status": "completed"},
    ]
    assert live.status == "completed"


def test_rest_errors_become_twilio_errors_without_the_token(twilio_rest):
    calls = TwilioCalls()
    with pytest.raises(TwilioError) as missing:
        calls.hang_up("CA" + "0" * 32)
    assert missing.value.status == 404 and "hang up" in missing.value.message

    finished = twilio_rest.add_call(status="completed")
    with pytest.raises(TwilioError) as not_live:
        calls.update_twiml(finished.sid, "<Response/>")
    assert not_live.value.code == 21220
    assert twilio_rest.auth_token not in not_live.value.message


def test_check_reports_reachable_or_why_not(twilio_rest, settings):
    ok, detail = TwilioCalls().check()
    assert ok and twilio_rest.account_sid[-4:] in detail and "active" in detail

    settings.TWILIO_AUTH_TOKEN = "wrong-token-" + "0" * 20
    ok, detail = TwilioCalls().check()
    assert not ok and "refused" in detail and "wrong-token" not in detail

    twilio_rest.fail_next(1, 503, code=20503, message="Service Unavailable")
    settings.TWILIO_AUTH_TOKEN = twilio_rest.auth_token
    ok, detail = TwilioCalls().check()
    assert not ok and "503" in detail

    settings.TWILIO_AUTH_TOKEN = ""
    assert TwilioCalls().check() == (False, "not configured (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are empty)")
    with pytest.raises(TwilioError):
        TwilioCalls().hang_up(call_sid(1))


def test_an_unreachable_twilio_is_a_twilio_error(settings, unused_tcp_port):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "2" * 32, AUTH_TOKEN
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{unused_tcp_port}"
    with pytest.raises(TwilioError) as error:
        TwilioCalls(timeout=2).hang_up(call_sid(1))
    assert "did not answer" in error.value.message and AUTH_TOKEN not in error.value.message
    ok, detail = TwilioCalls(timeout=2).check()
    assert not ok and "did not answer" in detail


# --------------------------------------------------------------------------- calls that end without an outcome


@pytest.fixture
def hung_up_during_the_transfer(twilio_post):
    """The agent handed over, the caller hung up while the transfer rang: Twilio reports, nobody says how it ended."""

    def call(sid: str) -> None:
        twilio_post("voice:incoming", incoming_params(sid))
        twilio_post("voice:transfer_result", {"CallSid": sid, "DialCallStatus": "canceled"},
                    query={"to": TRANSFER_NUMBER})  # fmt: skip
        twilio_post("voice:status", status_params(sid, "completed", CallDuration="31"))

    return call


def test_a_call_that_ended_without_an_outcome_is_settled_from_its_status(hung_up_during_the_transfer):
    hung_up_during_the_transfer(call_sid(1))
    call = Call.objects.get()
    assert call.outcome == Outcome.IN_PROGRESS and call.ended_at is not None

    assert services.calls_settle_unfinished(now=call.ended_at + timedelta(seconds=30)) == 0  # may still be written
    assert Call.objects.get().outcome == Outcome.IN_PROGRESS

    assert services.calls_settle_unfinished(now=call.ended_at + timedelta(minutes=3)) == 1
    call = Call.objects.get()
    assert call.outcome == Outcome.CALLER_HUNG_UP
    assert call.end_reason == "Ended on Twilio's side (completed) before an outcome was recorded"
    assert services.calls_settle_unfinished(now=call.ended_at + timedelta(minutes=9)) == 0  # once only


def test_settling_leaves_recorded_outcomes_and_marks_failed_calls_as_errors(twilio_post):
    done, failed, unanswered, live = call_sid(2), call_sid(3), call_sid(4), call_sid(5)
    for sid in (done, failed, unanswered, live):
        twilio_post("voice:incoming", incoming_params(sid))
    services.call_finish(call_sid=done, outcome=Outcome.COMPLETED, reason="the agent said goodbye")
    twilio_post("voice:status", status_params(done, "completed"))
    twilio_post("voice:status", status_params(failed, "failed"))
    twilio_post("voice:status", status_params(unanswered, "no-answer"))
    twilio_post("voice:status", status_params(live, "in-progress"))

    assert services.calls_settle_unfinished(now=timezone.now() + timedelta(hours=1)) == 2
    outcomes = dict(Call.objects.values_list("call_sid", "outcome"))
    assert outcomes == {done: Outcome.COMPLETED, failed: Outcome.ERROR, unanswered: Outcome.NO_RESPONSE,
                        live: Outcome.IN_PROGRESS}  # fmt: skip


def test_beat_settles_unfinished_calls_every_five_minutes(hung_up_during_the_transfer):
    task = PeriodicTask.objects.get(task="voice.tasks.settle_unfinished_calls")
    assert task.enabled and (task.interval.every, task.interval.period) == (5, "minutes")
    hung_up_during_the_transfer(call_sid(5))
    Call.objects.update(ended_at=timezone.now() - timedelta(minutes=10))
    assert settle_unfinished_calls.apply().get() == "settled 1 call(s)"
    assert Call.objects.get().outcome == Outcome.CALLER_HUNG_UP
