"""The agent on reminder calls, without a phone: the opening and the voicemail (agent.reminders), the offline
agent's reminder mode over the real tools and database, a customer calling back about a reminder, the
stop_calling tool, and what the model's prompt says in each case.

Driven like the evaluation drives an agent: ``async_to_sync`` from the test's thread, the agent's database work
in that same thread, inside the test's transaction. The reminder is the evening before the appointment: the
conversation's "now" is the Sunday before a Monday at 10 AM.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync

from agent import reminders
from agent.context import ConversationStart, caller_facts, shop_facts
from agent.database import CALLING_THREAD
from agent.events import EndCall, TextDelta, ToolFinished
from agent.factory import make_agent
from agent.model_agent import ModelAgent
from agent.offline import phrases
from agent.offline.agent import OfflineAgent
from agent.offline.understanding import Intent, intent_of
from crm.models import ConsentChange, ConsentSource
from crm.selectors import dealership_profile
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import Appointment, AppointmentStatus
from tests.agent.conftest import CALL_SID, STRANGER_PHONE, call_tool
from voice.session.records import RecordsWithoutCall

pytestmark = pytest.mark.django_db

DEALERSHIP = "Saguaro Motors"
MAIN_PHONE = "+16025550123"


@pytest.fixture
def profile(db):
    dealership = dealership_profile()
    dealership.name, dealership.main_phone = DEALERSHIP, MAIN_PHONE
    dealership.save()
    return dealership


@pytest.fixture
def appointment(profile, bays, menu, customer, vehicle, monday, at) -> Appointment:
    return scheduling_services.appointment_book(customer=customer, vehicle=vehicle, service_types=[menu.oil],
                                                start=at(monday, "10:00"), actor=Actor.system())  # fmt: skip


@pytest.fixture
def evening_before(monday, at):
    """The dealership's facts as the reminder is placed: the evening before the appointment."""
    return shop_facts(now=at(monday - timedelta(days=1), "17:30"))


def reminder_start(customer, appointment, shop) -> ConversationStart:
    caller = caller_facts(customer.pk, reminded_about=appointment.pk)
    return ConversationStart(shop=shop, call_sid=CALL_SID, caller_phone=str(customer.phone), caller=caller,
                             reminder=True, appointment=caller.reminded_about)  # fmt: skip


class Call:
    """A conversation with an agent: the driver's own words (``said``), then the customer's lines."""

    def __init__(self, start: ConversationStart, *, kind: str = "offline", agent=None):
        self.start = start
        self.agent = agent or make_agent(start, kind=kind, records=RecordsWithoutCall(), database=CALLING_THREAD)
        self.tools: list[tuple[str, dict, bool]] = []
        self.events: list = []

    def said(self, text: str) -> None:
        self.agent.said(text)

    def say(self, line: str) -> str:
        async def turn():
            self.agent.hear(line)
            return [event async for event in self.agent.reply()]

        events = async_to_sync(turn)()
        self.events.extend(events)
        self.tools.extend((e.call.name, e.call.arguments, e.result.ok) for e in events if isinstance(e, ToolFinished))
        words = "".join(e.text for e in events if isinstance(e, TextDelta))
        self.agent.heard(words)
        return words

    def tool_names(self) -> list[str]:
        return [name for name, _, _ in self.tools]


def status_of(appointment) -> str:
    return Appointment.objects.get(pk=appointment.pk).status


# --------------------------------------------------------------------------- the opening and the voicemail


def test_the_opening_says_who_why_that_it_is_automated_and_recorded_then_asks_to_confirm(
    customer, appointment, evening_before, monday
):
    opening = reminders.opening(reminder_start(customer, appointment, evening_before), recording=True)
    assert opening.startswith(f"Hello, this is the automated assistant at {DEALERSHIP},")
    assert f"your oil change appointment tomorrow, {phrases.day_words(monday)} at 10 AM" in opening
    assert "for your 2019 Honda Civic" in opening
    assert "This call may be recorded." in opening and "stop these calls" in opening
    assert opening.endswith(reminders.CONFIRM_QUESTION)


def test_without_recording_the_opening_says_nothing_about_it(customer, appointment, evening_before):
    opening = reminders.opening(reminder_start(customer, appointment, evening_before), recording=False)
    assert "record" not in opening and "automated assistant" in opening and opening.endswith("be there?")


def test_a_later_day_is_said_with_its_weekday_and_date_only(customer, appointment, monday, at):
    earlier = shop_facts(now=at(monday - timedelta(days=4), "17:30"))
    opening = reminders.opening(reminder_start(customer, appointment, earlier), recording=True)
    assert f"appointment on {phrases.day_words(monday)} at 10 AM" in opening and "tomorrow" not in opening


def test_an_unknown_appointment_gets_a_general_opening_and_the_three_choices(customer, evening_before):
    start = ConversationStart(shop=evening_before, caller=caller_facts(customer.pk), reminder=True)
    opening = reminders.opening(start, recording=True)
    assert "your upcoming service appointment" in opening and opening.endswith(reminders.CHOICE_QUESTION)


def test_the_voicemail_names_the_dealership_the_day_and_time_and_the_number_only(
    customer, appointment, evening_before, monday
):
    start = reminder_start(customer, appointment, evening_before)
    message = reminders.voicemail(start.shop, start.appointment)
    assert message.startswith(f"Hello, this is an automated reminder from {DEALERSHIP}")
    assert f"tomorrow, {phrases.day_words(monday)} at 10 AM" in message and "(602) 555-0123" in message
    for personal in (customer.first_name, customer.last_name, "Civic", "Oil", "oil"):
        assert personal not in message
    no_number = reminders.voicemail(replace(start.shop, main_phone=""), start.appointment)
    assert "please call us. Thank you" in no_number


def test_only_the_whole_opening_counts_as_heard(customer, appointment, evening_before):
    start = reminder_start(customer, appointment, evening_before)
    opening = reminders.opening(start, recording=True)
    assert reminders.heard_whole_opening(opening, start)
    assert not reminders.heard_whole_opening(opening.rsplit(" ", 3)[0], start), "cut before the question"
    assert not reminders.heard_whole_opening(opening.split(" calling to remind")[0], start)


# --------------------------------------------------------------------------- the offline agent on a reminder call


def test_a_yes_to_the_whole_opening_confirms_without_another_read_back(customer, appointment, evening_before):
    start = reminder_start(customer, appointment, evening_before)
    call = Call(start)
    call.said(reminders.opening(start, recording=True))
    reply = call.say("yes I'll be there")
    assert call.tool_names() == ["confirm_appointment"] and "your appointment is confirmed" in reply
    assert status_of(appointment) == AppointmentStatus.CONFIRMED
    assert call.tools[0][1] == {"appointment_id": appointment.pk}


def test_a_yes_to_an_opening_cut_short_gets_the_read_back_first(customer, appointment, evening_before, monday):
    start = reminder_start(customer, appointment, evening_before)
    call = Call(start)
    call.said(reminders.opening(start, recording=True).split(" This call")[0])
    reply = call.say("yes")
    assert "Shall I mark it as confirmed?" in reply and phrases.day_words(monday) in reply and "10 AM" in reply
    assert status_of(appointment) == AppointmentStatus.BOOKED and "confirm_appointment" not in call.tool_names()
    call.say("yes")
    assert status_of(appointment) == AppointmentStatus.CONFIRMED


def test_no_offers_move_or_cancel_and_a_cancel_is_read_back_before_it_is_done(customer, appointment,
                                                                               evening_before, monday):  # fmt: skip
    start = reminder_start(customer, appointment, evening_before)
    call = Call(start)
    call.said(reminders.opening(start, recording=True))
    assert call.say("no") == phrases.MOVE_OR_CANCEL
    reply = call.say("cancel it")
    assert "Shall I cancel it?" in reply and phrases.day_words(monday) in reply and "10 AM" in reply
    assert status_of(appointment) == AppointmentStatus.BOOKED
    assert "cancelled" in call.say("yes").lower()
    assert status_of(appointment) == AppointmentStatus.CANCELLED


def test_another_day_said_instead_moves_it_to_a_real_opening_after_a_yes(customer, appointment, evening_before,
                                                                          monday, at):  # fmt: skip
    start = reminder_start(customer, appointment, evening_before)
    call = Call(start)
    call.said(reminders.opening(start, recording=True))
    wednesday = monday + timedelta(days=2)
    reply = call.say("can we do Wednesday at 2 instead")
    assert "Shall I go ahead?" in reply and phrases.day_words(wednesday) in reply and "2 PM" in reply
    assert "get_available_slots" in call.tool_names() and "reschedule_appointment" not in call.tool_names()
    call.say("yes")
    moved = Appointment.objects.get(pk=appointment.pk)
    assert moved.starts_at == at(wednesday, "14:00")


def test_stop_calling_sets_do_not_call_at_once_and_ends_the_call(customer, appointment, evening_before):
    start = reminder_start(customer, appointment, evening_before)
    call = Call(start)
    call.said(reminders.opening(start, recording=True))
    reply = call.say("please stop calling me")
    assert reply == phrases.OPTED_OUT and isinstance(call.events[-1], EndCall)
    assert call.tool_names() == ["stop_calling", "end_call"]
    customer.refresh_from_db()
    assert customer.do_not_call and customer.do_not_call_source == ConsentSource.REMINDER_CALL
    assert customer.do_not_call_changed_at is not None
    change = ConsentChange.objects.get(customer=customer, kind="do_not_call")
    assert change.value and CALL_SID in change.note and "stop calling me" in change.note
    assert status_of(appointment) == AppointmentStatus.BOOKED


def test_a_goodbye_on_a_reminder_call_does_not_thank_them_for_calling(customer, appointment, evening_before):
    start = reminder_start(customer, appointment, evening_before)
    call = Call(start)
    call.said(reminders.opening(start, recording=True))
    call.say("yes")
    assert call.say("no that's all") == phrases.goodbye(DEALERSHIP, we_called=True)


def test_taking_over_a_reminder_call_reads_back_before_a_yes_counts(customer, appointment, evening_before):
    start = reminder_start(customer, appointment, evening_before)
    first = OfflineAgent(start, database=CALLING_THREAD)
    agent = OfflineAgent.taking_over(start, caller=start.caller, tool_context=first.tool_context, history=[],
                                     unanswered=[], database=CALLING_THREAD)  # fmt: skip
    call = Call(start, agent=agent)
    assert "Shall I mark it as confirmed?" in call.say("yes")
    assert status_of(appointment) == AppointmentStatus.BOOKED


# --------------------------------------------------------------------------- a customer calling back


def inbound_start(customer, reminded_about=None) -> ConversationStart:
    return ConversationStart(shop=shop_facts(), call_sid=CALL_SID, caller_phone=str(customer.phone),
                             caller=caller_facts(customer.pk, reminded_about=reminded_about))  # fmt: skip


def test_a_caller_back_about_our_call_hears_which_appointment_and_chooses(customer, appointment, monday):
    call = Call(inbound_start(customer, reminded_about=appointment.pk))
    reply = call.say("Hi, you called me about my appointment")
    assert reply.startswith("Yes, we called about your Oil change on")
    assert phrases.day_words(monday) in reply and "10 AM" in reply and "Civic" in reply
    reply = call.say("I'd like to move it please")
    assert "What day and time would suit you instead?" in reply
    assert not [name for name, _, _ in call.tools if name == "reschedule_appointment"]


def test_confirming_after_a_call_back_needs_its_own_read_back(customer, appointment):
    call = Call(inbound_start(customer, reminded_about=appointment.pk))
    call.say("I got your message")
    assert "Shall I mark it as confirmed?" in call.say("yes confirm it")
    assert status_of(appointment) == AppointmentStatus.BOOKED
    call.say("yes")
    assert status_of(appointment) == AppointmentStatus.CONFIRMED


def test_a_reminded_appointment_since_cancelled_is_said_to_be(customer, appointment):
    scheduling_services.appointment_cancel(appointment=appointment, actor=Actor.system())
    call = Call(inbound_start(customer, reminded_about=appointment.pk))
    assert "That appointment is cancelled now." in call.say("I missed a call from you")


def test_without_a_recent_reminder_the_caller_hears_their_appointments(customer, appointment):
    call = Call(inbound_start(customer))
    reply = call.say("you called me about my appointment")
    assert reply.startswith("I have your Oil change on") and "get_upcoming_appointments" in call.tool_names()


def test_of_two_appointments_the_reminded_one_is_the_one_meant(customer, appointment, vehicle, menu, monday, at):
    other = scheduling_services.appointment_book(customer=customer, vehicle=vehicle, service_types=[menu.rotation],
                                                 start=at(monday + timedelta(days=3), "09:00"),
                                                 actor=Actor.system())  # fmt: skip
    call = Call(inbound_start(customer, reminded_about=other.pk))
    reply = call.say("I got your voicemail and I need to cancel my appointment")
    assert "Shall I cancel it?" in reply and "Tire rotation" in reply and "Which appointment" not in reply
    call.say("yes")
    assert status_of(other) == AppointmentStatus.CANCELLED and status_of(appointment) == AppointmentStatus.BOOKED


def test_an_inbound_stop_calling_is_recorded_as_asked_on_an_inbound_call(customer):
    call = Call(inbound_start(customer))
    assert call.say("take me off your list") == phrases.OPTED_OUT
    customer.refresh_from_db()
    assert customer.do_not_call and customer.do_not_call_source == ConsentSource.INBOUND_CALL


# --------------------------------------------------------------------------- the stop_calling tool


def test_the_tool_sets_do_not_call_once_and_says_what_changed(customer, context_for):
    context = replace(context_for(customer), reminder=True)
    result = call_tool(context, "stop_calling", {"said": "stop calling me"})
    assert result.ok and result.data["do_not_call"] and "end_call" in result.data["done"]
    assert [(c.kind, c.customer_id) for c in result.changes] == [("opted_out", customer.pk)]
    customer.refresh_from_db()
    assert customer.do_not_call_source == ConsentSource.REMINDER_CALL
    again = call_tool(context, "stop_calling", {})
    assert again.ok and again.data["already_do_not_call"] and not again.changes
    assert ConsentChange.objects.filter(customer=customer, kind="do_not_call").count() == 1


def test_the_tool_on_an_unknown_number_changes_nothing(db, context_for):
    result = call_tool(context_for(None, phone=STRANGER_PHONE), "stop_calling", {})
    assert not result.ok and "won't be calling it" in result.say and not ConsentChange.objects.exists()


@pytest.mark.parametrize("line", ["stop calling me", "Please take me off your list", "don't call me again",
                                  "no more reminder calls please", "I want to opt out"])  # fmt: skip
def test_ways_of_saying_stop_calling(line):
    assert intent_of(line) is Intent.STOP_CALLING


@pytest.mark.parametrize("line", ["you called me about my appointment", "I got your message", "I missed your call",
                                  "someone from your shop called me", "I'm returning your call"])  # fmt: skip
def test_ways_of_saying_you_called_me(line):
    assert intent_of(line) is Intent.REMINDED


def test_a_callback_request_is_not_an_opt_out():
    assert intent_of("can you call me back") is Intent.MESSAGE


# --------------------------------------------------------------------------- the model's prompt


def test_the_prompt_of_a_reminder_call_says_the_opening_was_the_read_back(customer, appointment, evening_before):
    prompt = ModelAgent(reminder_start(customer, appointment, evening_before), chat=object()).system_prompt()
    assert "on a reminder call you placed to a customer" in prompt
    assert f"about appointment {appointment.pk}:" in prompt and f"appointment_id {appointment.pk}" in prompt
    assert "stop_calling" in prompt


def test_the_prompt_of_a_caller_back_names_the_reminders_appointment(customer, appointment):
    prompt = ModelAgent(inbound_start(customer, reminded_about=appointment.pk), chat=object()).system_prompt()
    assert "The dealership called this customer lately" in prompt and f"appointment {appointment.pk}:" in prompt
    assert "reminder call you placed" not in prompt
    plain = ModelAgent(inbound_start(customer), chat=object()).system_prompt()
    assert "called this customer lately" not in plain and "This call is a reminder" not in plain
