"""Whole calls in which the agent uses its tools: Twilio's media stream (the peer) -> Daphne -> the session -> the
agent -> the OpenAI stand-in (a scripted model that reads the tool results it is sent) and our real tools over
the real database. Afterwards the CRM holds what the call did, credited to the phone agent with the CallSid."""

from __future__ import annotations

import json
import time as clock
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from agent.fillers import LINES
from crm import services as crm_services
from crm.models import Customer
from crm.selectors import dealership_profile
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import Appointment, AppointmentEvent, AppointmentStatus, Bay, OpeningHours, ServiceType
from standins import Reply
from standins._background import WAIT_SECONDS
from tests.locks import TableLock, someone_waits_on
from tests.standins.fixtures import fake_deepgram, fake_openai  # noqa: F401
from tests.voice.test_call_flow import hears, settle
from voice.models import Call, Outcome

pytestmark = [pytest.mark.django_db(transaction=True)]

GREETING = "Thanks for calling Saguaro Motors service."
CALLER = "+16025550111"
ZONE = ZoneInfo("America/Phoenix")
BOOKING_FILLERS = set(LINES["booking"])


@pytest.fixture(autouse=True)
def work_of_the_call_finished(db):
    """A call's last writes (a booking that waited, the summary) may still run when the caller has hung up:
    the test ends once every finished call is summarized and the server's other sessions are idle, so the
    database is not flushed under them."""
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
def dealership(db, settings):
    settings.TIME_ZONE = "America/Phoenix"
    settings.SCHEDULING_SLOT_MINUTES = 15
    settings.SCHEDULING_MIN_LEAD_MINUTES = 60
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = settings.GOOGLE_CALENDAR_ID = ""
    profile = dealership_profile()
    profile.name, profile.greeting, profile.transfer_phone = "Saguaro Motors Service", GREETING, "+16025550101"
    profile.save()
    for weekday in range(7):  # open around the clock: hand-overs ring whenever the test runs
        OpeningHours.objects.create(weekday=weekday, opens=time(0, 0), closes=time(23, 59, 59))
    for n in (1, 2, 3):
        Bay.objects.create(name=f"Bay {n}")
    return ServiceType.objects.create(name="Oil change", op_code="LOF", duration_minutes=60, price_min=49,
                                      price_max=89)  # fmt: skip


@pytest.fixture
def dana(db):
    customer = crm_services.customer_create(first_name="Dana", last_name="Whitfield", phone=CALLER)
    civic = crm_services.vehicle_create(customer=customer, year=2019, make="Honda", model="Civic", plate="CIV1234")
    return customer, civic


def next_tuesday() -> datetime.date:
    today = timezone.now().astimezone(ZONE).date() + timedelta(days=7)
    return today + timedelta(days=(1 - today.weekday()) % 7)


def last_user_text(messages: list[dict]) -> str:
    return next(m["content"] for m in reversed(messages) if m["role"] == "user")


def tool_results(messages: list[dict]) -> list[dict]:
    """The results of the tool calls the model has been sent since the caller last spoke."""
    results = []
    for message in reversed(messages):
        if message["role"] == "user":
            break
        if message["role"] == "tool":
            results.insert(0, json.loads(message["content"]))
    return results


def conversation_requests(model) -> list:
    """The model's requests for the conversation (the call's summary afterwards is another request)."""
    return [request for request in model.chat_requests if "tools" in request.body]


def all_results(messages: list[dict]) -> list[dict]:
    return [json.loads(m["content"]) for m in messages if m["role"] == "tool"]


class BookingModel:
    """A scripted model: reads what the tools returned and offers, reads back and books only those times."""

    def __init__(self, *, service_id: int, vehicle_id: int):
        self.service_id, self.vehicle_id = service_id, vehicle_id

    def __call__(self, messages: list[dict]) -> Reply:
        said = last_user_text(messages).lower()
        results = tool_results(messages)
        if "oil change" in said and not results:
            return Reply(text="Let me check Tuesday afternoon.", tool_calls=[("get_available_slots", {
                "service_ids": [self.service_id], "date": next_tuesday().isoformat(), "part_of_day": "afternoon"})])
        if "oil change" in said:
            slots = results[-1]["slots"]
            return Reply(text=f"I have {slots[0]['spoken']} or {slots[1]['spoken']}. Which would you like?")
        offered = [r for r in all_results(messages) if "slots" in r][-1]["slots"]
        if "first one" in said:
            return Reply(text=f"So that's an oil change for your 2019 Honda Civic on {offered[0]['spoken']}. "
                              "Shall I book it?")  # fmt: skip
        if said.startswith("yes") and not results:
            return Reply(text="Okay, booking it now.", tool_calls=[("book_appointment", {
                "vehicle_id": self.vehicle_id, "service_ids": [self.service_id], "start": offered[0]["start"]})])
        if said.startswith("yes"):
            booked = results[-1]
            return Reply(text=f"You're all set for {booked['spoken']}." if booked["ok"] else booked["say"])
        return Reply(text="Thanks for calling, goodbye.", tool_calls=[("end_call", {})])


async def test_a_booking_call_books_the_time_read_back_and_credits_the_phone_agent(voice_live, dealership, dana):
    customer, civic = dana
    voice_live.openai.responder = BookingModel(service_id=dealership.pk, vehicle_id=civic.pk)
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("I need an oil change for my Civic next Tuesday afternoon")
        await hears(peer, "Let me check Tuesday afternoon.")
        await hears(peer, "Which would you like?")
        await peer.say("the first one please")
        await hears(peer, "Shall I book it?")
        await peer.say("yes please")
        await hears(peer, "You're all set for")
        await peer.say("great thanks bye")
        await hears(peer, "Thanks for calling, goodbye.")
        await peer.wait_closed()

    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.COMPLETED)
    appointment = await sync_to_async(lambda: Appointment.objects.select_related("bay").get(customer=customer))()
    offered = [r for r in all_results(voice_live.openai.chat_requests[1].messages) if "slots" in r][-1]["slots"]
    assert appointment.starts_at == datetime.fromisoformat(offered[0]["start"])
    local = appointment.starts_at.astimezone(ZONE)
    assert local.date() == next_tuesday() and 12 <= local.hour < 17, "Tuesday afternoon, as asked"
    assert appointment.vehicle_id == civic.pk and appointment.bay is not None
    assert await sync_to_async(lambda: [s.pk for s in appointment.service_types.all()])() == [dealership.pk]
    event = await sync_to_async(AppointmentEvent.objects.get)(appointment=appointment)
    assert (event.action, event.actor_kind, event.call_sid) == ("booked", "phone_agent", call_sid)

    call = await sync_to_async(Call.objects.get)(call_sid=call_sid)
    invocations = await sync_to_async(lambda: list(call.tool_invocations.order_by("position")))()
    assert [(i.name, i.ok) for i in invocations] == [("get_available_slots", True), ("book_appointment", True),
                                                     ("end_call", True)]  # fmt: skip
    assert all(i.heard for i in invocations[:2]), "the caller heard the answers after the tools"
    changes = await sync_to_async(lambda: [(c.kind, c.appointment_id) for c in call.changes.all()])()
    assert changes == [("booked", appointment.pk)]
    # Every request the model got was well formed: each tool call answered right after it, in order.
    for request in voice_live.openai.chat_requests:
        messages = request.messages
        for index, message in enumerate(messages):
            for offset, tool_call in enumerate(message.get("tool_calls") or [], start=1):
                assert messages[index + offset]["role"] == "tool"
                assert messages[index + offset]["tool_call_id"] == tool_call["id"]
    # The caller was known before the first word: their car and name were in the first prompt, no lookup.
    system = voice_live.openai.chat_requests[0].messages[0]["content"]
    assert "Dana Whitfield" in system and "2019 Honda Civic" in system and "234" in system
    assert all(i.name != "lookup_customer" for i in invocations)


async def test_the_preface_is_heard_while_the_model_still_writes_its_tool_call(voice_live, dealership, dana):
    customer, civic = dana
    # The stand-in streams the call's arguments in pieces at 3 a second: about four seconds of them.
    voice_live.openai.queue_reply(Reply(text="Let me check that.", tokens_per_second=3, tool_calls=[
        ("get_available_slots", {"service_ids": [dealership.pk], "part_of_day": "morning", "after": "08:00",
                                 "date": next_tuesday().isoformat()})]))
    voice_live.openai.queue_text("Mornings are open.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("any mornings free")
        await hears(peer, "Let me check that.")
        heard = next(e.t for e in peer.timeline if e.kind == "heard" and e.data.get("text") == "Let me check that.")
        await hears(peer, "Mornings are open.")
        await peer.send_stop()
    tool_request = conversation_requests(voice_live.openai)[0]
    assert tool_request.reply.tool_calls and heard < tool_request.finished_at, \
        "the preface was spoken before the tool call had finished streaming"


async def test_asked_twice_in_one_call_the_booking_is_made_once(voice_live, dealership, dana):
    customer, civic = dana
    start = await sync_to_async(_first_free_start)(dealership)
    book = ("book_appointment", {"vehicle_id": civic.pk, "service_ids": [dealership.pk], "start": start})
    voice_live.openai.queue_reply(Reply(text="Booking it.", tool_calls=[book]))
    voice_live.openai.queue_text("Done.")
    voice_live.openai.queue_reply(Reply(text="Booking it again.", tool_calls=[book]))
    voice_live.openai.queue_text("That one is already booked.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("book the oil change please")
        await hears(peer, "Done.")
        await peer.say("book the oil change please")
        await hears(peer, "That one is already booked.")
        await peer.send_stop()
    assert await sync_to_async(Appointment.objects.filter(customer=customer).count)() == 1
    second = json.loads(voice_live.openai.chat_requests[3].messages[-1]["content"])
    assert second["ok"] and second["already_booked"]


async def test_barge_in_while_a_booking_runs_books_once_and_keeps_the_pair(voice_live, dealership, dana):
    """The caller talks over the preface while the booking waits on a busy database: the booking is not
    cancelled, its call and result stay in the history, and the next request to the model is well formed."""
    customer, civic = dana
    start = await sync_to_async(_first_free_start)(dealership)
    preface = ("Alright, I am putting that appointment in for you right now, it will only take a moment "
               "while I check every detail of it with the system.")  # fmt: skip
    voice_live.openai.queue_reply(Reply(text=preface, tool_calls=[
        ("book_appointment", {"vehicle_id": civic.pk, "service_ids": [dealership.pk], "start": start})]))
    voice_live.openai.responder = lambda messages: Reply(text="Sure, what else can I do?")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    with TableLock("scheduling_appointmentevent", "EXCLUSIVE") as lock:  # the booking's event row waits for it
        async with voice_live.peer(call_sid, parameters) as peer:
            await hears(peer, GREETING)
            await peer.say("yes book it")
            await someone_waits_on(lock)  # the write is under way
            await peer.say("wait one more question")
            await peer.wait_for_event("clear_received", timeout=WAIT_SECONDS)
            lock.release()
            await hears(peer, "what else can I do")
            await peer.send_stop()

    await settle(lambda: Call.objects.get(call_sid=call_sid).ended_at is not None)
    assert await sync_to_async(Appointment.objects.filter(customer=customer).count)() == 1
    replies = conversation_requests(voice_live.openai)
    assert len(replies) == 2, "the interrupted reply was not asked to go on"
    last = replies[-1].messages
    pairs = [(i, m) for i, m in enumerate(last) if m.get("tool_calls")]
    assert len(pairs) == 1
    index, assistant = pairs[0]
    assert assistant["tool_calls"][0]["function"]["name"] == "book_appointment"
    assert preface.startswith(assistant["content"] or ""), "only the heard part of the preface is kept"
    result = last[index + 1]
    assert result["role"] == "tool" and json.loads(result["content"])["ok"] is True
    assert last[-1] == {"role": "user", "content": "wait one more question"}
    invocation = await sync_to_async(lambda: Call.objects.get(call_sid=call_sid).tool_invocations.get())()
    assert invocation.name == "book_appointment" and invocation.ok and not invocation.heard


async def test_a_slow_tool_with_no_preface_gets_a_short_filler_that_the_model_never_reads(voice_live, dealership,
                                                                                         dana):
    customer, civic = dana
    start = await sync_to_async(_first_free_start)(dealership)
    voice_live.openai.queue_reply(Reply(tool_calls=[
        ("book_appointment", {"vehicle_id": civic.pk, "service_ids": [dealership.pk], "start": start})]))
    voice_live.openai.queue_text("You're booked.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    with TableLock("scheduling_appointmentevent", "EXCLUSIVE") as lock:
        async with voice_live.peer(call_sid, parameters) as peer:
            await hears(peer, GREETING)
            await peer.say("yes book it")
            await someone_waits_on(lock)
            await peer.wait_for_event("heard", lambda e: e.data.get("text") in BOOKING_FILLERS, timeout=WAIT_SECONDS)
            lock.release()
            await hears(peer, "You're booked.")
            await peer.send_stop()
    answer = conversation_requests(voice_live.openai)[1].messages
    assert not any(filler in json.dumps(answer) for filler in BOOKING_FILLERS)
    assert answer[-2]["content"] is None and answer[-2]["tool_calls"], "no words of the model's before the tool"


async def test_end_call_from_an_interrupted_reply_is_not_carried_out(voice_live, dealership, dana):
    goodbye = ("Okay then, thank you so much for calling Saguaro Motors today, we really appreciate your "
               "business and we hope to see you again very soon, goodbye.")  # fmt: skip
    voice_live.openai.queue_reply(Reply(text=goodbye, tool_calls=[("end_call", {})]))
    voice_live.openai.queue_text("Of course, what else?")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("that is all")
        await peer.wait_for_event("heard_start", lambda e, since=clock.monotonic(): e.t > since, timeout=WAIT_SECONDS)
        await peer.say("oh wait one more thing")
        await hears(peer, "Of course, what else?")
        call = await sync_to_async(Call.objects.get)(call_sid=call_sid)
        assert call.outcome == Outcome.IN_PROGRESS, "the interrupted goodbye did not hang up"
        assert not voice_live.twilio.calls[call_sid].updates, "nothing was asked of Twilio"
        await peer.send_stop()


async def test_reschedule_and_cancel_by_phone_move_and_cancel_the_callers_own(voice_live, dealership, dana):
    customer, civic = dana
    first, second = await sync_to_async(_two_free_starts)(dealership)
    booked = await sync_to_async(scheduling_services.appointment_book)(
        customer=customer, vehicle=civic, service_types=[dealership], start=datetime.fromisoformat(first),
        actor=Actor.system())  # fmt: skip
    voice_live.openai.queue_reply(Reply(text="Moving it.", tool_calls=[
        ("reschedule_appointment", {"appointment_id": booked.pk, "start": second})]))
    voice_live.openai.queue_text("It's moved.")
    voice_live.openai.queue_reply(Reply(text="Cancelling it.", tool_calls=[
        ("cancel_appointment", {"appointment_id": booked.pk, "reason": "out of town"})]))
    voice_live.openai.queue_text("It's cancelled.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("move my appointment please")
        await hears(peer, "It's moved.")
        await peer.say("actually cancel it")
        await hears(peer, "It's cancelled.")
        await peer.send_stop()
    appointment = await sync_to_async(Appointment.objects.get)(pk=booked.pk)
    assert appointment.starts_at == datetime.fromisoformat(second)
    assert appointment.status == AppointmentStatus.CANCELLED
    events = await sync_to_async(lambda: list(appointment.events.order_by("at").values_list("action", "call_sid")))()
    assert events[1:] == [("rescheduled", call_sid), ("cancelled", call_sid)]
    await settle(lambda: Call.objects.get(call_sid=call_sid).changes.count() == 2)
    kinds = await sync_to_async(lambda: list(Call.objects.get(call_sid=call_sid).changes.values_list("kind", flat=True)))()
    assert sorted(kinds) == ["cancelled", "moved"]


async def test_someone_elses_appointment_is_refused_and_left_alone(voice_live, dealership, dana):
    other = await sync_to_async(crm_services.customer_create)(first_name="Dev", last_name="Patel", phone="+16025550199")
    rav4 = await sync_to_async(crm_services.vehicle_create)(customer=other, year=2021, make="Toyota", model="RAV4")
    start = await sync_to_async(_first_free_start)(dealership)
    theirs = await sync_to_async(scheduling_services.appointment_book)(
        customer=other, vehicle=rav4, service_types=[dealership], start=datetime.fromisoformat(start),
        actor=Actor.system())  # fmt: skip
    voice_live.openai.queue_reply(Reply(text="Let me see.", tool_calls=[("cancel_appointment",
                                                                        {"appointment_id": theirs.pk})]))  # fmt: skip
    voice_live.openai.responder = lambda messages: Reply(text=tool_results(messages)[-1]["say"])
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("cancel my neighbor's appointment")
        await hears(peer, "your own account")
        await peer.send_stop()
    assert (await sync_to_async(Appointment.objects.get)(pk=theirs.pk)).status == AppointmentStatus.BOOKED
    second_request = json.dumps(voice_live.openai.chat_requests[1].messages)
    assert "RAV4" not in second_request and "Patel" not in second_request


async def test_an_unknown_caller_becomes_a_customer_with_a_vehicle(voice_live, dealership):
    newcomer = "+16025550177"
    voice_live.openai.queue_reply(Reply(text="Let me set you up.", tool_calls=[
        ("create_customer", {"first_name": "Rosa", "last_name": "Diaz", "confirm_phone_is_callers_number": True}),
        ("add_vehicle", {"year": 2020, "make": "Toyota", "model": "Camry", "plate": "ROS 123"})]))
    voice_live.openai.queue_text("You're in our system now.")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(newcomer)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("I'm Rosa Diaz and this is my number, I drive a 2020 Camry")
        await hears(peer, "You're in our system now.")
        await peer.send_stop()
    rosa = await sync_to_async(Customer.objects.get)(first_name="Rosa", last_name="Diaz")
    assert str(rosa.phone) == newcomer
    assert await sync_to_async(lambda: [str(v) for v in rosa.vehicles.all()])() == ["2020 Toyota Camry"]
    await settle(lambda: Call.objects.get(call_sid=call_sid).changes.count() == 2)
    kinds = await sync_to_async(lambda: sorted(Call.objects.get(call_sid=call_sid).changes.values_list("kind", flat=True)))()
    assert kinds == ["customer_created", "vehicle_added"]
    assert (await sync_to_async(Call.objects.get)(call_sid=call_sid)).customer_id == rosa.pk, "the call is hers now"


async def test_is_my_car_ready_for_a_checked_in_visit(voice_live, dealership, dana):
    customer, civic = dana
    start = timezone.now() + timedelta(minutes=5)
    start = start.replace(second=0, microsecond=0)
    visit = await sync_to_async(_walk_in)(customer, civic, dealership, start)
    voice_live.openai.queue_reply(Reply(text="Let me look.", tool_calls=[("vehicle_status", {})]))
    voice_live.openai.responder = lambda messages: Reply(text=tool_results(messages)[-1]["say"])
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("is my car ready yet")
        await hears(peer, "Civic")
        await peer.send_stop()
    status = json.loads(voice_live.openai.chat_requests[1].messages[-1]["content"])
    assert status["ok"] and status["status"] == "checked_in" and visit.pk


async def test_a_transfer_whispers_the_context_to_the_advisor(voice_live, dealership, dana):
    voice_live.openai.queue_reply(Reply(text="I'll connect you with an advisor.", tool_calls=[
        ("transfer_to_person", {"reason": "wants to talk about a warranty claim"})]))
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("I want to talk to someone about my warranty")
        await hears(peer, "I'll connect you with an advisor.")
        await peer.wait_closed()
    twiml = voice_live.twilio.calls[call_sid].updates[-1].params["Twiml"]
    assert "<Dial" in twiml and "+16025550101" in twiml and "/voice/whisper/" in twiml
    call = await sync_to_async(Call.objects.get)(call_sid=call_sid)
    assert call.handover_summary == "Dana Whitfield, a customer, about the 2019 Honda Civic. Wants to talk about a " \
                                   "warranty claim."  # fmt: skip


# --------------------------------------------------------------------------- helpers


def _first_free_start(service: ServiceType) -> str:
    from scheduling.selectors import next_available_slots

    return next_available_slots(service_types=[service], after=timezone.now() + timedelta(days=2), count=1)[0] \
        .start.astimezone(ZONE).isoformat()  # fmt: skip


def _two_free_starts(service: ServiceType) -> tuple[str, str]:
    from scheduling.selectors import next_available_slots

    slots = next_available_slots(service_types=[service], after=timezone.now() + timedelta(days=2), count=2)
    return slots[0].start.astimezone(ZONE).isoformat(), slots[1].start.astimezone(ZONE).isoformat()


def _walk_in(customer, vehicle, service, start):
    staff = Actor.staff(None)
    appointment = scheduling_services.appointment_book(customer=customer, vehicle=vehicle, service_types=[service],
                                                       start=start, actor=staff)  # fmt: skip
    return scheduling_services.appointment_check_in(appointment=appointment, actor=staff)


async def test_with_no_model_key_the_offline_agent_books_by_phone(voice_live, dealership, dana, settings):
    customer, civic = dana
    settings.OPENAI_API_KEY = ""  # Deepgram alone: the offline agent answers
    day = next_tuesday()
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say(f"I need an oil change on {day:%B} {day.day} at 2 PM")
        await hears(peer, "Shall I book that?")
        await peer.say("yes please")
        await hears(peer, "You're all set")
        await peer.say("that's all, bye")
        await hears(peer, "goodbye")
        await peer.wait_closed()

    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome == Outcome.COMPLETED)
    appointment = await sync_to_async(Appointment.objects.get)(customer=customer)
    assert appointment.starts_at == datetime.combine(day, time(14, 0), tzinfo=ZONE)
    event = await sync_to_async(AppointmentEvent.objects.get)(appointment=appointment)
    assert (event.actor_kind, event.call_sid) == ("phone_agent", call_sid)
    assert voice_live.openai.chat_requests == [], "no model was asked"
    call = await sync_to_async(Call.objects.get)(call_sid=call_sid)
    names = await sync_to_async(lambda: [i.name for i in call.tool_invocations.order_by("position")])()
    assert names[-2:] == ["book_appointment", "end_call"]


async def test_a_model_that_fails_twice_hands_the_call_to_the_offline_agent(voice_live, dealership, dana):
    customer, civic = dana
    day = next_tuesday()
    voice_live.openai.queue_text("Sure, which day would you like for the oil change?")
    call_sid, parameters = await sync_to_async(voice_live.incoming_call)(CALLER)
    async with voice_live.peer(call_sid, parameters) as peer:
        await hears(peer, GREETING)
        await peer.say("I'd like to book an oil change")
        await hears(peer, "which day would you like")
        voice_live.openai.fail_next(2, status=500)
        await peer.say(f"{day:%B} {day.day} at 2 PM")
        await hears(peer, "I'll keep things simple.")
        await hears(peer, "Shall I book that?")
        await peer.say("yes")
        await hears(peer, "You're all set")
        await peer.send_stop()

    await settle(lambda: Call.objects.get(call_sid=call_sid).outcome != "")
    appointment = await sync_to_async(Appointment.objects.get)(customer=customer)
    assert appointment.starts_at == datetime.combine(day, time(14, 0), tzinfo=ZONE)
    call = await sync_to_async(Call.objects.get)(call_sid=call_sid)
    assert call.outcome != Outcome.TRANSFERRED, "the caller was not handed over"
    turns = await sync_to_async(lambda: [(t.speaker, t.text) for t in call.turns.order_by("position")])()
    switches = [text for speaker, text in turns if speaker == "system" and "offline agent" in text]
    assert len(switches) == 1
    said = " ".join(text for speaker, text in turns if speaker == "agent")
    assert said.count("keep things simple") == 1
    assert len(conversation_requests(voice_live.openai)) == 3, "one answer, then two failures, then offline"
