"""The admin's "Try the agent" chat: its socket (voice.chat.consumer) driving the agent against the OpenAI stand-in
(a scripted model that reads the tool results it is sent) and our real tools over the real database, and its page.

A chat that is not a dry run books for real, credited to the phone agent; a dry run shows the same tool results
and keeps nothing, holding no transaction between replies. Staff without the permissions are refused, and bad
messages get an error back without disturbing the chat.
"""

from __future__ import annotations

from html import unescape

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from agent.model_agent import ModelAgent
from scheduling.models import Appointment, AppointmentEvent
from standins import Reply
from standins._background import WAIT_SECONDS
from tests.standins.fixtures import fake_openai  # noqa: F401
from tests.voice.test_agent_calls import BookingModel, dana, dealership  # noqa: F401
from voice.chat import SOCKET_PATH
from voice.chat.consumer import AgentChatConsumer
from voice.chat.conversation import MAX_TEXT_CHARS, AgentChat, ChatSetup
from voice.models import CallbackRequest

BOOKING_TURNS = ["I need an oil change for my Civic next Tuesday afternoon", "the first one please", "yes please"]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def model(settings, fake_openai):  # noqa: F811
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    settings.VOICE_AGENT_TIMEOUT_SECONDS = 20  # the stand-in answers at once; a busy machine must not time out
    return fake_openai


def staff_with(username: str, *codenames: str):
    """A staff member with exactly these permissions ("app_label.codename")."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    for name in codenames:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@pytest.fixture
def reader(db):
    """May open the page and chat in dry runs only."""
    return staff_with("rita-reader", "voice.view_call", "crm.view_customer")


@pytest.fixture
def keeper(db):
    """May also keep the chat's changes (an advisor's permissions; the groups themselves are gone after a flush)."""
    return staff_with("kim-keeper", "voice.view_call", "crm.view_customer", "scheduling.add_appointment",
                      "scheduling.change_appointment", "crm.add_customer", "crm.change_customer", "crm.add_vehicle")


@pytest.fixture
def outsider(db):
    """Staff, but not allowed to read calls."""
    return staff_with("olga-outsider", "crm.view_customer")


@pytest.fixture(autouse=True)
def database_threads_closed():
    """The chat's database work leaves a connection in Channels' shared database thread (and the agent's pool,
    when it has one): closed after every test, so the test database can be dropped."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from agent.database import shutdown

    shutdown()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


_open: list[WebsocketCommunicator] = []


@pytest.fixture(autouse=True)
async def sockets_closed():
    """Every chat a test opened is closed, also when the test failed, so its dry run never outlives the test."""
    yield
    while _open:
        await _open.pop().disconnect()


async def open_socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(AgentChatConsumer.as_asgi(), SOCKET_PATH)
    _open.append(communicator)
    communicator.scope["user"] = user
    connected, code = await communicator.connect(timeout=WAIT_SECONDS)
    assert connected, code
    return communicator


async def until(communicator, kind: str) -> list[dict]:
    """The messages received up to and including the first of type ``kind``."""
    messages = []
    while not messages or messages[-1]["type"] != kind:
        messages.append(await communicator.receive_json_from(timeout=WAIT_SECONDS))
    return messages


async def start_chat(user, **start) -> tuple[WebsocketCommunicator, dict]:
    communicator = await open_socket(user)
    await communicator.send_json_to({"type": "start", **start})
    ready = (await until(communicator, "ready"))[-1]
    return communicator, ready


async def say(communicator, text: str) -> list[dict]:
    """The caller's words, and everything the reply sent up to its end."""
    await communicator.send_json_to({"type": "say", "text": text})
    return await until(communicator, "reply_done")


def of_type(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m["type"] == kind]


def agent_text(messages: list[dict]) -> str:
    return " ".join(m["text"] for m in of_type(messages, "agent"))


async def book_by_chat(communicator) -> list[dict]:
    """The booking conversation, each reply checked as it is shown; returns the booking reply's messages."""
    first = await say(communicator, BOOKING_TURNS[0])
    assert of_type(first, "caller") == [{"type": "caller", "text": BOOKING_TURNS[0]}]
    assert [c["name"] for c in of_type(first, "tools")[0]["calls"]] == ["get_available_slots"]
    slots = of_type(first, "tool_result")[0]
    assert slots["ok"] is True and slots["result"]["slots"] and slots["kind"] == "read"
    assert slots["arguments"]["part_of_day"] == "afternoon"
    assert agent_text(first).startswith("Let me check Tuesday afternoon.") and "Which would you like?" in agent_text(first)
    assert "Shall I book it?" in agent_text(await say(communicator, BOOKING_TURNS[1]))
    return await say(communicator, BOOKING_TURNS[2])


def idle_in_transaction() -> int:
    """Other sessions of this database holding a transaction open."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'")  # fmt: skip
        return cursor.fetchone()[0]


# --------------------------------------------------------------------------- conversations

# The chat's database work runs in threads of its own, which see only committed rows.
committed = pytest.mark.django_db(transaction=True)


@committed
async def test_a_chat_that_is_not_a_dry_run_books_for_real_credited_to_the_phone_agent(model, dealership, dana,
                                                                                        keeper):  # fmt: skip
    customer, civic = dana
    model.responder = BookingModel(service_id=dealership.pk, vehicle_id=civic.pk)
    communicator, ready = await start_chat(keeper, customer=customer.pk, phone="", dry_run=False)
    assert ready["known"] is True and ready["dry_run"] is False
    assert ready["caller"].startswith("Dana Whitfield")

    booking = await book_by_chat(communicator)
    booked = of_type(booking, "tool_result")[0]
    assert (booked["name"], booked["ok"], booked["kind"]) == ("book_appointment", True, "write")
    assert "You're all set for" in agent_text(booking)
    assert booking[-1] == {"type": "reply_done", "undone": False, "over": False}

    appointment = await sync_to_async(Appointment.objects.get)(customer=customer)
    assert appointment.vehicle_id == civic.pk
    assert booked["changes"] == [{"kind": "booked", "label": f"appointment {appointment.pk}",
                                  "url": reverse("admin:scheduling_appointment_change", args=[appointment.pk])}]
    event = await sync_to_async(AppointmentEvent.objects.get)(appointment=appointment)
    assert (event.action, event.actor_kind, event.call_sid) == ("booked", "phone_agent", "")

    goodbye = await say(communicator, "great thanks bye")
    assert of_type(goodbye, "end_call") == [{"type": "end_call"}]
    assert goodbye[-1]["over"] is True
    await communicator.send_json_to({"type": "say", "text": "hello again"})
    assert "over" in (await communicator.receive_json_from(timeout=WAIT_SECONDS))["message"]
    await communicator.disconnect()


@committed
async def test_a_dry_run_shows_the_same_booking_and_keeps_nothing_nor_holds_a_transaction_between_replies(
    model, dealership, dana, reader
):
    customer, civic = dana
    model.responder = BookingModel(service_id=dealership.pk, vehicle_id=civic.pk)
    communicator, ready = await start_chat(reader, customer=customer.pk, dry_run=True)
    assert ready["dry_run"] is True

    booking = await book_by_chat(communicator)
    booked = of_type(booking, "tool_result")[0]
    assert (booked["name"], booked["ok"]) == ("book_appointment", True)
    assert booked["result"]["appointment_id"], "the tool did book, inside the reply's sandbox"
    assert booked["changes"] == [], "nothing to link to: it was undone"
    assert booking[-1] == {"type": "reply_done", "undone": True, "over": False}
    # Undone when the reply ended, not when the chat closes: nothing kept, no transaction left open.
    assert not await sync_to_async(Appointment.objects.exists)()
    assert not await sync_to_async(AppointmentEvent.objects.exists)()
    assert await sync_to_async(idle_in_transaction)() == 0
    await communicator.disconnect()
    assert not await sync_to_async(Appointment.objects.exists)()


@committed
async def test_a_message_taken_in_a_dry_run_is_undone_and_in_a_real_chat_kept(model, dealership, keeper):
    message = ("take_message", {"message": "Please call me about my brakes"})
    for dry_run in (True, False):
        model.queue_reply(Reply(text="I'll pass that on.", tool_calls=[message]))
        model.queue_text("Someone will call you back.")
        communicator, ready = await start_chat(keeper, phone="+16025550188", dry_run=dry_run)
        assert ready["known"] is False and "unknown caller" in ready["caller"]
        reply = await say(communicator, "can someone call me back about my brakes")
        result = of_type(reply, "tool_result")[0]
        assert (result["name"], result["ok"]) == ("take_message", True), result
        await communicator.disconnect()
        assert await sync_to_async(CallbackRequest.objects.count)() == (0 if dry_run else 1)


@committed
async def test_the_spoken_form_is_shown_when_it_differs_and_a_transfer_ends_the_conversation(model, reader):
    model.queue_text("An oil change is $49-$89 and takes about 1 hr.")
    model.queue_reply(Reply(text="Let me get you an advisor.",
                            tool_calls=[("transfer_to_person", {"reason": "wants a quote for new tires"})]))  # fmt: skip
    communicator, _ = await start_chat(reader, phone="+16025550123", dry_run=True)
    price = of_type(await say(communicator, "how much is an oil change"), "agent")
    assert price == [{"type": "agent", "text": "An oil change is $49-$89 and takes about 1 hr.",
                      "spoken": "An oil change is 49 to 89 dollars and takes about 1 hour."}]
    handover = await say(communicator, "can I talk to someone about tires")
    assert of_type(handover, "agent") == [{"type": "agent", "text": "Let me get you an advisor.", "spoken": ""}]
    transfer = of_type(handover, "transfer")
    assert transfer and "602 555 0123" in transfer[0]["whisper"] and "quote for new tires" in transfer[0]["whisper"]
    assert handover[-1]["over"] is True
    await communicator.disconnect()


@committed
async def test_a_model_failure_is_an_error_line_and_the_chat_goes_on(model, reader):
    """The model agent on its own (no offline agent behind it) raises AgentError when its stream is cut."""
    sent = []

    async def send(message):
        sent.append(message)

    chat = AgentChat(ChatSetup(customer_id=None, phone="", dry_run=True), send, make=ModelAgent)
    await chat.open()
    model.queue_text("Well, let me think about that for a moment.")
    model.drop_next(1, after_tokens=2)
    chat.say("hello")
    await chat._reply
    errors = of_type(sent, "error")
    assert len(errors) == 1 and errors[0]["message"].startswith("The agent failed"), sent
    assert sent[-1] == {"type": "reply_done", "undone": True, "over": False}
    sent.clear()
    model.queue_text("Hello! How can I help?")
    chat.say("hello?")
    await chat._reply
    assert agent_text(sent) == "Hello! How can I help?"
    await chat.close()


@committed
async def test_a_model_that_fails_twice_hands_the_chat_to_the_offline_agent_with_a_notice(model, reader):
    model.fail_next(2, 500)
    communicator, _ = await start_chat(reader, dry_run=True)
    reply = await say(communicator, "what time do you open on saturday")
    notices = of_type(reply, "notice")
    assert len(notices) == 1 and "offline agent" in notices[0]["text"]
    assert agent_text(reply) and not of_type(reply, "error")
    await communicator.disconnect()


@committed
async def test_with_no_model_key_the_offline_agent_answers(settings, reader):
    settings.OPENAI_API_KEY = ""
    communicator, ready = await start_chat(reader, dry_run=True)
    assert ready["type"] == "ready"
    reply = await say(communicator, "what time do you open on saturday")
    assert agent_text(reply) and not of_type(reply, "error"), reply
    await communicator.disconnect()


@committed
async def test_one_chat_in_trouble_leaves_another_answering(model, reader):
    first, _ = await start_chat(reader, dry_run=True)
    second, _ = await start_chat(reader, dry_run=True)
    model.fail_next(2, 500)
    assert of_type(await say(first, "hello"), "notice"), "the first chat's model failed twice"
    await first.send_to(text_data="{broken")
    assert (await first.receive_json_from(timeout=WAIT_SECONDS))["type"] == "error"
    model.queue_text("Hi there.")
    assert agent_text(await say(second, "hi")) == "Hi there."
    assert len(model.chat_requests) == 3, "the second chat's model was asked as usual"
    await first.disconnect()
    await second.disconnect()


# --------------------------------------------------------------------------- who may chat


@committed
async def test_staff_who_may_not_read_calls_and_anonymous_users_are_refused_with_4403(outsider):
    from django.contrib.auth.models import AnonymousUser

    for user in (outsider, AnonymousUser()):
        communicator = WebsocketCommunicator(AgentChatConsumer.as_asgi(), SOCKET_PATH)
        communicator.scope["user"] = user
        assert await communicator.connect(timeout=WAIT_SECONDS) == (False, 4403)


@committed
async def test_keeping_changes_needs_the_permissions_to_make_them(model, reader):
    communicator = await open_socket(reader)
    await communicator.send_json_to({"type": "start", "dry_run": False})
    refused = await communicator.receive_json_from(timeout=WAIT_SECONDS)
    assert refused["type"] == "error" and "cannot start" in refused["message"]
    await communicator.send_json_to({"type": "say", "text": "hello"})
    assert (await communicator.receive_json_from(timeout=WAIT_SECONDS))["message"] == "Start a chat first."
    await communicator.disconnect()


@committed
async def test_the_socket_signs_in_through_the_admin_session_and_checks_the_origin(reader, client):
    from dealership.routing import websocket_urlpatterns

    application = URLRouter(websocket_urlpatterns)
    await sync_to_async(client.force_login)(reader)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    cases = [
        ([(b"cookie", cookie), (b"origin", b"http://localhost")], (True, None)),
        ([(b"origin", b"http://localhost")], (False, 4403)),  # not signed in
        ([(b"cookie", cookie), (b"origin", b"https://evil.example")], (False, 1000)),  # another site's page
    ]
    for headers, expected in cases:
        communicator = WebsocketCommunicator(application, SOCKET_PATH, headers=headers)
        connected, code = await communicator.connect(timeout=WAIT_SECONDS)
        assert (connected, code if not connected else None) == expected, headers
        await communicator.disconnect()


# --------------------------------------------------------------------------- bad messages


@committed
async def test_bad_messages_get_an_error_and_change_nothing(model, reader, dana):
    customer, _ = dana
    communicator = await open_socket(reader)

    async def error_for(**frame) -> str:
        await communicator.send_to(**frame)
        message = await communicator.receive_json_from(timeout=WAIT_SECONDS)
        assert message["type"] == "error", message
        return message["message"]

    assert "not JSON" in await error_for(text_data="{nope")
    assert "JSON object" in await error_for(text_data="[1, 2]")
    assert "Binary" in await error_for(bytes_data=b"\x00\x01")
    assert "too long" in await error_for(text_data="x" * 20_000)
    assert "Unknown message type" in await error_for(text_data='{"type": "shout"}')
    assert "cannot start" in await error_for(text_data='{"type": "start", "phone": "not a number"}')
    assert "cannot start" in await error_for(text_data='{"type": "start", "customer": 999999}')
    await communicator.send_json_to({"type": "start", "customer": customer.pk, "dry_run": True})
    assert (await until(communicator, "ready"))[-1]["known"] is True
    assert "started already" in await error_for(text_data='{"type": "start"}')
    assert "Type something" in await error_for(text_data='{"type": "say", "text": "   "}')
    assert "Type something" in await error_for(text_data='{"type": "say", "text": 42}')
    assert "too long" in await error_for(text_data='{"type": "say", "text": "%s"}' % ("a" * (MAX_TEXT_CHARS + 1)))

    release = model.hold_next()
    model.queue_text("Sorry for the wait.")
    await communicator.send_json_to({"type": "say", "text": "hello"})
    assert (await communicator.receive_json_from(timeout=WAIT_SECONDS))["type"] == "caller"
    await sync_to_async(model.wait_for_chat_requests)(1)
    assert "still answering" in await error_for(text_data='{"type": "say", "text": "hello?"}')
    release.set()
    reply = await until(communicator, "reply_done")
    assert agent_text(reply) == "Sorry for the wait."
    assert len(model.chat_requests) == 1, "the refused words never reached the agent"
    assert "hello?" not in str(model.chat_requests[0].messages)
    await communicator.disconnect()


# --------------------------------------------------------------------------- the page


@pytest.mark.django_db
def test_the_page_renders_the_form_for_staff_who_may_read_calls(client, voice_advisor):
    client.force_login(voice_advisor)
    page = client.get(reverse("admin:voice_call_agent_chat"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="customer"' in html and "admin-autocomplete" in html, "the admin's own customer search box"
    assert 'name="phone"' in html and 'name="dry_run"' in html and "checked" in html
    assert "each reply's changes are undone when the reply ends" in unescape(html)
    assert 'id="chat-log"' not in html, "no chat before Start"
    assert "Try the agent" in client.get(reverse("admin:voice_call_changelist")).content.decode()


@pytest.mark.django_db
def test_starting_shows_the_chat_with_its_start_message(client, voice_advisor, dana):
    customer, _ = dana
    client.force_login(voice_advisor)
    page = client.get(reverse("admin:voice_call_agent_chat"), {"customer": "", "phone": "(602) 555-0111"})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="chat-log"' in html and SOCKET_PATH in html
    assert "Dana Whitfield, recognised by the number" in html, "a customer's number picks them, as on the phone"
    assert f'"customer": null, "phone": "{customer.phone}", "dry_run": false' in html
    assert "Changes are real" in html


@pytest.mark.django_db
def test_staff_who_may_not_keep_changes_get_a_dry_run_they_cannot_untick(client, reader):
    client.force_login(reader)
    page = client.get(reverse("admin:voice_call_agent_chat"), {"phone": ""})
    html = page.content.decode()
    assert page.status_code == 200 and '"dry_run": true' in html and "disabled" in html
    assert "Dry run: each reply's changes are undone when it ends." in unescape(html)


@pytest.mark.django_db
def test_the_page_is_refused_to_other_staff_and_sends_visitors_to_sign_in(client, outsider):
    url = reverse("admin:voice_call_agent_chat")
    visitor = client.get(url)
    assert visitor.status_code == 302 and reverse("admin:login") in visitor["Location"]
    client.force_login(outsider)
    assert client.get(url).status_code == 403
