"""The offline agent's dialogue over the real tools and database: every change read back and agreed to, only
times availability offers, a question for anything unclear, and the model agent's failover to it.

Driven the way the evaluation drives an agent: ``async_to_sync`` from the test's thread, with the agent's
database work in that same thread (``CALLING_THREAD``), inside the test's transaction.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from asgiref.sync import async_to_sync

from agent.context import ConversationStart, caller_facts, shop_facts
from agent.database import CALLING_THREAD
from agent.events import EndCall, Notice, TextDelta, ToolFinished, Transfer
from agent.factory import make_agent
from agent.failover import KEEPING_IT_SIMPLE
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import Appointment, AppointmentStatus
from scheduling.selectors import spoken_clock
from standins import Reply
from tests.agent.conftest import STRANGER_PHONE, dealership_zone
from tests.standins.fixtures import fake_openai  # noqa: F401
from voice.models import CallbackRequest
from voice.session.records import RecordsWithoutCall

pytestmark = pytest.mark.django_db


class Conversation:
    """One conversation with an agent: say a line, get the reply's words, tool calls and call control."""

    def __init__(self, *, customer=None, phone: str = "", kind: str = "offline"):
        self.tool_calls: list[tuple[str, dict, bool]] = []
        self.replies: list[str] = []
        self.events: list = []
        start = ConversationStart(shop=shop_facts(), caller_phone=phone or (customer.phone if customer else ""),
                                  caller=caller_facts(customer.pk) if customer else None)  # fmt: skip
        self.agent = make_agent(start, kind=kind, records=RecordsWithoutCall(), database=CALLING_THREAD)

    def say(self, line: str, *, heard: str | None = None) -> str:
        async def turn():
            self.agent.hear(line)
            return [event async for event in self.agent.reply()]

        events = async_to_sync(turn)()
        self.events.extend(events)
        words = "".join(e.text for e in events if isinstance(e, TextDelta))
        for event in events:
            if isinstance(event, ToolFinished):
                self.tool_calls.append((event.call.name, event.call.arguments, event.result.ok))
        self.replies.append(words)
        self.agent.heard(words if heard is None else heard)
        return words

    def tools(self) -> list[str]:
        return [name for name, _, _ in self.tool_calls]


def _at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=dealership_zone())


def spoken_date(day) -> str:
    return f"{day:%B} {day.day}"


@pytest.fixture
def world(shop, bays, menu, customer, vehicle, monday):
    return customer


def test_a_known_caller_books_after_a_read_back_and_a_yes(world, vehicle, menu, monday):
    chat = Conversation(customer=world)
    reply = chat.say(f"Hi, I'd like to book an oil change on {spoken_date(monday)} at 10")
    assert "Shall I book" in reply and "10 AM" in reply and "Monday" in reply and "Civic" in reply
    assert not Appointment.objects.exists(), "nothing is booked before the caller agrees to the read-back"
    reply = chat.say("Yes please")
    appointment = Appointment.objects.get()
    assert appointment.starts_at == _at(monday, 10) and appointment.vehicle == vehicle
    assert list(appointment.service_types.all()) == [menu.oil]
    assert "You're all set" in reply
    assert chat.tools().index("book_appointment") > chat.tools().index("get_available_slots")


def test_a_taken_time_gets_real_alternatives_and_one_is_booked(world, vehicle, other_customer, menu, bays, monday):
    other_car = other_customer.vehicles.create(year=2020, make="Ford", model="Escape")
    for _bay in bays:
        scheduling_services.appointment_book(customer=other_customer, vehicle=other_car, service_types=[menu.oil],
                                             start=_at(monday, 10), actor=Actor.system())  # fmt: skip
    chat = Conversation(customer=world)
    reply = chat.say(f"Can I get an oil change on {spoken_date(monday)} at 10?")
    assert "10 AM isn't open" in reply and "Which would you like" in reply
    offered = [s for s in _offered_starts(chat)]
    chat.say("the first one")
    chat.say("yes")
    mine = Appointment.objects.get(customer=world)
    assert mine.starts_at.isoformat(timespec="minutes") in offered or _iso(mine.starts_at) in offered
    assert mine.starts_at != _at(monday, 10)


def test_two_days_at_once_get_a_question_and_change_nothing(world, monday):
    chat = Conversation(customer=world)
    reply = chat.say("I need an oil change, Tuesday or Wednesday")
    assert "Which day" in reply
    assert "get_available_slots" not in chat.tools()
    assert not Appointment.objects.exists()


def test_no_at_the_read_back_books_nothing(world, monday):
    chat = Conversation(customer=world)
    chat.say(f"Book me an oil change on {spoken_date(monday)} at 10")
    reply = chat.say("No")
    assert "What day and time" in reply
    assert not Appointment.objects.exists()


def test_a_read_back_cut_short_is_read_again_before_a_yes_counts(world, monday):
    chat = Conversation(customer=world)
    words = chat.say(f"Book me an oil change on {spoken_date(monday)} at 10", heard="")
    assert "Shall I book" in words
    chat.agent.heard("Just to confirm")  # the caller talked over the read-back
    reply = chat.say("yes")
    assert "Shall I book" in reply, "the read-back is said again, whole"
    assert not Appointment.objects.exists()
    chat.say("yes")
    assert Appointment.objects.count() == 1


def test_a_caller_changes_their_mind_before_agreeing(world, monday):
    chat = Conversation(customer=world)
    chat.say(f"Oil change on {spoken_date(monday)} at 10 please")
    reply = chat.say(f"Actually, make it {spoken_date(monday + timedelta(days=1))} at 11")
    assert "11 AM" in reply and "Tuesday" in reply and "Shall I book" in reply
    chat.say("yes")
    assert Appointment.objects.get().starts_at == _at(monday + timedelta(days=1), 11)


def test_cancelling_reads_back_the_appointment_first(world, vehicle, menu, monday):
    booked = scheduling_services.appointment_book(customer=world, vehicle=vehicle, service_types=[menu.oil],
                                                  start=_at(monday, 9), actor=Actor.system())  # fmt: skip
    chat = Conversation(customer=world)
    reply = chat.say("I have to cancel my appointment")
    assert "cancel your Oil change" in reply and spoken_clock(booked.starts_at) in reply
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED
    chat.say("yes")
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED


def test_another_customers_appointment_is_refused_and_nothing_of_theirs_is_said(world, other_customer, menu, monday):
    other_car = other_customer.vehicles.create(year=2020, make="Ford", model="Escape")
    scheduling_services.appointment_book(customer=other_customer, vehicle=other_car, service_types=[menu.oil],
                                         start=_at(monday, 9), actor=Actor.system())  # fmt: skip
    chat = Conversation(customer=world)
    reply = chat.say("When is Dev Patel's appointment?")
    assert "only discuss appointments with the customer" in reply
    assert "Escape" not in reply and "9 AM" not in reply
    assert chat.tools() == []


def test_a_caller_from_another_number_proves_who_they_are_with_name_and_plate(world, vehicle, menu, monday):
    chat = Conversation(phone=STRANGER_PHONE)
    assert "name" in chat.say("I'd like to book a tire rotation")
    assert "license plate" in chat.say("It's Maria Lopez")
    reply = chat.say("ABC 1234")
    assert "found your account" in reply
    assert chat.agent.tool_context.customer_id == world.pk


def test_a_wrong_plate_three_times_ends_in_a_message_or_a_person(world, vehicle):
    chat = Conversation(phone=STRANGER_PHONE)
    chat.say("Is my car ready?")
    chat.say("Maria Lopez")
    for plate in ("XYZ 999", "QQQ 111"):
        assert "plate" in chat.say(plate).lower()
    reply = chat.say("ZZZ 222")
    assert "message" in reply
    assert chat.agent.tool_context.customer_id is None


def test_a_new_caller_is_set_up_with_their_number_and_car(shop, bays, menu, monday):
    chat = Conversation(phone=STRANGER_PHONE)
    chat.say("I want to book an oil change")
    chat.say("Jane Doe")
    assert "602 555 0177" in chat.say("I'm a new customer")
    assert "year, make and model" in chat.say("yes")
    chat.say("a 2020 Toyota Camry")
    assert "create_customer" in chat.tools() and "add_vehicle" in chat.tools()
    chat.say(f"{spoken_date(monday)} at 10")
    chat.say("yes")
    booked = Appointment.objects.get()
    assert booked.customer.first_name == "Jane" and booked.vehicle.model == "Camry"


def test_a_message_is_taken_for_the_advisors(world):
    chat = Conversation(customer=world)
    assert "What message" in chat.say("Can I leave a message?")
    chat.say("Please call me about the noise from my brakes")
    callback = CallbackRequest.objects.get()
    assert "brakes" in callback.message and callback.customer == world


def test_a_person_and_goodbye_are_call_control_for_the_driver(world):
    chat = Conversation(customer=world)
    chat.say("Can I talk to a real person please?")
    transfers = [e for e in chat.events if isinstance(e, Transfer)]
    assert len(transfers) == 1 and "María López" in transfers[0].whisper
    chat = Conversation(customer=world)
    chat.say("that's all, goodbye")
    assert any(isinstance(e, EndCall) for e in chat.events)
    assert chat.tools() == ["end_call"]


def test_the_model_failing_twice_hands_the_conversation_to_the_offline_agent(world, monday, settings,
                                                                              fake_openai):  # noqa: F811
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    settings.VOICE_AGENT_TIMEOUT_SECONDS = 20
    fake_openai.queue_reply(Reply(text="Sure, which day would suit you for the oil change?"))
    chat = Conversation(customer=world, kind="model")
    assert chat.say("I'd like to book an oil change") == "Sure, which day would suit you for the oil change?"
    fake_openai.fail_next(2, status=500)
    reply = chat.say(f"{spoken_date(monday)} at 10")
    assert reply.startswith(KEEPING_IT_SIMPLE)
    assert "Oil change" in reply or "oil change" in reply
    assert "Shall I book" in reply, "the offline agent goes on with the job the caller was talking about"
    notices = [e for e in chat.events if isinstance(e, Notice)]
    assert len(notices) == 1 and "offline" in notices[0].text
    reply = chat.say("yes")
    assert KEEPING_IT_SIMPLE not in reply, "said once"
    assert Appointment.objects.get().starts_at == _at(monday, 10)
    assert len(fake_openai.chat_requests) == 3, "the model is not asked again once the offline agent took over"


def test_one_model_failure_is_answered_by_asking_the_model_again(world, settings, fake_openai):  # noqa: F811
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    settings.VOICE_AGENT_TIMEOUT_SECONDS = 20
    fake_openai.fail_next(1, status=503)
    fake_openai.queue_reply(Reply(text="We're open until 6 today."))
    chat = Conversation(customer=world, kind="model")
    assert chat.say("How late are you open?") == "We're open until 6 today."
    assert not any(isinstance(e, Notice) for e in chat.events)


def _iso(moment) -> str:
    from scheduling.selectors import dealership_zone

    return moment.astimezone(dealership_zone()).isoformat(timespec="minutes")


def _offered_starts(chat: Conversation) -> list[str]:
    starts = []
    for event in chat.events:
        if isinstance(event, ToolFinished) and event.call.name == "get_available_slots":
            starts += [s["start"] for s in event.result.data.get("slots", [])]
    return starts



def test_malformed_tool_calls_twice_send_the_next_turn_to_the_offline_agent(world, settings, fake_openai):  # noqa: F811
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    settings.VOICE_AGENT_TIMEOUT_SECONDS = 20
    for _turn in range(2):
        fake_openai.queue_reply(Reply(tool_calls=[("look_up_everything", {})]))  # no such tool
        fake_openai.queue_reply(Reply(text="Sorry, could you say that again?"))
    chat = Conversation(customer=world, kind="model")
    assert chat.say("What are your hours?") == "Sorry, could you say that again?"
    assert chat.say("Your hours, please") == "Sorry, could you say that again?", "its answer stands"
    assert not any(isinstance(e, Notice) for e in chat.events)
    reply = chat.say("Is my car ready?")
    assert reply.startswith(KEEPING_IT_SIMPLE) and "vehicle_status" in chat.tools()
    assert len([e for e in chat.events if isinstance(e, Notice)]) == 1
    assert len(fake_openai.chat_requests) == 4
