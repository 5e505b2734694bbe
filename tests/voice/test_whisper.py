"""The whisper on a transfer: the advisor who answers hears the agent's words about the caller first; when nobody
can be rung, the message the caller leaves carries the same words."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from channels.db import database_sync_to_async
from django.db import connections
from django.urls import reverse

from voice import callflow, services
from voice.models import Call, CallbackRequest, Outcome
from voice.session import handover

from .conftest import KNOWN_NUMBER, PUBLIC_BASE_URL, call_sid, twilio_signature

TRANSFER_NUMBER = "+16025550199"
WHISPER = "Dana Whitfield, a customer, about the 2019 Honda Accord. Wants a quote for front brakes."


def twiml(text: str | bytes) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


def whisper_query(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def register(sid: str) -> Call:
    return services.call_register_inbound(call_sid=sid, from_number=KNOWN_NUMBER, to_number="+16025550000")


# --------------------------------------------------------------------------- the TwiML of a hand-over


@pytest.mark.usefixtures("twilio_webhook_settings")
def test_a_transfer_rings_the_number_with_a_signed_whisper_url_the_caller_does_not_hear():
    sid = call_sid(1)
    root = twiml(handover.handover_twiml(TRANSFER_NUMBER, call_sid=sid))

    (dial,) = root  # nothing is said to the caller
    assert dial.tag == "Dial" and dial.get("timeout") == "20"
    action = urlsplit(dial.get("action"))
    assert f"{action.scheme}://{action.netloc}{action.path}" == PUBLIC_BASE_URL + reverse("voice:transfer_result")
    assert parse_qs(action.query) == {"to": [TRANSFER_NUMBER]}
    (number,) = dial
    assert number.tag == "Number" and number.text == TRANSFER_NUMBER
    url = number.get("url")
    assert url.startswith(PUBLIC_BASE_URL + reverse("voice:whisper") + "?")
    assert whisper_query(url) == {"call": [sid]}


@pytest.mark.usefixtures("twilio_webhook_settings")
def test_twilio_s_own_voice_still_speaks_first_when_speech_failed():
    root = twiml(handover.handover_twiml(TRANSFER_NUMBER, "Your car is ready at five.", call_sid=call_sid(1)))
    say, dial = root
    assert say.tag == "Say" and say.text == "Your car is ready at five."
    assert dial[0].tag == "Number" and dial[0].get("url")


@pytest.mark.usefixtures("twilio_webhook_settings")
def test_without_a_number_the_caller_leaves_a_message():
    root = twiml(handover.handover_twiml("", call_sid=call_sid(1)))
    assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]


# --------------------------------------------------------------------------- the whisper webhook


@pytest.mark.django_db
def test_the_advisor_hears_the_call_s_hand_over_summary_before_being_connected(twilio_post):
    sid = call_sid(1)
    register(sid)
    services.call_set_handover_summary(call_sid=sid, summary=f"  {WHISPER}\n")
    # Twilio posts the advisor's leg; the handed-over call is named in the URL.
    response = twilio_post("voice:whisper", {"CallSid": call_sid(90), "ParentCallSid": sid, "To": TRANSFER_NUMBER},
                           query={"call": sid})  # fmt: skip
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    (say,) = twiml(response.content)  # only <Say>: a <Hangup> would refuse the transfer
    assert say.tag == "Say" and say.text == WHISPER
    assert Call.objects.get().handover_summary == WHISPER


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"call": call_sid(55)}, {"call": ""}, {"call": "CA<script>"}, None])
def test_an_unknown_call_gets_a_neutral_whisper_never_an_error(twilio_post, query):
    register(call_sid(1))
    services.call_set_handover_summary(call_sid=call_sid(1), summary=WHISPER)
    response = twilio_post("voice:whisper", {"CallSid": call_sid(90)}, query=query)
    (say,) = twiml(response.content)
    assert say.text == callflow.NEUTRAL_WHISPER


@pytest.mark.django_db
def test_a_call_handed_over_without_words_gets_the_neutral_whisper(twilio_post):
    register(call_sid(1))
    (say,) = twiml(twilio_post("voice:whisper", {"CallSid": call_sid(90)}, query={"call": call_sid(1)}).content)
    assert say.text == callflow.NEUTRAL_WHISPER


@pytest.mark.django_db
def test_the_whisper_refuses_a_bad_signature_and_one_made_for_another_call(twilio_post, client):
    sid = call_sid(1)
    register(sid)
    services.call_set_handover_summary(call_sid=sid, summary=WHISPER)
    params = {"CallSid": call_sid(90)}
    for signature in (None, "", "garbage==", twilio_signature(PUBLIC_BASE_URL + reverse("voice:whisper"), params,
                                                              token="not-the-auth-token")):  # fmt: skip
        response = twilio_post("voice:whisper", params, query={"call": sid}, signature=signature)
        assert response.status_code == 403
        assert WHISPER not in response.content.decode()
    # The CallSid in the query is signed too: a signature for another call's whisper does not read this one.
    other = PUBLIC_BASE_URL + reverse("voice:whisper") + f"?call={call_sid(2)}"
    assert twilio_post("voice:whisper", params, query={"call": sid}, signed_url=other).status_code == 403
    assert client.get(reverse("voice:whisper"), {"call": sid}).status_code == 405


# --------------------------------------------------------------------------- the hand-over through Twilio's REST API


@pytest.fixture
async def closes_its_connections():
    """The database thread of an async test keeps its connection; closed, the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def twilio_rest(fake_twilio, settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_ACCOUNT_SID = fake_twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = fake_twilio.auth_token
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url + "/"
    return fake_twilio


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("closes_its_connections")
async def test_transfer_keeps_the_whisper_on_the_call_and_rings_with_its_url(twilio_rest):
    live, quiet, message = twilio_rest.add_call(), twilio_rest.add_call(), twilio_rest.add_call()
    for sid in (live.sid, quiet.sid, message.sid):
        await database_sync_to_async(register)(sid)

    await handover.transfer(live.sid, TRANSFER_NUMBER, whisper=WHISPER)
    await handover.transfer(quiet.sid, TRANSFER_NUMBER)  # the old way of calling it still works
    await handover.transfer(message.sid, "", whisper=WHISPER)

    updates = {update.call_sid: update.params["Twiml"] for update in twilio_rest.updates}
    (dial,) = twiml(updates[live.sid])
    assert dial[0].text == TRANSFER_NUMBER and whisper_query(dial[0].get("url")) == {"call": [live.sid]}
    assert WHISPER not in updates[live.sid]  # the caller's TwiML never carries the advisor's words
    (dial,) = twiml(updates[quiet.sid])
    assert whisper_query(dial[0].get("url")) == {"call": [quiet.sid]}
    assert twiml(updates[message.sid])[1].tag == "Record"

    kept = await database_sync_to_async(lambda: dict(Call.objects.values_list("call_sid", "handover_summary")))()
    assert kept == {live.sid: WHISPER, quiet.sid: "", message.sid: WHISPER}


# --------------------------------------------------------------------------- when nobody is rung: a message


@pytest.mark.django_db
@pytest.mark.parametrize("rang", [False, True], ids=["no number to ring", "transfer not answered"])
def test_the_message_left_instead_carries_the_same_words(twilio_post, admin_client, known_customer, rang):
    sid = call_sid(1)
    register(sid)
    services.call_set_handover_summary(call_sid=sid, summary=WHISPER)
    if rang:
        twilio_post("voice:transfer_result", {"CallSid": sid, "DialCallStatus": "no-answer"},
                    query={"to": TRANSFER_NUMBER})  # fmt: skip
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    twilio_post("voice:message", {"CallSid": sid, "From": KNOWN_NUMBER, "RecordingUrl": recording})

    callback = CallbackRequest.objects.get()
    assert callback.handover_summary == WHISPER and callback.message == ""
    assert Call.objects.get().outcome == Outcome.MESSAGE_TAKEN
    # Until the transcript comes, the advisors' list shows what the agent said; the page shows it always.
    listing = admin_client.get(reverse("admin:voice_callbackrequest_changelist")).content.decode()
    assert "Phone agent: Dana Whitfield, a customer" in listing
    twilio_post("voice:message_transcript", {"CallSid": sid, "RecordingUrl": recording,
                                              "TranscriptionText": "Please call me back about brakes."})  # fmt: skip
    page = admin_client.get(reverse("admin:voice_callbackrequest_change", args=[callback.pk])).content.decode()
    assert WHISPER in page and "Please call me back about brakes." in page
    callback.refresh_from_db()
    assert callback.handover_summary == WHISPER and callback.message == "Please call me back about brakes."
