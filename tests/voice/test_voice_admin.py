"""Calls and callback requests in the admin: lists, filters, phone search, the chat view, mark done, permissions."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agent.tools.base import Change, ToolKind
from agent.tools.base import ChangeKind as AgentChangeKind
from voice import services
from voice.models import AnsweredBy, Call, CallbackRequest, CallbackStatus, CallResult, Outcome, Purpose, Speaker

from .conftest import KNOWN_NUMBER, call_sid
from .test_tool_records import appointment, invocation  # noqa: F401 - a fixture and a helper

pytestmark = pytest.mark.django_db

UNKNOWN_NUMBER = "+15205550123"


def say(sid, speaker, text, *, at=None, **kwargs):
    at = at or timezone.now()
    return services.turn_record(call_sid=sid, speaker=speaker, text=text, started_at=at,
                                ended_at=at + timedelta(seconds=1), **kwargs)  # fmt: skip


@pytest.fixture
def calls(known_customer):
    """A known customer's call (transferred), an unknown caller's (completed), an anonymous one, a reminder."""
    known = services.call_register_inbound(call_sid=call_sid(1), from_number=KNOWN_NUMBER, to_number="+16025550000")
    services.call_apply_status(call_sid=known.call_sid, status="completed", duration_seconds=125)
    services.call_finish(call_sid=known.call_sid, outcome=Outcome.TRANSFERRED, transfer_target="+16025550199",
                         reason="Asked for a person", summary="Wants a quote for front brakes.")  # fmt: skip
    unknown = services.call_register_inbound(call_sid=call_sid(2), from_number=UNKNOWN_NUMBER,
                                             to_number="+16025550000")  # fmt: skip
    services.call_apply_status(call_sid=unknown.call_sid, status="completed", duration_seconds=40)
    anonymous = services.call_register_inbound(call_sid=call_sid(3), from_number="anonymous",
                                               to_number="+16025550000")  # fmt: skip
    reminder = services.call_register_outbound(call_sid=call_sid(4), to_number=KNOWN_NUMBER,
                                               from_number="+16025550000", purpose=Purpose.REMINDER,
                                               customer=known_customer)  # fmt: skip
    services.call_apply_status(call_sid=reminder.call_sid, status="no-answer")
    return {name: Call.objects.get(pk=c.pk) for name, c in
            [("known", known), ("unknown", unknown), ("anonymous", anonymous), ("reminder", reminder)]}  # fmt: skip


def listed(response) -> set[str]:
    assert response.status_code == 200
    return {call.call_sid for call in response.context["cl"].result_list}


# --------------------------------------------------------------------------- the call list


def test_call_list_shows_each_call_readably(admin_client, calls):
    say(calls["known"].call_sid, Speaker.CALLER, "Hi")
    say(calls["known"].call_sid, Speaker.AGENT, "Hello")
    response = admin_client.get(reverse("admin:voice_call_changelist"))
    page = response.content.decode()
    assert listed(response) == {c.call_sid for c in calls.values()}
    assert "(602) 555-0100" in page and "(520) 555-0123" in page and "anonymous" in page
    assert "Dana Whitfield" in page and reverse("admin:crm_customer_change", args=[calls["known"].customer_id]) in page
    assert "2:05" in page and "transferred" in page and "appointment reminder" in page
    row = next(r for r in response.context["cl"].result_list if r.call_sid == calls["known"].call_sid)
    assert row.turn_total == 2


def test_call_list_says_when_the_phone_agent_cannot_answer(admin_client, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "token"
    settings.DEEPGRAM_API_KEY, settings.OPENAI_API_KEY = "", "sk"
    page = admin_client.get(reverse("admin:voice_call_changelist")).content.decode()
    assert "the phone agent is not configured (DEEPGRAM_API_KEY empty): calls go to the fallback" in page
    settings.DEEPGRAM_API_KEY = "dg"
    page = admin_client.get(reverse("admin:voice_call_changelist")).content.decode()
    assert "Phone line: calls are answered by the phone agent." in page
    settings.OPENAI_API_KEY = ""
    page = admin_client.get(reverse("admin:voice_call_changelist")).content.decode()
    assert "Phone line: calls are answered by the offline agent (OPENAI_API_KEY is empty)." in page
    settings.OPENAI_API_KEY = "sk"
    settings.TWILIO_AUTH_TOKEN = ""
    page = admin_client.get(reverse("admin:voice_call_changelist")).content.decode()
    assert "Twilio is not configured" in page


@pytest.mark.parametrize("params, expected", [
    ({"direction__exact": "outbound"}, {"reminder"}),
    ({"purpose__exact": "customer_call"}, {"known", "unknown", "anonymous"}),
    ({"status__exact": "no-answer"}, {"reminder"}),
    ({"outcome__exact": "transferred"}, {"known"}),
    ({"status__exact": "ringing"}, {"anonymous"}),
])  # fmt: skip
def test_call_list_filters(admin_client, calls, params, expected):
    response = admin_client.get(reverse("admin:voice_call_changelist"), params)
    assert listed(response) == {calls[name].call_sid for name in expected}


def test_call_list_date_hierarchy(admin_client, calls):
    today = timezone.localdate()
    response = admin_client.get(reverse("admin:voice_call_changelist"),
                                {"started_at__year": today.year, "started_at__month": today.month})  # fmt: skip
    assert len(listed(response)) == 4
    response = admin_client.get(reverse("admin:voice_call_changelist"), {"started_at__year": today.year - 1})
    assert listed(response) == set()


@pytest.mark.parametrize("term", ["(520) 555-0123", "520.555.0123", "+1 520 555 0123", "5205550123", "555-0123"])
def test_call_list_finds_an_unknown_caller_by_any_spelling(admin_client, calls, term):
    response = admin_client.get(reverse("admin:voice_call_changelist"), {"q": term})
    assert listed(response) == {calls["unknown"].call_sid}


@pytest.mark.parametrize("term", ["(602) 555-0100", "602-555-0100", "+16025550100", "480 555 0177", "Whitfield"])
def test_call_list_finds_a_customer_s_calls_by_number_or_name(admin_client, calls, term):
    response = admin_client.get(reverse("admin:voice_call_changelist"), {"q": term})
    assert listed(response) == {calls["known"].call_sid, calls["reminder"].call_sid}


def test_call_list_finds_a_call_by_sid(admin_client, calls):
    response = admin_client.get(reverse("admin:voice_call_changelist"), {"q": calls["anonymous"].call_sid})
    assert listed(response) == {calls["anonymous"].call_sid}


# --------------------------------------------------------------------------- the call page


def test_call_page_shows_the_conversation_like_a_chat(admin_client, calls, django_assert_max_num_queries):
    sid = calls["known"].call_sid
    say(sid, Speaker.SYSTEM, "Stream started")
    say(sid, Speaker.CALLER, "How much are front brakes?")
    say(sid, Speaker.AGENT, "Front brake pads start at $189. I can book you this week. Would Tuesday work?",
        heard_text="Front brake pads start at $189.", interrupted=True,
        timings={"agent_first_token_ms": 412, "tts_first_byte_ms": 598, "first_frame_ms": 610,
                 "first_mark_ms": 790})  # fmt: skip
    say(sid, Speaker.CALLER, "Actually, can I talk to someone?")
    say(sid, Speaker.AGENT, "Sure, transferring you now.", heard_text="Sure, transferring you now.",
        timings={"agent_first_token_ms": 350})  # fmt: skip
    services.callback_request_create(phone=KNOWN_NUMBER, call_sid=sid, message="Call me about brakes")

    url = reverse("admin:voice_call_change", args=[calls["known"].pk])
    with django_assert_max_num_queries(20):
        response = admin_client.get(url)
    page = response.content.decode()
    assert response.status_code == 200

    lines = response.context["conversation"]
    assert [line.speaker for line in lines] == ["system", "caller", "agent", "caller", "agent"]
    interrupted = lines[2]
    assert interrupted.heard == "Front brake pads start at $189."
    assert interrupted.unheard == "I can book you this week. Would Tuesday work?"
    assert interrupted.timings == "first token 412 ms · first audio 598 ms · first frame 610 ms · heard 790 ms"
    assert lines[4].timings == "first token 350 ms" and not lines[4].interrupted

    assert re.search(
        r'<span class="heard">Front brake pads start at \$189\.</span>\s*'
        r'<del class="unheard"[^>]*>\s*I can book you this week\. Would Tuesday work\?</del>',
        page,
    )
    assert '<span class="tag">interrupted</span>' in page
    assert page.count('<span class="tag">interrupted</span>') == 1
    assert "first token 412 ms · first audio 598 ms · first frame 610 ms · heard 790 ms" in page
    assert 'class="voice-turn caller"' in page and 'class="voice-turn agent"' in page
    assert 'class="voice-turn system"' in page
    for text in ("Wants a quote for front brakes.", "Asked for a person", "(602) 555-0199", "transferred",
                 "Call me about brakes", "2:05"):  # fmt: skip
        assert text in page, text
    # Read-only record: no save button.
    assert 'name="_save"' not in page


def test_call_page_queries_do_not_grow_with_the_conversation(admin_client, calls, voice_advisor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sid, url = calls["known"].call_sid, reverse("admin:voice_call_change", args=[calls["known"].pk])
    say(sid, Speaker.CALLER, "hello")
    services.callback_request_create(phone=KNOWN_NUMBER, call_sid=sid)
    admin_client.get(url)  # warm caches (content types, session) so both counts see the same page work
    with CaptureQueriesContext(connection) as short:
        assert admin_client.get(url).status_code == 200
    for i in range(40):
        say(sid, Speaker.AGENT if i % 2 else Speaker.CALLER, f"line {i}", heard_text=f"line {i}",
            timings={"agent_first_token_ms": i})  # fmt: skip
    for _ in range(5):
        callback = services.callback_request_create(phone=UNKNOWN_NUMBER, call_sid=sid)
        services.callback_request_mark_done(callback=callback, user=voice_advisor)
    with CaptureQueriesContext(connection) as long:
        assert admin_client.get(url).status_code == 200
    assert len(long) == len(short)


def test_a_call_without_turns_says_so(admin_client, calls):
    page = admin_client.get(reverse("admin:voice_call_change", args=[calls["anonymous"].pk])).content.decode()
    assert "Nothing was said on this call" in page


def test_the_call_page_says_what_answered_a_call_we_placed(admin_client, calls):
    call = calls["anonymous"]
    Call.objects.filter(pk=call.pk).update(answered_by=AnsweredBy.MACHINE_END_BEEP, purpose=Purpose.REMINDER)
    page = admin_client.get(reverse("admin:voice_call_change", args=[call.pk])).content.decode()
    assert "Answered by" in page and "a machine (after the beep)" in page


def test_calls_cannot_be_added_or_edited(admin_client, calls):
    assert admin_client.get(reverse("admin:voice_call_add")).status_code == 403
    url = reverse("admin:voice_call_change", args=[calls["known"].pk])
    response = admin_client.post(url, {"summary": "rewritten", "outcome": "error"})
    assert response.status_code == 403
    assert Call.objects.get(pk=calls["known"].pk).summary == "Wants a quote for front brakes."


# --------------------------------------------------------------------------- callback requests


@pytest.fixture
def callbacks(calls, voice_advisor):
    old = services.callback_request_create(phone=UNKNOWN_NUMBER, call_sid=calls["unknown"].call_sid,
                                           message="Need a tow")  # fmt: skip
    CallbackRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    handled = services.callback_request_create(phone=KNOWN_NUMBER, message="Done already")
    services.callback_request_mark_done(callback=handled, user=voice_advisor)
    recent = services.callback_request_create(phone=KNOWN_NUMBER, call_sid=calls["known"].call_sid,
                                              message="Brake quote please",
                                              recording_url="https://api.twilio.com/r/RE1")  # fmt: skip
    return {"old": old, "handled": handled, "recent": recent}


def test_callback_list_shows_open_ones_first_with_links(admin_client, callbacks, calls):
    response = admin_client.get(reverse("admin:voice_callbackrequest_changelist"))
    page = response.content.decode()
    order = [c.pk for c in response.context["cl"].result_list]
    assert order == [callbacks["recent"].pk, callbacks["old"].pk, callbacks["handled"].pk]
    assert reverse("admin:voice_call_change", args=[calls["known"].pk]) in page
    assert reverse("admin:crm_customer_change", args=[calls["known"].customer_id]) in page
    assert "(520) 555-0123" in page and "Need a tow" in page and "vera-advisor" in page


@pytest.mark.parametrize("term, expected", [
    ("520-555-0123", {"old"}), ("(602) 555-0100", {"handled", "recent"}), ("tow", {"old"}),
])  # fmt: skip
def test_callback_search(admin_client, callbacks, term, expected):
    response = admin_client.get(reverse("admin:voice_callbackrequest_changelist"), {"q": term})
    assert {c.pk for c in response.context["cl"].result_list} == {callbacks[name].pk for name in expected}


def test_mark_done_action(admin_client, staff_user, callbacks):
    response = admin_client.post(reverse("admin:voice_callbackrequest_changelist"), {
        "action": "mark_done", "_selected_action": [callbacks["old"].pk, callbacks["handled"].pk],
    }, follow=True)  # fmt: skip
    assert "1 callback request marked done." in response.content.decode()
    old = CallbackRequest.objects.get(pk=callbacks["old"].pk)
    assert old.status == CallbackStatus.DONE and old.handled_by == staff_user and old.handled_at is not None
    assert CallbackRequest.objects.get(pk=callbacks["handled"].pk).handled_by.username == "vera-advisor"
    assert CallbackRequest.objects.get(pk=callbacks["recent"].pk).status == CallbackStatus.OPEN


def test_callback_page_renders_with_a_recording_link(admin_client, callbacks):
    page = admin_client.get(reverse("admin:voice_callbackrequest_change", args=[callbacks["recent"].pk]))
    assert page.status_code == 200
    assert 'href="https://api.twilio.com/r/RE1"' in page.content.decode()
    assert admin_client.get(reverse("admin:voice_callbackrequest_add")).status_code == 403


def test_staff_can_correct_the_message_and_nothing_else(client, voice_advisor, callbacks):
    client.force_login(voice_advisor)
    url = reverse("admin:voice_callbackrequest_change", args=[callbacks["recent"].pk])
    response = client.post(url, {"message": "Brake quote, front and rear", "status": "done", "phone": "+15550000000"})
    assert response.status_code == 302
    callback = CallbackRequest.objects.get(pk=callbacks["recent"].pk)
    assert callback.message == "Brake quote, front and rear"
    assert callback.status == CallbackStatus.OPEN and callback.phone == KNOWN_NUMBER


# --------------------------------------------------------------------------- staff groups


def test_advisors_read_calls_and_work_callbacks(client, voice_advisor, calls, callbacks):
    client.force_login(voice_advisor)
    call = calls["known"]
    assert client.get(reverse("admin:voice_call_changelist")).status_code == 200
    assert client.get(reverse("admin:voice_call_change", args=[call.pk])).status_code == 200
    assert client.get(reverse("admin:voice_call_delete", args=[call.pk])).status_code == 403
    assert client.get(reverse("admin:voice_call_add")).status_code == 403
    assert client.get(reverse("admin:voice_callbackrequest_changelist")).status_code == 200
    assert client.get(reverse("admin:voice_callbackrequest_delete", args=[callbacks["old"].pk])).status_code == 403

    response = client.post(reverse("admin:voice_callbackrequest_changelist"),
                           {"action": "mark_done", "_selected_action": [callbacks["old"].pk]})  # fmt: skip
    assert response.status_code == 302
    assert CallbackRequest.objects.get(pk=callbacks["old"].pk).handled_by == voice_advisor

    listing = client.get(reverse("admin:voice_call_changelist")).content.decode()
    assert "delete_selected" not in listing


def test_managers_may_delete_calls(client, voice_manager, calls):
    client.force_login(voice_manager)
    call = calls["anonymous"]
    assert client.get(reverse("admin:voice_call_delete", args=[call.pk])).status_code == 200
    response = client.post(reverse("admin:voice_call_delete", args=[call.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Call.objects.filter(pk=call.pk).exists()


def test_admin_pages_need_staff(client, calls):
    response = client.get(reverse("admin:voice_call_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --------------------------------------------------------------------------- tool calls, changes, summaries

HANDOVER = "Dana Whitfield, a customer. Wants to move her oil change."


@pytest.fixture
def booked_with_tools(calls, appointment, known_customer):
    """The known customer's call: a question answered, an appointment booked, a refused move, a late write."""
    sid, start = calls["known"].call_sid, timezone.now() - timedelta(minutes=5)
    say(sid, Speaker.CALLER, "When do you open? And book me an oil change.", at=start)
    search = invocation("search_knowledge", kind=ToolKind.READ, data={"answer": "We open at seven."},
                        arguments={"question": "opening hours"}, started_at=start + timedelta(seconds=1))  # fmt: skip
    book = invocation(data={"appointment": appointment.pk}, started_at=start + timedelta(seconds=2),
                      changes=(Change(AgentChangeKind.BOOKED, appointment_id=appointment.pk,
                                      customer_id=known_customer.pk, vehicle_id=appointment.vehicle_id),))  # fmt: skip
    say(sid, Speaker.AGENT, "We open at seven, and you're booked.", at=start + timedelta(seconds=3),
        tools=[(search, True), (book, False)])  # fmt: skip
    say(sid, Speaker.CALLER, "Move it an hour later?", at=start + timedelta(seconds=10))
    refused = invocation("move_appointment", ok=False, say="Sorry, eleven is taken.", data={"alternatives": ["13:00"]},
                         started_at=start + timedelta(seconds=11), duration_ms=7)  # fmt: skip
    say(sid, Speaker.AGENT, "Sorry, eleven is taken.", at=start + timedelta(seconds=12), tools=[(refused, True)])
    callback = services.callback_request_create(phone=KNOWN_NUMBER, call_sid=sid, message="Call about the move")
    late = invocation("take_message", started_at=start + timedelta(seconds=13), data={"callback": callback.pk},
                      changes=(Change(AgentChangeKind.MESSAGE_TAKEN, callback_id=callback.pk),))  # fmt: skip
    services.tool_invocation_record(call_sid=sid, invocation=late)
    services.call_set_handover_summary(call_sid=sid, summary=HANDOVER)
    services.call_record_summary(call_id=calls["known"].pk, summary="", result=CallResult.BOOKED)
    return {"callback": callback, "appointment": appointment}


def test_call_page_shows_each_tool_call_after_its_turn_and_what_the_call_changed(admin_client, calls,
                                                                                  booked_with_tools):  # fmt: skip
    response = admin_client.get(reverse("admin:voice_call_change", args=[calls["known"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    lines = response.context["conversation"]
    assert [(line.speaker, getattr(line, "name", "")) for line in lines] == [
        ("caller", ""), ("agent", ""), ("tool", "search_knowledge"), ("tool", "book_appointment"),
        ("caller", ""), ("agent", ""), ("tool", "move_appointment"), ("tool", "take_message"),
    ]  # fmt: skip
    search, book, refused = lines[2], lines[3], lines[6]
    assert search.arguments == '{"question": "opening hours"}' and search.outcome == '{"answer": "We open at seven."}'
    assert search.heard and not book.heard and search.kind == "read" and book.kind == "write"
    assert not refused.ok and refused.outcome == "Sorry, eleven is taken." and refused.duration == "7 ms"
    assert page.index("We open at seven, and you&#x27;re booked.") < page.index("search_knowledge") < page.index(
        "book_appointment") < page.index("Move it an hour later?") < page.index("move_appointment")  # fmt: skip
    assert "answer not heard" in page and "answer heard" in page and "Sorry, eleven is taken." in page

    appointment, callback = booked_with_tools["appointment"], booked_with_tools["callback"]
    for url in (reverse("admin:scheduling_appointment_change", args=[appointment.pk]),
                reverse("admin:crm_customer_change", args=[appointment.customer_id]),
                reverse("admin:crm_vehicle_change", args=[appointment.vehicle_id]),
                reverse("admin:voice_callbackrequest_change", args=[callback.pk])):  # fmt: skip
        assert f'href="{url}"' in page, url
    changes = response.context["changes"]
    assert [change.kind for change in changes] == ["booked", "message taken"]
    assert changes[0].text.startswith("Booked an appointment for ")
    # The summary, the result and what the advisor was told.
    for text in ("Wants a quote for front brakes.", HANDOVER, "Told the advisor"):
        assert text in page, text
    assert re.search(r"result.*?</label>\s*<div class=\"readonly\">booked</div>", page, re.S)


def test_call_page_queries_do_not_grow_with_tool_calls(admin_client, calls, appointment, known_customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sid, url = calls["known"].call_sid, reverse("admin:voice_call_change", args=[calls["known"].pk])

    def a_round(i):
        changes = (Change(AgentChangeKind.BOOKED, appointment_id=appointment.pk, customer_id=known_customer.pk,
                          vehicle_id=appointment.vehicle_id),)  # fmt: skip
        say(sid, Speaker.AGENT, f"line {i}", tools=[(invocation(changes=changes), True),
                                                   (invocation("search_knowledge", kind=ToolKind.READ), False)])

    a_round(0)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as short:
        assert admin_client.get(url).status_code == 200
    for i in range(1, 15):
        a_round(i)
    with CaptureQueriesContext(connection) as long:
        assert admin_client.get(url).status_code == 200
    assert len(long) == len(short)


def test_a_call_that_changed_nothing_says_so(admin_client, calls):
    page = admin_client.get(reverse("admin:voice_call_change", args=[calls["unknown"].pk])).content.decode()
    assert "Nothing: the phone agent changed no appointments" in page


def test_call_list_shows_and_filters_the_result(admin_client, calls):
    services.call_record_summary(call_id=calls["known"].pk, summary="", result=CallResult.TRANSFERRED)
    services.call_record_summary(call_id=calls["unknown"].pk, summary="", result=CallResult.ANSWERED)
    response = admin_client.get(reverse("admin:voice_call_changelist"), {"result__exact": "answered"})
    assert listed(response) == {calls["unknown"].call_sid}


def test_the_customer_page_lists_their_calls_and_what_they_changed(admin_client, calls, booked_with_tools,
                                                                    known_customer, django_assert_max_num_queries):
    # A call from an unknown number that created records of this customer is theirs too.
    services.turn_record(call_sid=calls["anonymous"].call_sid, speaker=Speaker.AGENT, text="Added you.",
                         started_at=timezone.now(), ended_at=timezone.now(), tools=[
                             (invocation("create_customer", changes=(Change(AgentChangeKind.VEHICLE_ADDED,
                                                                            customer_id=known_customer.pk),)), True)])
    url = reverse("admin:crm_customer_change", args=[known_customer.pk])
    with django_assert_max_num_queries(30):
        response = admin_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert [line.url for line in response.context["voice_calls"]] == [
        reverse("admin:voice_call_change", args=[calls[name].pk]) for name in ("reminder", "anonymous", "known")
    ]
    known_line = response.context["voice_calls"][2]
    assert known_line.result == "booked" and known_line.summary == "Wants a quote for front brakes."
    assert [change.kind for change in known_line.changes] == ["booked", "message taken"]
    appointment = booked_with_tools["appointment"]
    assert reverse("admin:scheduling_appointment_change", args=[appointment.pk]) in page
    assert reverse("admin:voice_callbackrequest_change", args=[booked_with_tools["callback"].pk]) in page
    assert "Wants a quote for front brakes." in page and ">Calls</h2>" in page
    # crm's own form is all there, inlines included, and still saves.
    prefixes = [inline.formset.prefix for inline in response.context["inline_admin_formsets"]]
    assert prefixes == ["other_phones", "vehicles", "consent_changes"]
    assert admin_client.get(reverse("admin:crm_customer_add")).status_code == 200


def test_the_customer_page_links_to_all_their_calls_when_there_are_many(admin_client, known_customer):
    for n in range(25):
        services.call_register_inbound(call_sid=call_sid(100 + n), from_number=KNOWN_NUMBER, to_number="+16025550000")
    response = admin_client.get(reverse("admin:crm_customer_change", args=[known_customer.pk]))
    assert len(response.context["voice_calls"]) == 20 and response.context["voice_call_total"] == 25
    all_calls = response.context["voice_calls_url"]
    assert "The latest 20 of 25 calls." in response.content.decode()
    assert len(listed(admin_client.get(all_calls))) == 25


def test_staff_who_may_not_read_calls_see_no_calls_on_the_customer_page(client, known_customer, calls):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    clerk = get_user_model().objects.create_user("clerk", "clerk@example.com", "correct-horse-battery", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(clerk)
    response = client.get(reverse("admin:crm_customer_change", args=[known_customer.pk]))
    assert response.status_code == 200 and "voice_calls" not in response.context
    assert ">Calls</h2>" not in response.content.decode()
