"""Call records: the services that write calls, turns and callback requests, the selectors, the stream token."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from voice import services
from voice.models import Call, CallbackRequest, CallbackStatus, CallStatus, Direction, Outcome, Purpose, Speaker, Turn
from voice.security import make_stream_token, media_stream_url, public_url, stream_token_is_valid
from voice.selectors import call_with_conversation, open_callbacks, phone_agent_missing_settings

from .conftest import KNOWN_NUMBER, call_sid

pytestmark = pytest.mark.django_db


def inbound(n: int = 1, from_number: str = KNOWN_NUMBER) -> Call:
    return services.call_register_inbound(call_sid=call_sid(n), from_number=from_number, to_number="+16025550000")


def say(sid: str, speaker: str, text: str, **kwargs) -> Turn:
    start = kwargs.pop("started_at", timezone.now())
    return services.turn_record(call_sid=sid, speaker=speaker, text=text, started_at=start,
                                ended_at=start + timedelta(seconds=2), **kwargs)  # fmt: skip


# --------------------------------------------------------------------------- calls


def test_register_inbound_finds_the_customer_and_is_idempotent(known_customer):
    first = inbound()
    again = inbound()
    assert first.pk == again.pk and Call.objects.count() == 1
    assert again.customer == known_customer and again.purpose == Purpose.CUSTOMER_CALL


@pytest.mark.parametrize("number", ["anonymous", "Restricted", "", "+1 (555) not a number"])
def test_register_inbound_without_a_usable_number_has_no_customer(known_customer, number):
    assert inbound(from_number=number).customer is None


def test_register_inbound_fills_in_a_call_a_status_callback_created_first(known_customer):
    services.call_apply_status(call_sid=call_sid(1), status="ringing")
    call = inbound()
    assert call.from_number == KNOWN_NUMBER and call.customer == known_customer and Call.objects.count() == 1


def test_register_outbound_then_its_status_callbacks(known_customer):
    call = services.call_register_outbound(call_sid=call_sid(5), to_number=KNOWN_NUMBER, from_number="+16025550000",
                                           purpose=Purpose.REMINDER, customer=known_customer)  # fmt: skip
    assert (call.direction, call.status, call.purpose) == (Direction.OUTBOUND, CallStatus.QUEUED, Purpose.REMINDER)
    for status in ("ringing", "in-progress", "completed"):
        call = services.call_apply_status(call_sid=call.call_sid, status=status)
    assert call.status == CallStatus.COMPLETED and call.ended_at is not None
    with pytest.raises(services.CallError):
        services.call_register_outbound(call_sid=call_sid(6), to_number=KNOWN_NUMBER, from_number="",
                                        purpose="marketing")  # fmt: skip


@pytest.mark.parametrize("sequence, final", [
    (["queued", "ringing", "in-progress", "completed"], "completed"),
    (["completed", "in-progress", "ringing", "queued"], "completed"),
    (["in-progress", "ringing"], "in-progress"),
    (["ringing", "no-answer", "completed"], "no-answer"),
    (["busy", "failed"], "busy"),
    (["canceled"], "canceled"),
])  # fmt: skip
def test_status_never_moves_back_and_the_first_end_stays(sequence, final):
    for status in sequence:
        call = services.call_apply_status(call_sid=call_sid(1), status=status)
    assert call.status == final
    assert (call.ended_at is not None) == (final in services.TERMINAL_STATUSES)


def test_ended_at_is_set_once_and_duration_filled_once():
    moment = datetime(2026, 11, 21, 21, 0, tzinfo=UTC)
    call = services.call_apply_status(call_sid=call_sid(1), status="completed", duration_seconds=61, at=moment)
    call = services.call_apply_status(call_sid=call_sid(1), status="completed", duration_seconds=99,
                                      at=moment + timedelta(minutes=5))  # fmt: skip
    assert call.ended_at == moment and call.duration_seconds == 61


def test_unknown_status_and_bad_duration_raise_service_errors():
    with pytest.raises(services.UnknownCallStatus) as error:
        services.call_apply_status(call_sid=call_sid(1), status="on-hold")
    assert error.value.message == "Unknown call status “on-hold”."
    with pytest.raises(services.CallError):
        services.call_apply_status(call_sid=call_sid(1), status="completed", duration_seconds=-1)
    with pytest.raises(services.CallError):
        services.call_apply_status(call_sid="", status="completed")
    assert not Call.objects.exists()


def test_stream_start_answers_the_call_but_never_revives_an_ended_one():
    inbound()
    call = services.call_mark_stream_started(call_sid=call_sid(1), stream_sid="MZ" + "1" * 32)
    answered = call.answered_at
    assert call.status == CallStatus.IN_PROGRESS and answered is not None and call.stream_sid == "MZ" + "1" * 32
    call = services.call_mark_stream_started(call_sid=call_sid(1), stream_sid="MZ" + "1" * 32)
    assert call.answered_at == answered

    services.call_apply_status(call_sid=call_sid(2), status="completed")
    late = services.call_mark_stream_started(call_sid=call_sid(2), stream_sid="MZ" + "2" * 32)
    assert late.status == CallStatus.COMPLETED


def test_an_answered_reminder_call_counts_as_contact(known_customer):
    services.call_register_outbound(call_sid=call_sid(5), to_number=KNOWN_NUMBER, from_number="+16025550000",
                                    purpose=Purpose.REMINDER, customer=known_customer)  # fmt: skip
    known_customer.refresh_from_db()
    assert known_customer.last_contact_at is None
    call = services.call_mark_stream_started(call_sid=call_sid(5), stream_sid="MZ" + "5" * 32)
    known_customer.refresh_from_db()
    assert known_customer.last_contact_at == call.answered_at


def test_call_finish_first_writer_wins():
    inbound()
    call = services.call_finish(call_sid=call_sid(1), outcome=Outcome.TRANSFERRED, reason="Asked for a person",
                                transfer_target="+16025550199")  # fmt: skip
    ended = call.ended_at
    call = services.call_finish(call_sid=call_sid(1), outcome=Outcome.CALLER_HUNG_UP, reason="Hung up",
                                error="stream closed", summary="Wanted a brake quote.")  # fmt: skip
    assert call.outcome == Outcome.TRANSFERRED and call.end_reason == "Asked for a person"
    assert call.transfer_target == "+16025550199" and call.ended_at == ended
    assert call.error == "stream closed" and call.summary == "Wanted a brake quote."
    call = services.call_finish(call_sid=call_sid(1), outcome=Outcome.ERROR, error="later", summary="later")
    assert (call.outcome, call.error, call.summary) == (Outcome.TRANSFERRED, "stream closed", "Wanted a brake quote.")
    call.refresh_from_db()
    assert call.outcome == Outcome.TRANSFERRED


@pytest.mark.parametrize("outcome", ["", "exploded"])
def test_call_finish_needs_a_real_outcome(outcome):
    inbound()
    with pytest.raises(services.CallError):
        services.call_finish(call_sid=call_sid(1), outcome=outcome)
    assert Call.objects.get().outcome == Outcome.IN_PROGRESS


# --------------------------------------------------------------------------- turns


def test_turns_get_consecutive_positions_and_sane_timings():
    inbound()
    sid = call_sid(1)
    say(sid, Speaker.CALLER, "How much is an oil change?")
    agent = say(sid, Speaker.AGENT, "A synthetic oil change is $79.95. Want to book one?",
                heard_text="A synthetic oil change is $79.95.", interrupted=True,
                timings={"agent_first_token_ms": 412, "tts_first_byte_ms": 598.4, "first_frame_ms": -5,
                         "first_mark_ms": 10**9})  # fmt: skip
    assert (agent.position, agent.interrupted, agent.heard_text) == (2, True, "A synthetic oil change is $79.95.")
    assert (agent.agent_first_token_ms, agent.tts_first_byte_ms, agent.first_frame_ms, agent.first_mark_ms) == (
        412, 598, None, None,
    )  # fmt: skip
    odd = say(sid, Speaker.AGENT, "ok", timings={"agent_first_token_ms": float("nan"), "first_frame_ms": "fast",
                                                 "first_mark_ms": True, "tts_first_byte_ms": None})  # fmt: skip
    assert (odd.agent_first_token_ms, odd.first_frame_ms, odd.first_mark_ms, odd.tts_first_byte_ms) == (
        None, None, None, None,
    )  # fmt: skip
    assert list(Turn.objects.values_list("position", flat=True)) == [1, 2, 3]


def test_turn_record_refuses_unknown_timings_speakers_and_naive_times():
    inbound()
    with pytest.raises(services.CallError):
        say(call_sid(1), Speaker.AGENT, "hi", timings={"first_token_ms": 3})
    with pytest.raises(services.CallError):
        say(call_sid(1), "robot", "hi")
    with pytest.raises(services.CallError):
        say(call_sid(1), Speaker.CALLER, "hi", started_at=datetime(2026, 1, 1, 12, 0))
    assert not Turn.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_writers_never_get_the_same_position():
    inbound()
    sid, per_writer = call_sid(1), 15
    barrier = threading.Barrier(2)
    errors = []

    def writer(speaker):
        try:
            barrier.wait(timeout=10)
            for i in range(per_writer):
                say(sid, speaker, f"{speaker} {i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(speaker,)) for speaker in (Speaker.CALLER, Speaker.AGENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    positions = sorted(Turn.objects.filter(call__call_sid=sid).values_list("position", flat=True))
    assert positions == list(range(1, 2 * per_writer + 1))
    # Each writer's turns stay in its own order.
    for speaker in (Speaker.CALLER, Speaker.AGENT):
        texts = list(Turn.objects.filter(speaker=speaker).order_by("position").values_list("text", flat=True))
        assert texts == [f"{speaker} {i}" for i in range(per_writer)]


# --------------------------------------------------------------------------- callback requests


def test_callback_request_takes_the_customer_from_the_call_else_from_the_phone(known_customer):
    inbound(from_number="anonymous")
    call = Call.objects.get()
    call.customer = known_customer  # e.g. the agent identified the caller by name
    call.save()
    from_call = services.callback_request_create(phone="anonymous", call_sid=call_sid(1))
    assert from_call.customer == known_customer and from_call.call == call and from_call.phone == "anonymous"

    by_phone = services.callback_request_create(phone="480.555.0177", message="Please call about my tires")
    assert by_phone.customer == known_customer and by_phone.phone == "+14805550177" and by_phone.call is None

    nobody = services.callback_request_create(phone="(520) 555-0123")
    assert nobody.customer is None and nobody.phone == "+15205550123"
    with pytest.raises(services.CallError):
        services.callback_request_create(phone="")


def test_callback_phone_defaults_to_the_other_party_of_the_call(known_customer):
    services.call_register_outbound(call_sid=call_sid(5), to_number=KNOWN_NUMBER, from_number="+16025550000",
                                    purpose=Purpose.REMINDER)  # fmt: skip
    callback = services.callback_request_create(phone="", call_sid=call_sid(5))
    assert callback.phone == KNOWN_NUMBER and callback.customer == known_customer


def test_one_recording_makes_one_request_and_its_transcript_lands_on_it():
    inbound()
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    first = services.callback_request_create(phone=KNOWN_NUMBER, call_sid=call_sid(1), recording_url=url)
    again = services.callback_request_create(phone=KNOWN_NUMBER, call_sid=call_sid(1), recording_url=url)
    assert first.pk == again.pk
    updated = services.callback_request_set_transcript(recording_url=url, message="Call me about the recall.")
    assert updated.pk == first.pk and updated.message == "Call me about the recall."
    by_object = services.callback_request_set_transcript(callback=first, message="Corrected.")
    assert by_object.message == "Corrected." and CallbackRequest.objects.count() == 1
    with pytest.raises(services.CallError):
        services.callback_request_set_transcript(message="for what?")


def test_mark_done_records_who_and_when_once(staff_user, voice_advisor):
    callback = services.callback_request_create(phone=KNOWN_NUMBER)
    done = services.callback_request_mark_done(callback=callback, user=voice_advisor)
    assert done.status == CallbackStatus.DONE and done.handled_by == voice_advisor and done.handled_at is not None
    again = services.callback_request_mark_done(callback=callback, user=staff_user)
    assert again.handled_by == voice_advisor and again.handled_at == done.handled_at


# --------------------------------------------------------------------------- selectors


def test_call_with_conversation_reads_everything_in_a_fixed_number_of_queries(known_customer):
    inbound()
    for i in range(12):
        say(call_sid(1), Speaker.CALLER if i % 2 == 0 else Speaker.AGENT, f"turn {i}")
    services.callback_request_create(phone=KNOWN_NUMBER, call_sid=call_sid(1))
    call_id = Call.objects.get().pk
    with CaptureQueriesContext(connection) as queries:
        call = call_with_conversation(call_id)
        texts = [turn.text for turn in call.turns.all()]
        customer_name = call.customer.full_name
        callbacks = list(call.callbacks.all())
    assert len(queries) == 3
    assert texts == [f"turn {i}" for i in range(12)] and customer_name == "Dana Whitfield" and len(callbacks) == 1
    assert call_with_conversation(call_id + 1000) is None


def test_open_callbacks_are_the_open_ones_longest_waiting_first(voice_advisor):
    older = services.callback_request_create(phone=KNOWN_NUMBER)
    done = services.callback_request_create(phone="+15205550123")
    newer = services.callback_request_create(phone="+14805550111")
    CallbackRequest.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=3))
    services.callback_request_mark_done(callback=done, user=voice_advisor)
    assert list(open_callbacks()) == [older, newer]


def test_phone_agent_missing_settings(settings):
    settings.DEEPGRAM_API_KEY, settings.OPENAI_API_KEY = "dg", "sk"
    assert phone_agent_missing_settings() == []
    settings.DEEPGRAM_API_KEY, settings.OPENAI_API_KEY = " ", ""
    assert phone_agent_missing_settings() == ["DEEPGRAM_API_KEY"]  # no model key: the offline agent answers


# --------------------------------------------------------------------------- addresses and the stream token


def test_public_and_media_stream_urls(settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com/"
    assert public_url("/voice/status/?x=1&y=%2B1") == "https://crm.example.com/voice/status/?x=1&y=%2B1"
    assert media_stream_url() == "wss://crm.example.com/ws/voice/"
    settings.PUBLIC_BASE_URL = "http://localhost:8000"
    assert media_stream_url() == "ws://localhost:8000/ws/voice/"


def test_stream_token_is_bound_to_its_call_and_expires(settings):
    settings.VOICE_STREAM_TOKEN_SECONDS = 120
    now = 1_800_000_000
    token = make_stream_token(call_sid(1), now=now)
    assert token.startswith(f"{now + 120}.")
    assert stream_token_is_valid(token, call_sid(1), now=now)
    assert stream_token_is_valid(token, call_sid(1), now=now + 120)
    assert not stream_token_is_valid(token, call_sid(1), now=now + 121)
    assert not stream_token_is_valid(token, call_sid(2), now=now)
    aware = datetime.fromtimestamp(now, tz=UTC)
    assert stream_token_is_valid(make_stream_token(call_sid(1), now=aware), call_sid(1), now=aware)
    # A token made with another SECRET_KEY is worthless.
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert not stream_token_is_valid(token, call_sid(1), now=now)


@pytest.mark.parametrize("token", [
    "", "abc", ".", "123.", ".abcdef", "notanumber.abc", "1800000120", "1800000120.zz", "-5.abc", "１２３.abc",
    "1800000120.abc.def", None, 12345, "9" * 40 + ".abc",
])  # fmt: skip
def test_malformed_stream_tokens_are_invalid(token):
    assert stream_token_is_valid(token, call_sid(1), now=1_800_000_000) is False


def test_lowering_the_token_lifetime_refuses_longer_lived_tokens(settings):
    settings.VOICE_STREAM_TOKEN_SECONDS = 600
    token = make_stream_token(call_sid(1), now=1_800_000_000)
    settings.VOICE_STREAM_TOKEN_SECONDS = 120
    assert not stream_token_is_valid(token, call_sid(1), now=1_800_000_000)
    assert stream_token_is_valid(token, call_sid(1), now=1_800_000_000 + 480)
