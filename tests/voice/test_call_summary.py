"""A call's summary and result, written by a Celery task when the call ends: without a model (built from the
records), with the OpenAI stand-in, and with the model failing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agent.summary import fallback_summary, summarize
from agent.tools.base import Change, ToolKind
from agent.tools.base import ChangeKind as AgentChangeKind
from voice import services
from voice.models import Call, CallResult, Outcome, Purpose, Speaker
from voice.selectors import call_actions, call_with_records
from tests.standins.fixtures import fake_openai  # noqa: F401 - the OpenAI stand-in
from voice.tasks import summarize_call

from .conftest import KNOWN_NUMBER, call_sid
from .test_tool_records import appointment, invocation, say  # noqa: F401 - a fixture and helpers

pytestmark = pytest.mark.django_db

ASKED = "Hi, I need to book an oil change for my Accord next week."


@pytest.fixture(autouse=True)
def no_model(settings):
    """No model unless a test sets one up (the webhook fixtures set a dummy key)."""
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""


@pytest.fixture
def model(fake_openai, settings):
    settings.OPENAI_API_KEY = fake_openai.api_key
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_MODEL = "gpt-test-summary"
    return fake_openai


@pytest.fixture
def booked_call(appointment, known_customer):
    """A known customer calls and the agent books an oil change; the call has not ended yet."""
    sid = call_sid(1)
    services.call_register_inbound(call_sid=sid, from_number=KNOWN_NUMBER, to_number="+16025550000")
    start = timezone.now()
    say(sid, Speaker.AGENT, "Thanks for calling Sonoran Motors, how can I help?", at=start)
    say(sid, Speaker.CALLER, "Hi", at=start + timedelta(seconds=3))
    say(sid, Speaker.CALLER, ASKED, at=start + timedelta(seconds=5))
    book = invocation(changes=(Change(AgentChangeKind.BOOKED, appointment_id=appointment.pk,
                                      customer_id=known_customer.pk),))  # fmt: skip
    say(sid, Speaker.AGENT, "You're booked.", at=start + timedelta(seconds=9), tools=[(book, True)])
    return sid


def finish(sid: str, outcome: str = Outcome.COMPLETED, capture=None) -> Call:
    with capture(execute=True):
        services.call_finish(call_sid=sid, outcome=outcome, reason="the agent said goodbye")
    return Call.objects.get(call_sid=sid)


def last_contact(customer):
    customer.refresh_from_db()
    return customer.last_contact_at


def booked_sentence(appointment) -> str:
    return f"Booked an appointment for {timezone.localtime(appointment.starts_at):%a %b %-d at %-I:%M %p}."


# --------------------------------------------------------------------------- without a model


def test_without_a_model_the_summary_is_built_from_the_records(booked_call, appointment, known_customer,
                                                               django_capture_on_commit_callbacks):  # fmt: skip
    call = finish(booked_call, capture=django_capture_on_commit_callbacks)

    action = booked_sentence(appointment)
    assert call.summary == f"The caller said “{ASKED}” The phone assistant {action[0].lower()}{action[1:]}"
    assert call.result == CallResult.BOOKED
    known_customer.refresh_from_db()
    assert known_customer.last_contact_at == call.ended_at


def test_running_the_task_again_changes_nothing(booked_call, known_customer, django_capture_on_commit_callbacks):
    first = finish(booked_call, capture=django_capture_on_commit_callbacks)
    contact = last_contact(known_customer)
    assert summarize_call.delay(first.pk).get() == f"call {first.pk}: booked"
    again = Call.objects.get(pk=first.pk)
    assert (again.summary, again.result) == (first.summary, first.result)
    assert last_contact(known_customer) == contact
    assert summarize_call.delay(first.pk + 1000).get() == f"call {first.pk + 1000}: no such call"


def test_a_caller_the_agent_added_is_in_contact_too(known_customer, django_capture_on_commit_callbacks):
    sid = call_sid(6)
    services.call_register_inbound(call_sid=sid, from_number="anonymous", to_number="+16025550000")
    say(sid, Speaker.CALLER, "I'm new here, my name is Dana.")
    say(sid, Speaker.AGENT, "Welcome, Dana.", tools=[
        (invocation("create_customer", changes=(Change(AgentChangeKind.CUSTOMER_CREATED,
                                                       customer_id=known_customer.pk),)), True)])  # fmt: skip
    call = finish(sid, capture=django_capture_on_commit_callbacks)
    assert call.customer is None and call.result == CallResult.NOTHING_DONE
    assert "added Dana Whitfield as a new customer" in call.summary
    assert last_contact(known_customer) == call.ended_at


def test_a_call_where_nobody_spoke_says_so(django_capture_on_commit_callbacks):
    services.call_register_inbound(call_sid=call_sid(2), from_number="anonymous", to_number="+16025550000")
    call = finish(call_sid(2), Outcome.CALLER_HUNG_UP, capture=django_capture_on_commit_callbacks)
    assert call.summary == "Nobody spoke with the phone assistant on this call. Nothing was changed in the CRM."
    assert call.result == CallResult.NOTHING_DONE


def test_a_reminder_nobody_answered_is_no_contact(known_customer, django_capture_on_commit_callbacks):
    services.call_register_outbound(call_sid=call_sid(3), to_number=KNOWN_NUMBER, from_number="+16025550000",
                                    purpose=Purpose.REMINDER, customer=known_customer)  # fmt: skip
    services.call_apply_status(call_sid=call_sid(3), status="no-answer")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.calls_settle_unfinished(now=timezone.now() + timedelta(hours=1)) == 1
    call = Call.objects.get()
    assert call.outcome == Outcome.NO_RESPONSE and call.result == CallResult.NOTHING_DONE and call.summary
    assert last_contact(known_customer) is None


def test_a_message_left_in_the_fallback_is_summarized_when_the_webhook_ends_the_call(
    twilio_post, settings, django_capture_on_commit_callbacks
):
    settings.OPENAI_API_KEY = ""
    sid = call_sid(4)
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("voice:incoming", {"CallSid": sid, "From": KNOWN_NUMBER, "To": "+16025550000"})
        twilio_post("voice:message", {"CallSid": sid, "From": KNOWN_NUMBER,
                                      "RecordingUrl": "https://api.twilio.com/r/RE4"})  # fmt: skip
    call = Call.objects.get()
    assert call.outcome == Outcome.MESSAGE_TAKEN and call.result == CallResult.MESSAGE_TAKEN


def test_the_first_summary_stays(booked_call, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.call_finish(call_sid=booked_call, outcome=Outcome.COMPLETED, summary="Written by the session.")
    call = Call.objects.get()
    assert call.summary == "Written by the session." and call.result == CallResult.BOOKED


# --------------------------------------------------------------------------- the result, from the records


def knowledge(ok: bool = True):
    return invocation("search_knowledge", kind=ToolKind.READ, ok=ok, data={"answer": "We open at seven."})


def change(kind: AgentChangeKind):
    return invocation(changes=(Change(kind),))


@pytest.mark.parametrize("tools, outcome, result", [
    ([change(AgentChangeKind.CONFIRMED), change(AgentChangeKind.MOVED), change(AgentChangeKind.BOOKED)],
     Outcome.TRANSFERRED, CallResult.BOOKED),
    ([change(AgentChangeKind.CANCELLED), change(AgentChangeKind.MOVED)], Outcome.COMPLETED, CallResult.MOVED),
    ([change(AgentChangeKind.CONFIRMED), change(AgentChangeKind.CANCELLED)], Outcome.COMPLETED,
     CallResult.CANCELLED),
    ([knowledge(), change(AgentChangeKind.CONFIRMED)], Outcome.COMPLETED, CallResult.CONFIRMED),
    ([knowledge(), change(AgentChangeKind.CUSTOMER_CREATED)], Outcome.TRANSFERRED, CallResult.TRANSFERRED),
    ([knowledge()], Outcome.MESSAGE_TAKEN, CallResult.MESSAGE_TAKEN),
    ([knowledge(), change(AgentChangeKind.MESSAGE_TAKEN)], Outcome.COMPLETED, CallResult.MESSAGE_TAKEN),
    ([knowledge(ok=False), knowledge()], Outcome.CALLER_HUNG_UP, CallResult.ANSWERED),
    ([knowledge(ok=False), change(AgentChangeKind.VEHICLE_ADDED)], Outcome.COMPLETED, CallResult.NOTHING_DONE),
    ([], Outcome.ERROR, CallResult.NOTHING_DONE),
])  # fmt: skip
def test_the_result_comes_from_the_records(tools, outcome, result, django_capture_on_commit_callbacks):
    sid = call_sid(5)
    services.call_register_inbound(call_sid=sid, from_number="+15205550123", to_number="+16025550000")
    say(sid, Speaker.CALLER, "I have a question.")
    if tools:
        say(sid, Speaker.AGENT, "Sure.", tools=[(tool, True) for tool in tools])
    assert finish(sid, outcome, capture=django_capture_on_commit_callbacks).result == result


def test_actions_say_what_the_tools_did(booked_call, appointment):
    say(booked_call, Speaker.AGENT, "Sorry.", tools=[
        (knowledge(), True),
        (invocation("move_appointment", ok=False, say="Sorry, that time is taken."), True),
        (invocation("transfer_to_person", kind=ToolKind.CONTROL, data={"done": "put through"}), True),
    ])  # fmt: skip
    assert call_actions(call_with_records(Call.objects.get().pk)) == [
        booked_sentence(appointment),
        "Answered a question from the dealership's FAQs.",
        "Could not move appointment (Sorry, that time is taken).",
        "Handed the caller over to a person.",
    ]


def test_the_fallback_quotes_the_caller_s_first_real_request_and_lists_the_actions():
    lines = [("agent", "Hello"), ("caller", "hi there"), ("caller", "Can you tell me " + "very " * 30 + "much?")]
    text = fallback_summary(lines=lines, actions=["Answered a question from the dealership's FAQs.",
                                                  "Took a message for an advisor to call back."])  # fmt: skip
    assert text == (
        "The caller said “Can you tell me " + "very " * 21 + "…” The phone assistant answered a question from the "
        "dealership's FAQs and took a message for an advisor to call back."
    )
    assert fallback_summary(lines=[("agent", "Hello?")], actions=[]) == (
        "The caller said nothing the phone assistant could make out. Nothing was changed in the CRM."
    )


# --------------------------------------------------------------------------- with the model


def test_with_the_model_its_two_sentences_are_the_summary(model, booked_call, appointment,
                                                          django_capture_on_commit_callbacks):  # fmt: skip
    model.queue_text("Dana wanted an oil change for her Accord.\nIt was booked for next week at ten.")
    call = finish(booked_call, capture=django_capture_on_commit_callbacks)

    assert call.summary == "Dana wanted an oil change for her Accord. It was booked for next week at ten."
    assert call.result == CallResult.BOOKED
    (request,) = model.chat_requests
    assert request.body["model"] == "gpt-test-summary" and not request.stream
    assert request.body["max_completion_tokens"] > 0
    system, user = request.messages
    assert system["role"] == "system" and f"- {booked_sentence(appointment)}" in system["content"]
    assert "two short sentences" in system["content"]
    assert user["role"] == "user" and user["content"].splitlines() == [
        "Assistant: Thanks for calling Sonoran Motors, how can I help?", "Caller: Hi", f"Caller: {ASKED}",
        "Assistant: You're booked.",
    ]  # fmt: skip

    # Done once: running the task again does not ask the model again.
    summarize_call.delay(call.pk).get()
    assert len(model.chat_requests) == 1 and Call.objects.get().summary == call.summary


def test_when_the_model_fails_the_summary_falls_back_to_the_records(model, booked_call, appointment,
                                                                    django_capture_on_commit_callbacks):  # fmt: skip
    model.fail_next(5, 500)
    call = finish(booked_call, capture=django_capture_on_commit_callbacks)
    assert model.chat_requests and all(request.status == 500 for request in model.chat_requests)
    action = booked_sentence(appointment)
    assert call.summary == f"The caller said “{ASKED}” The phone assistant {action[0].lower()}{action[1:]}"
    assert call.result == CallResult.BOOKED


def test_a_wrong_key_or_an_empty_answer_also_falls_back(model, settings):
    lines, actions = [("caller", ASKED)], ["Booked an appointment."]
    expected = f"The caller said “{ASKED}” The phone assistant booked an appointment."
    model.queue_text("   ")
    assert summarize(lines=lines, actions=actions) == expected
    settings.OPENAI_API_KEY = "sk-not-the-right-key"
    assert summarize(lines=lines, actions=actions) == expected
    assert [request.status for request in model.chat_requests] == [200, 401]


def test_the_model_is_not_asked_when_the_caller_said_nothing(model):
    assert summarize(lines=[("agent", "Hello?"), ("system", "Stream started")], actions=[]) == (
        "The caller said nothing the phone assistant could make out. Nothing was changed in the CRM."
    )
    assert model.chat_requests == []
