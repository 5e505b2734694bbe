"""Reminder calls end to end: Twilio answers a call we placed (the signed answer webhook) -> the media stream (the
peer) -> Daphne -> the session in reminder mode -> the offline agent or a scripted model -> our real tools over the
real database; Twilio's answering-machine result comes to its own signed webhook during the call and reaches the
session through the channel layer; a hang-up goes to the Twilio stand-in. Afterwards the CRM holds what the call
did. Also the webhooks alone, and a customer who calls back after a voicemail."""

from __future__ import annotations

import json
import time as clock
from datetime import datetime, time, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from agent import reminders
from agent.offline import phrases
from crm import services as crm_services
from crm.models import ConsentChange, ConsentSource, Customer
from crm.selectors import dealership_profile
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import Appointment, AppointmentEvent, AppointmentStatus, Bay, OpeningHours, ServiceType
from standins import Reply
from standins._background import WAIT_SECONDS
from tests.standins.fixtures import fake_deepgram, fake_openai  # noqa: F401
from tests.voice.conftest import PUBLIC_BASE_URL, twilio_signature
from tests.voice.test_call_flow import hears, settle
from voice import services as voice_services
from voice.models import Call, CallResult, Direction, Outcome, Purpose, Speaker

pytestmark = [pytest.mark.django_db(transaction=True)]

ZONE = ZoneInfo("America/Phoenix")
DEALERSHIP = "Saguaro Motors"
SHOP_NUMBER = "+16025550100"
MAIN_PHONE = "+16025550123"
CUSTOMER_NUMBER = "+16025550111"
GREETING = "Thanks for calling Saguaro Motors service."
QUESTION = reminders.CONFIRM_QUESTION


@pytest.fixture(autouse=True)
def calls_settled(db):
    """The test ends once every ended call is summarized and the server's other work is idle, so the database is
    not flushed under a call that is still writing."""
    yield
    deadline = clock.monotonic() + WAIT_SECONDS
    while clock.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND state NOT IN ('idle')")  # fmt: skip
            busy = cursor.fetchone()[0]
        if not busy and not Call.objects.exclude(outcome="").filter(result="").exists():
            return
        clock.sleep(0.05)


@pytest.fixture
def shop(db, settings):
    settings.TIME_ZONE = "America/Phoenix"
    settings.SCHEDULING_SLOT_MINUTES = 15
    settings.SCHEDULING_MIN_LEAD_MINUTES = 60
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = settings.GOOGLE_CALENDAR_ID = ""
    settings.REMINDER_VOICEMAIL_ON = ("machine_end_beep",)
    profile = dealership_profile()
    profile.name, profile.greeting, profile.main_phone = DEALERSHIP, GREETING, MAIN_PHONE
    profile.transfer_phone = "+16025550101"
    profile.save()
    for weekday in range(7):
        OpeningHours.objects.create(weekday=weekday, opens=time(7, 0), closes=time(18, 0))
    for n in (1, 2):
        Bay.objects.create(name=f"Bay {n}")
    return ServiceType.objects.create(name="Oil change", op_code="LOF", duration_minutes=60, price_min=49,
                                      price_max=89)  # fmt: skip


def tomorrow():
    return timezone.now().astimezone(ZONE).date() + timedelta(days=1)


@pytest.fixture
def booked(shop):
    """Dana and her Civic, with tomorrow's 10 AM oil change: the appointment the reminder is about."""
    customer = crm_services.customer_create(first_name="Dana", last_name="Whitfield", phone=CUSTOMER_NUMBER)
    crm_services.customer_set_consent(customer=customer, kind="reminder_calls", value=True, source="staff")
    civic = crm_services.vehicle_create(customer=customer, year=2019, make="Honda", model="Civic", plate="CIV1234")
    start = datetime.combine(tomorrow(), time(10, 0), tzinfo=ZONE)
    appointment = scheduling_services.appointment_book(customer=customer, vehicle=civic, service_types=[shop],
                                                       start=start, actor=Actor.system())  # fmt: skip
    return appointment


def placed_call(live, appointment) -> str:
    """What the dispatcher does: Twilio creates the call, the CallSid is stored with the appointment."""
    call_sid = live.twilio.add_call(to=CUSTOMER_NUMBER, from_=SHOP_NUMBER, direction="outbound-api",
                                    status="ringing").sid  # fmt: skip
    voice_services.call_register_outbound(call_sid=call_sid, to_number=CUSTOMER_NUMBER, from_number=SHOP_NUMBER,
                                          purpose=Purpose.REMINDER, customer=appointment.customer,
                                          appointment_id=appointment.pk)  # fmt: skip
    return call_sid


def post_signed(client, name: str, params: dict, *, token: str, query: str = ""):
    path = reverse(name) + (f"?{query}" if query else "")
    signature = twilio_signature(PUBLIC_BASE_URL + path, params, token=token)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def answered(live, call_sid: str) -> dict:
    """The customer picks up: Twilio fetches the answer URL. Returns the <Parameter>s of the TwiML's <Stream>."""
    live.twilio.set_status(call_sid, "in-progress")
    params = {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CUSTOMER_NUMBER, "AccountSid": live.twilio.account_sid,
              "Direction": "outbound-api", "CallStatus": "in-progress"}  # fmt: skip
    response = post_signed(live.client, "voice:reminder_answer", params, token=live.twilio.auth_token,
                           query="reminder=7")  # fmt: skip
    assert response.status_code == 200, response.content
    stream = ElementTree.fromstring(response.content).find("./Connect/Stream")
    assert stream is not None, response.content
    return {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


def machine_detected(live, call_sid: str, answered_by: str) -> None:
    """Twilio's asynchronous answering-machine result for the call."""
    params = {"CallSid": call_sid, "AccountSid": live.twilio.account_sid, "AnsweredBy": answered_by,
              "MachineDetectionDuration": "4100"}  # fmt: skip
    response = post_signed(live.client, "voice:machine_detection", params, token=live.twilio.auth_token)
    assert response.status_code == 204, response.content


async def reminder_call(live, appointment) -> tuple[str, dict]:
    call_sid = await sync_to_async(placed_call)(live, appointment)
    return call_sid, await sync_to_async(answered)(live, call_sid)


async def call_of(call_sid: str) -> Call:
    return await sync_to_async(Call.objects.get)(call_sid=call_sid)


async def turns_of(call_sid: str) -> list[tuple[str, str]]:
    return await sync_to_async(lambda: [(t.speaker, t.text) for t in
                                        Call.objects.get(call_sid=call_sid).turns.order_by("position")])()  # fmt: skip


async def appointment_now(appointment) -> Appointment:
    return await sync_to_async(Appointment.objects.get)(pk=appointment.pk)


def hang_ups(live, call_sid: str) -> list[dict]:
    return [u.params for u in live.twilio.updates if u.call_sid == call_sid and u.params.get("Status") == "completed"]


def heard_from(peer, start: str) -> str:
    """What the caller heard from the words ``start`` on (sentences may come as clauses: joined first)."""
    heard = " ".join(peer.heard)
    assert start in heard, f"not heard: {start!r}; heard {heard!r}"
    return heard[heard.index(start):]


def weekday_words(appointment) -> str:
    local = appointment.starts_at.astimezone(ZONE)
    return f"{local:%A}, {local:%B}"


# --------------------------------------------------------------------------- a person answers: the offline agent


@pytest.fixture
def offline(voice_live, settings):
    settings.OPENAI_API_KEY = ""  # no model: the offline agent answers
    return voice_live


async def test_the_opening_discloses_and_a_yes_confirms(offline, booked):
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await hears(peer, QUESTION)
        opening = " ".join(peer.heard)
        assert opening.startswith(f"Hello, this is the automated assistant at {DEALERSHIP}")
        assert "oil change appointment tomorrow" in opening and weekday_words(booked) in opening
        assert "at 10 AM" in opening and "2019 Honda Civic" in opening
        assert "This call may be recorded." in opening and "stop these calls" in opening
        assert GREETING not in opening, "a reminder opens with its own words, not the inbound greeting"
        await peer.say("yes I'll be there")
        await hears(peer, "your appointment is confirmed")
        await peer.say("no that's all, bye")
        await hears(peer, "goodbye")
        await peer.wait_closed()

    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.COMPLETED)
    assert (await appointment_now(booked)).status == AppointmentStatus.CONFIRMED
    event = await sync_to_async(AppointmentEvent.objects.filter(appointment=booked, action="confirmed").get)()
    assert (event.actor_kind, event.call_sid) == ("phone_agent", call_sid)
    call = await call_of(call_sid)
    assert (call.direction, call.purpose, call.appointment_id) == (Direction.OUTBOUND, Purpose.REMINDER, booked.pk)
    said = await turns_of(call_sid)
    assert said[0][0] == Speaker.AGENT and said[0][1].endswith(QUESTION)
    assert await sync_to_async(lambda: [c.kind for c in call.changes.all()])() == ["confirmed"]
    await settle(lambda: Call.objects.get(call_sid=call_sid).result == CallResult.CONFIRMED)


async def test_no_then_a_move_offers_real_openings_and_moves_after_the_read_back(offline, booked):
    later = tomorrow() + timedelta(days=2)
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await hears(peer, QUESTION)
        await peer.say("no I can't make it")
        await hears(peer, phrases.MOVE_OR_CANCEL)
        await peer.say(f"move it to {later:%B} {later.day} in the afternoon please")
        await hears(peer, "Which would you like?")
        await peer.say("the first one")
        await hears(peer, "Shall I go ahead?")
        assert (await appointment_now(booked)).starts_at == booked.starts_at, "nothing moves before the yes"
        await peer.say("yes")
        await hears(peer, "Your appointment is now")
        await peer.send_stop()

    moved = await appointment_now(booked)
    local = moved.starts_at.astimezone(ZONE)
    assert local.date() == later and 12 <= local.hour < 18, "the afternoon of the day asked for"
    call = await call_of(call_sid)
    invocations = await sync_to_async(lambda: list(call.tool_invocations.order_by("position")))()
    offered = [slot["start"] for i in invocations if i.name == "get_available_slots" for slot in i.result["slots"]]
    assert moved.starts_at in {datetime.fromisoformat(start) for start in offered}, "only a time the tool offered"
    assert [i.name for i in invocations if i.kind == "write"] == ["reschedule_appointment"]
    event = await sync_to_async(AppointmentEvent.objects.filter(appointment=booked, action="rescheduled").get)()
    assert (event.actor_kind, event.call_sid) == ("phone_agent", call_sid)


async def test_a_cancel_is_read_back_with_its_weekday_and_time_then_cancelled(offline, booked):
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await hears(peer, QUESTION)
        await peer.say("actually I need to cancel it")
        await hears(peer, "Shall I cancel it?")
        read_back = heard_from(peer, "Just to confirm")
        assert "cancel your Oil change on" in read_back and weekday_words(booked) in read_back
        assert "at 10 AM" in read_back
        assert (await appointment_now(booked)).status == AppointmentStatus.BOOKED
        await peer.say("yes cancel it")
        await hears(peer, "Your appointment is cancelled.")
        await peer.send_stop()

    assert (await appointment_now(booked)).status == AppointmentStatus.CANCELLED
    await settle(lambda: Call.objects.get(call_sid=call_sid).result == CallResult.CANCELLED)


async def test_stop_calling_sets_do_not_call_at_once_and_ends_the_call_politely(offline, booked):
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await hears(peer, QUESTION)
        asked_at = timezone.now()
        await peer.say("please stop calling me")
        await hears(peer, phrases.OPTED_OUT.split(". ")[0])
        await hears(peer, "goodbye.")
        await peer.wait_closed()

    customer = await sync_to_async(Customer.objects.get)(pk=booked.customer_id)
    assert customer.do_not_call and customer.do_not_call_source == ConsentSource.REMINDER_CALL
    assert asked_at - timedelta(seconds=5) <= customer.do_not_call_changed_at <= timezone.now()
    change = await sync_to_async(ConsentChange.objects.get)(customer=customer, kind="do_not_call")
    assert change.value and change.source == ConsentSource.REMINDER_CALL and call_sid in change.note
    assert hang_ups(offline, call_sid), "the agent hung up after its goodbye was heard"
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.COMPLETED)
    await settle(lambda: Call.objects.get(call_sid=call_sid).result == CallResult.OPTED_OUT)
    call = await call_of(call_sid)
    assert await sync_to_async(lambda: [(c.kind, c.customer_id) for c in call.changes.all()])() == [
        ("opted_out", customer.pk)]
    assert (await appointment_now(booked)).status == AppointmentStatus.BOOKED, "the appointment itself stays"


# --------------------------------------------------------------------------- a person answers: a scripted model


def conversation_requests(model) -> list:
    return [request for request in model.chat_requests if "tools" in request.body]


def tool_results(messages: list[dict]) -> list[dict]:
    """The tool results since the customer last spoke."""
    results = []
    for message in reversed(messages):
        if message["role"] == "user":
            break
        if message["role"] == "tool":
            results.insert(0, json.loads(message["content"]))
    return results


class ReminderModel:
    """A scripted model on a reminder call: confirms the appointment its prompt names on a yes, and puts the
    customer on do-not-call when asked to stop calling; anything else (the call's summary) gets plain words."""

    def __init__(self, appointment_id: int):
        self.appointment_id = appointment_id

    def __call__(self, messages: list[dict]) -> Reply:
        if not messages[0]["content"].startswith("You are the phone assistant"):
            return Reply(text="A reminder call.")
        said = next(m["content"] for m in reversed(messages) if m["role"] == "user").lower()
        results = tool_results(messages)
        if "stop calling" in said and not results:
            return Reply(tool_calls=[("stop_calling", {"said": said})])
        if "stop calling" in said:
            return Reply(text="I'm sorry for the bother. You won't hear from us again. Goodbye.",
                         tool_calls=[("end_call", {})])  # fmt: skip
        if said.startswith("yes") and not results:
            return Reply(tool_calls=[("confirm_appointment", {"appointment_id": self.appointment_id})])
        if said.startswith("yes"):
            return Reply(text="You're confirmed, see you then. Goodbye.", tool_calls=[("end_call", {})])
        return Reply(text="Sorry, could you say that again?")


async def test_the_model_hears_the_opening_and_confirms_on_a_yes(voice_live, booked):
    voice_live.openai.responder = ReminderModel(booked.pk)
    call_sid, parameters = await reminder_call(voice_live, booked)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, QUESTION)
        await peer.say("yes I'll be there")
        await hears(peer, "You're confirmed, see you then.")
        await peer.wait_closed()

    assert (await appointment_now(booked)).status == AppointmentStatus.CONFIRMED
    request = conversation_requests(voice_live.openai)[0]
    system = request.messages[0]["content"]
    assert "on a reminder call you placed" in system and f"appointment_id {booked.pk}" in system
    assert request.messages[1]["role"] == "assistant" and request.messages[1]["content"].endswith(QUESTION)
    await settle(lambda: Call.objects.get(call_sid=call_sid).result == CallResult.CONFIRMED)


async def test_the_model_puts_the_customer_on_do_not_call_and_says_goodbye(voice_live, booked):
    voice_live.openai.responder = ReminderModel(booked.pk)
    call_sid, parameters = await reminder_call(voice_live, booked)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, QUESTION)
        await peer.say("stop calling me")
        await hears(peer, "Goodbye.")
        await peer.wait_closed()

    customer = await sync_to_async(Customer.objects.get)(pk=booked.customer_id)
    assert customer.do_not_call and customer.do_not_call_source == ConsentSource.REMINDER_CALL
    assert customer.do_not_call_changed_at is not None
    assert hang_ups(voice_live, call_sid)
    await settle(lambda: Call.objects.get(call_sid=call_sid).result == CallResult.OPTED_OUT)


# --------------------------------------------------------------------------- a machine answers


async def test_a_beep_stops_the_opening_leaves_the_voicemail_once_and_hangs_up(offline, booked):
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await peer.wait_for_event("heard_start")
        await sync_to_async(machine_detected)(offline, call_sid, "machine_end_beep")
        await hears(peer, "Thank you, goodbye.")
        await peer.wait_closed()
        assert peer.clears >= 1, "the opening still playing was cleared at Twilio"
        assert QUESTION not in " ".join(peer.heard), "the opening was cut off"

    voicemail = heard_from(peer, "Hello, this is an automated reminder")
    assert voicemail.count("automated reminder") == 1, "one message"
    assert DEALERSHIP in voicemail and weekday_words(booked) in voicemail and "10 AM" in voicemail
    assert "6 0 2, 5 5 5, 0 1 2 3" in voicemail, "the main number to call back, spoken digit by digit"
    assert "Dana" not in voicemail and "Civic" not in voicemail and "oil" not in voicemail.lower()
    assert hang_ups(offline, call_sid), "hung up through Twilio's REST API"
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.VOICEMAIL)
    call = await call_of(call_sid)
    assert call.answered_by == "machine_end_beep"
    said = await turns_of(call_sid)
    notes = [text for speaker, text in said if speaker == Speaker.SYSTEM]
    assert any("machine_end_beep" in note and "voicemail" in note for note in notes)
    agent_turns = [text for speaker, text in said if speaker == Speaker.AGENT]
    assert agent_turns[-1].startswith("Hello, this is an automated reminder") and agent_turns[-1].endswith("goodbye.")
    assert sum("automated reminder" in text for text in agent_turns) == 1
    await settle(lambda: Call.objects.get(call_sid=call_sid).result == CallResult.VOICEMAIL)


@pytest.mark.parametrize("answered_by", ["machine_start", "machine_end_silence", "machine_end_other", "fax"])
async def test_other_machine_results_hang_up_without_a_message(offline, booked, answered_by):
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await peer.wait_for_event("heard_start")
        await sync_to_async(machine_detected)(offline, call_sid, answered_by)
        await peer.wait_closed()
        assert peer.clears >= 1

    assert "automated reminder" not in " ".join(peer.heard) and QUESTION not in " ".join(peer.heard)
    assert hang_ups(offline, call_sid)
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.NO_RESPONSE)
    call = await call_of(call_sid)
    assert call.answered_by == answered_by
    notes = [text for speaker, text in await turns_of(call_sid) if speaker == Speaker.SYSTEM]
    assert any(answered_by in note and "without a message" in note for note in notes)


async def test_silence_after_the_greeting_gets_the_voicemail_when_configured(offline, booked, settings):
    settings.REMINDER_VOICEMAIL_ON = ("machine_end_beep", "machine_end_silence")
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await peer.wait_for_event("heard_start")
        await sync_to_async(machine_detected)(offline, call_sid, "machine_end_silence")
        await hears(peer, "Thank you, goodbye.")
        await peer.wait_closed()

    assert heard_from(peer, "Hello, this is an automated reminder").count("automated reminder") == 1
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.VOICEMAIL)


async def test_a_person_changes_nothing_and_the_conversation_goes_on(offline, booked):
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await peer.wait_for_event("heard_start")
        await sync_to_async(machine_detected)(offline, call_sid, "human")
        await hears(peer, QUESTION)
        assert peer.clears == 0, "nothing was cut"
        await peer.say("yes")
        await hears(peer, "your appointment is confirmed")
        await peer.send_stop()

    assert not hang_ups(offline, call_sid)
    assert (await appointment_now(booked)).status == AppointmentStatus.CONFIRMED
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.CALLER_HUNG_UP)
    assert (await call_of(call_sid)).answered_by == "human"
    notes = [text for speaker, text in await turns_of(call_sid) if speaker == Speaker.SYSTEM]
    assert any("human" in note and "goes on" in note for note in notes)


async def test_unknown_changes_nothing(offline, booked):
    call_sid, parameters = await reminder_call(offline, booked)
    async with offline.peer(call_sid, parameters) as peer:
        await peer.wait_for_event("heard_start")
        await sync_to_async(machine_detected)(offline, call_sid, "unknown")
        await hears(peer, QUESTION)
        await peer.send_stop()

    assert peer.clears == 0 and not hang_ups(offline, call_sid)
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.CALLER_HUNG_UP)
    assert (await call_of(call_sid)).answered_by == "unknown"


async def test_a_detection_before_the_stream_starts_gets_the_voicemail_instead_of_the_opening(offline, booked):
    call_sid, parameters = await reminder_call(offline, booked)
    await sync_to_async(machine_detected)(offline, call_sid, "machine_end_beep")  # nobody listens yet: stored
    async with offline.peer(call_sid, parameters) as peer:
        await hears(peer, "Thank you, goodbye.")
        await peer.wait_closed()

    assert " ".join(peer.heard).startswith("Hello, this is an automated reminder"), "no opening first"
    assert hang_ups(offline, call_sid)
    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.VOICEMAIL)


# --------------------------------------------------------------------------- the customer calls back


async def test_a_customer_calling_back_after_a_voicemail_is_told_the_appointment_and_confirms(offline, booked):
    reminder_sid, parameters = await reminder_call(offline, booked)
    await sync_to_async(machine_detected)(offline, reminder_sid, "machine_end_beep")
    async with offline.peer(reminder_sid, parameters) as peer:
        await peer.wait_closed()
    await settle(lambda: Call.objects.get(call_sid=reminder_sid).outcome == Outcome.VOICEMAIL)

    call_sid, parameters = await sync_to_async(offline.incoming_call)(CUSTOMER_NUMBER)
    async with offline.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("Hi, I got your message about my appointment")
        await hears(peer, "Would you like to confirm it, move it, or cancel it?")
        told = heard_from(peer, "Yes, we called about")
        assert weekday_words(booked) in told and "10 AM" in told and "Civic" in told
        await peer.say("confirm it please")
        await hears(peer, "Shall I mark it as confirmed?")
        assert (await appointment_now(booked)).status == AppointmentStatus.BOOKED, "not before the read-back's yes"
        await peer.say("yes")
        await hears(peer, "your appointment is confirmed")
        await peer.send_stop()

    assert (await appointment_now(booked)).status == AppointmentStatus.CONFIRMED
    call = await call_of(call_sid)
    assert (call.direction, call.customer_id) == (Direction.INBOUND, booked.customer_id)


async def test_the_model_of_a_customer_calling_back_knows_the_reminders_appointment(voice_live, booked):
    reminder_sid = await sync_to_async(placed_call)(voice_live, booked)
    await sync_to_async(voice_services.call_finish)(call_sid=reminder_sid, outcome=Outcome.VOICEMAIL)
    voice_live.openai.queue_text("We called about your oil change tomorrow at 10 AM. Shall I confirm it?")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CUSTOMER_NUMBER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("you called me about my appointment")
        await hears(peer, "Shall I confirm it?")
        await peer.send_stop()

    system = conversation_requests(voice_live.openai)[0].messages[0]["content"]
    assert "The dealership called this customer lately" in system and f"appointment {booked.pk}:" in system
    assert "on a reminder call you placed" not in system, "the customer called us"


# --------------------------------------------------------------------------- the webhooks alone


@pytest.fixture
def twilio(fake_twilio, settings):  # noqa: F811
    """Webhook settings signed with the Twilio stand-in's own credentials, whose REST API takes the hang-ups."""
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_ACCOUNT_SID = fake_twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = fake_twilio.auth_token
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    settings.DEEPGRAM_API_KEY = "dg-test-key"
    settings.OPENAI_API_KEY = ""
    return fake_twilio


def answer_params(call_sid: str) -> dict:
    return {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CUSTOMER_NUMBER, "Direction": "outbound-api",
            "CallStatus": "in-progress"}  # fmt: skip


def test_the_answer_webhook_refuses_an_unsigned_request(client, twilio, booked):
    response = client.post(reverse("voice:reminder_answer"), answer_params("CA" + "1" * 32))
    assert response.status_code == 403 and not Call.objects.exists()


def test_an_answer_without_the_dispatchers_row_registers_a_reminder_to_the_customer(client, twilio, booked):
    call_sid = "CA" + "2" * 32
    response = post_signed(client, "voice:reminder_answer", answer_params(call_sid), token=twilio.auth_token,
                           query="reminder=3")  # fmt: skip
    assert response.status_code == 200
    assert ElementTree.fromstring(response.content).find("./Connect/Stream") is not None
    call = Call.objects.get(call_sid=call_sid)
    assert (call.direction, call.purpose, call.customer_id) == (Direction.OUTBOUND, Purpose.REMINDER,
                                                                booked.customer_id)  # fmt: skip
    assert call.appointment_id is None, "voice does not read the reminders' tables"


def test_an_answer_keeps_the_dispatchers_appointment(client, twilio, booked):
    call_sid = "CA" + "3" * 32
    voice_services.call_register_outbound(call_sid=call_sid, to_number=CUSTOMER_NUMBER, from_number=SHOP_NUMBER,
                                          purpose=Purpose.REMINDER, appointment_id=booked.pk)  # fmt: skip
    post_signed(client, "voice:reminder_answer", answer_params(call_sid), token=twilio.auth_token)
    call = Call.objects.get(call_sid=call_sid)
    assert (call.appointment_id, call.customer_id) == (booked.pk, booked.customer_id)


def test_with_no_speech_service_the_reminder_is_said_in_twilios_voice(client, twilio, booked, settings):
    settings.DEEPGRAM_API_KEY = ""
    call_sid = "CA" + "4" * 32
    voice_services.call_register_outbound(call_sid=call_sid, to_number=CUSTOMER_NUMBER, from_number=SHOP_NUMBER,
                                          purpose=Purpose.REMINDER, customer=booked.customer,
                                          appointment_id=booked.pk)  # fmt: skip
    response = post_signed(client, "voice:reminder_answer", answer_params(call_sid), token=twilio.auth_token)
    twiml = ElementTree.fromstring(response.content)
    said = twiml.find("./Say").text
    assert said.startswith(f"Hello, this is an automated reminder from {DEALERSHIP}") and "10 AM" in said
    assert twiml.find("./Hangup") is not None
    assert "not configured" in Call.objects.get(call_sid=call_sid).error


def test_a_detection_without_answered_by_is_refused(client, twilio):
    response = post_signed(client, "voice:machine_detection", {"CallSid": "CA" + "5" * 32},
                           token=twilio.auth_token)  # fmt: skip
    assert response.status_code == 400 and b"AnsweredBy" in response.content


def test_the_first_detection_stays_and_an_unknown_value_reads_as_unknown(client, twilio, booked):
    first, second = "CA" + "6" * 32, "CA" + "7" * 32
    for call_sid in (first, second):
        voice_services.call_register_outbound(call_sid=call_sid, to_number=CUSTOMER_NUMBER, from_number=SHOP_NUMBER,
                                              purpose=Purpose.REMINDER)  # fmt: skip
    post_signed(client, "voice:machine_detection", {"CallSid": first, "AnsweredBy": "human"}, token=twilio.auth_token)
    post_signed(client, "voice:machine_detection", {"CallSid": first, "AnsweredBy": "machine_end_beep"},
                token=twilio.auth_token)  # fmt: skip
    post_signed(client, "voice:machine_detection", {"CallSid": second, "AnsweredBy": "robot_butler"},
                token=twilio.auth_token)  # fmt: skip
    assert Call.objects.get(call_sid=first).answered_by == "human"
    assert Call.objects.get(call_sid=second).answered_by == "unknown"
    assert not twilio.updates, "nobody to hang up on: there is no live session and the layer took the message"


@pytest.mark.parametrize("answered_by, voicemail", [("machine_end_beep", True), ("fax", False), ("human", None)])
def test_with_the_channel_layer_out_of_reach_twilio_is_told_directly(client, twilio, booked, settings,
                                                                     answered_by, voicemail):  # fmt: skip
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]}}}  # nothing listens there
    call_sid = twilio.add_call(to=CUSTOMER_NUMBER, from_=SHOP_NUMBER, direction="outbound-api").sid
    voice_services.call_register_outbound(call_sid=call_sid, to_number=CUSTOMER_NUMBER, from_number=SHOP_NUMBER,
                                          purpose=Purpose.REMINDER, customer=booked.customer,
                                          appointment_id=booked.pk)  # fmt: skip
    response = post_signed(client, "voice:machine_detection", {"CallSid": call_sid, "AnsweredBy": answered_by},
                           token=twilio.auth_token)  # fmt: skip
    assert response.status_code == 204
    call = Call.objects.get(call_sid=call_sid)
    if voicemail is None:
        assert not twilio.updates and call.outcome == Outcome.IN_PROGRESS
        return
    (update,) = twilio.updates
    if voicemail:
        assert "automated reminder" in update.params["Twiml"] and "<Hangup" in update.params["Twiml"]
        assert call.outcome == Outcome.VOICEMAIL
    else:
        assert update.params.get("Status") == "completed" and call.outcome == Outcome.NO_RESPONSE
    assert call.turns.filter(speaker=Speaker.SYSTEM, text__contains="out of reach").exists()
