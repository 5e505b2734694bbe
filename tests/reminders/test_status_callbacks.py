"""Twilio's status callbacks for a reminder call: signatures, every status, the result from what the call
changed, machines, retries inside the window, repeated and out-of-order callbacks.

``placed`` is Maria's reminder claimed and placed at ``evening`` through the Twilio stand-in: dialing, with its
CallSid. Callbacks are posted as Twilio posts them, signed over the public URL with the stand-in's token.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from crm import services as crm_services
from crm.models import ConsentKind, ConsentSource
from reminders.dispatch import apply_call_status, dispatch_due, place
from reminders.models import ReminderCall, ReminderResult, ReminderStatus
from tests.reminders import test_dispatch as dispatch_tests
from tests.reminders.conftest import local
from tests.reminders.test_dispatch import MARIA, OUR_NUMBER, PUBLIC_BASE_URL, events, refreshed
from voice import services as voice_services
from voice.models import Call, CallChange, CallStatus, ChangeKind

pytestmark = pytest.mark.django_db

twilio = dispatch_tests.twilio  # the Twilio stand-in with the settings on it (a fixture)


@pytest.fixture
def placed(twilio, reminder, evening) -> ReminderCall:
    dispatch_due(now=evening)
    assert place(reminder.pk, now=evening) == "placed"
    return refreshed(reminder)


def status_params(call_sid: str, status: str, **extra) -> dict:
    return {"CallSid": call_sid, "AccountSid": "AC" + "1" * 32, "From": OUR_NUMBER, "To": MARIA,
            "CallStatus": status, "Direction": "outbound-api", "ApiVersion": "2010-04-01",
            "CallbackSource": "call-progress-events", "SequenceNumber": "0", **extra}  # fmt: skip


@pytest.fixture
def post_status(client, settings):
    """``post_status(reminder_id, params)``: POST as Twilio does, signed over the public URL. ``signature=``
    sends that header instead (None: none); ``query=`` replaces the query string."""

    def post(reminder_id, params: dict, *, signature: str | bool | None = True, query: dict | None = None):
        query = urlencode(query if query is not None else {"reminder": reminder_id})
        path = reverse("reminders:status") + (f"?{query}" if query else "")
        headers = {}
        if signature is True:
            validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
            headers["X-Twilio-Signature"] = validator.compute_signature(PUBLIC_BASE_URL + path, params)
        elif signature:
            headers["X-Twilio-Signature"] = signature
        return client.post(path, urlencode(params, doseq=True), content_type="application/x-www-form-urlencoded",
                           headers=headers)  # fmt: skip

    return post


def walk(post_status, placed: ReminderCall, *statuses: str, **extra) -> None:
    for status in statuses:
        response = post_status(placed.pk, status_params(placed.call_sid, status, **extra))
        assert response.status_code == 204, response.content


# --------------------------------------------------------------------------- who may post


def test_an_unsigned_callback_is_refused_and_changes_nothing(post_status, placed, settings):
    params = status_params(placed.call_sid, "in-progress")
    assert post_status(placed.pk, params, signature=None).status_code == 403
    wrong = RequestValidator("another-token").compute_signature(
        f"{PUBLIC_BASE_URL}/reminders/status/?reminder={placed.pk}", params)
    assert post_status(placed.pk, params, signature=wrong).status_code == 403
    assert refreshed(placed).status == ReminderStatus.DIALING
    assert Call.objects.get(call_sid=placed.call_sid).status == CallStatus.QUEUED


def test_a_signature_for_another_reminders_url_is_refused(post_status, placed, settings):
    params = status_params(placed.call_sid, "completed")
    other_url = f"{PUBLIC_BASE_URL}/reminders/status/?reminder={placed.pk + 1}"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(other_url, params)
    assert post_status(placed.pk, params, signature=signature).status_code == 403
    assert refreshed(placed).status == ReminderStatus.DIALING


def test_only_post(client, placed):
    assert client.get(reverse("reminders:status") + f"?reminder={placed.pk}").status_code == 405


@pytest.mark.parametrize(
    ("query", "params", "message"),
    [
        ({"reminder": "abc"}, {"CallSid": "CA1", "CallStatus": "ringing"}, b"reminder id"),
        ({}, {"CallSid": "CA1", "CallStatus": "ringing"}, b"reminder id"),
        (None, {"CallStatus": "ringing"}, b"CallSid is missing"),
        (None, {"CallSid": "CA1", "CallStatus": "exploded"}, b"CallStatus"),
        (None, {"CallSid": "CA1"}, b"CallStatus"),
        (None, {"CallSid": "CA1", "CallStatus": "completed", "CallDuration": "a while"}, b"CallDuration"),
    ],
)
def test_malformed_callbacks_get_400(post_status, placed, query, params, message):
    response = post_status(placed.pk, params, query=query)
    assert response.status_code == 400 and message in response.content
    assert refreshed(placed).status == ReminderStatus.DIALING


def test_a_callback_for_a_reminder_that_no_longer_exists_is_accepted_and_ignored(post_status, placed):
    assert post_status(placed.pk + 1000, status_params(placed.call_sid, "completed")).status_code == 204
    assert refreshed(placed).status == ReminderStatus.DIALING


# --------------------------------------------------------------------------- the call's progress


def test_initiated_and_ringing_keep_the_row_dialing_with_its_callsid(post_status, placed):
    before = events(placed)
    walk(post_status, placed, "initiated", "ringing")
    row = refreshed(placed)
    assert (row.status, row.call_sid) == (ReminderStatus.DIALING, placed.call_sid)
    assert events(row) == before
    assert Call.objects.get(call_sid=placed.call_sid).status == CallStatus.RINGING


def test_answered_is_in_progress(post_status, placed):
    walk(post_status, placed, "initiated", "ringing", "in-progress")
    row = refreshed(placed)
    assert row.status == ReminderStatus.IN_PROGRESS
    assert events(row)[-1] == ("dialing", "in_progress", placed.call_sid)
    assert Call.objects.get(call_sid=placed.call_sid).status == CallStatus.IN_PROGRESS


def test_a_person_answered_and_hung_up_is_completed_with_no_response(post_status, placed):
    walk(post_status, placed, "initiated", "ringing", "in-progress")
    walk(post_status, placed, "completed", CallDuration="42", AnsweredBy="human")
    row = refreshed(placed)
    assert (row.status, row.result, row.answered_by, row.next_attempt_at) == (
        ReminderStatus.COMPLETED, ReminderResult.NO_RESPONSE, "human", None)
    call = Call.objects.get(call_sid=placed.call_sid)
    assert (call.status, call.duration_seconds) == (CallStatus.COMPLETED, 42) and call.ended_at is not None


@pytest.mark.parametrize(
    ("changes", "result"),
    [
        ([ChangeKind.CONFIRMED], ReminderResult.CONFIRMED),
        ([ChangeKind.MOVED], ReminderResult.RESCHEDULED),
        ([ChangeKind.CANCELLED], ReminderResult.CANCELLED),
        ([ChangeKind.CANCELLED, "booked elsewhere"], ReminderResult.RESCHEDULED),  # cancelled, booked again
        ([ChangeKind.CONFIRMED, "opted_out"], ReminderResult.CONFIRMED),  # the appointment's fate comes first
        (["opted_out"], ReminderResult.OPTED_OUT),
        (["confirmed elsewhere"], ReminderResult.NO_RESPONSE),  # another appointment is not this reminder's
        ([], ReminderResult.NO_RESPONSE),
    ],
)
def test_the_result_is_what_the_call_changed(post_status, placed, book, make_customer, plan_day, changes, result):
    call = Call.objects.get(call_sid=placed.call_sid)
    other = book(placed.appointment.customer, local(plan_day, "15:00"))
    for change in changes:
        kind, _, where = change.partition(" ")
        appointment = other if where == "elsewhere" else placed.appointment
        CallChange.objects.create(call=call, kind=kind, appointment=appointment,
                                  customer=placed.appointment.customer)  # fmt: skip
    walk(post_status, placed, "in-progress", "completed")
    assert refreshed(placed).result == result


def test_a_do_not_call_set_on_the_reminder_call_is_an_opt_out(post_status, placed, evening):
    crm_services.customer_set_consent(customer=placed.appointment.customer, kind=ConsentKind.DO_NOT_CALL,
                                      value=True, source=ConsentSource.REMINDER_CALL,
                                      at=evening + timedelta(minutes=1))  # fmt: skip
    walk(post_status, placed, "in-progress", "completed")
    assert refreshed(placed).result == ReminderResult.OPTED_OUT


def test_a_do_not_call_from_before_the_call_is_not_this_calls_opt_out(post_status, placed, evening):
    crm_services.customer_set_consent(customer=placed.appointment.customer, kind=ConsentKind.DO_NOT_CALL,
                                      value=True, source=ConsentSource.REMINDER_CALL,
                                      at=evening - timedelta(days=3))  # fmt: skip
    walk(post_status, placed, "in-progress", "completed")
    assert refreshed(placed).result == ReminderResult.NO_RESPONSE


# --------------------------------------------------------------------------- machines


@pytest.mark.parametrize(
    ("answered_by", "status"),
    [
        ("machine_end_beep", ReminderStatus.VOICEMAIL),
        ("machine_end_silence", ReminderStatus.VOICEMAIL),
        ("machine_end_other", ReminderStatus.VOICEMAIL),
        ("machine_start", ReminderStatus.VOICEMAIL),
        ("fax", ReminderStatus.VOICEMAIL),
        ("human", ReminderStatus.COMPLETED),
        ("unknown", ReminderStatus.COMPLETED),
    ],
)
def test_a_machine_detected_by_the_amd_callback_makes_it_a_voicemail(post_status, placed, answered_by, status):
    """The AMD callback (voice's) stores AnsweredBy on the call; the completed status reads it there."""
    walk(post_status, placed, "in-progress")
    voice_services.call_set_answered_by(call_sid=placed.call_sid, answered_by=answered_by)
    walk(post_status, placed, "completed")
    row = refreshed(placed)
    assert (row.status, row.answered_by) == (status, answered_by)
    if status == ReminderStatus.VOICEMAIL:
        assert row.result == ReminderResult.NO_RESPONSE


def test_answered_by_on_the_status_callback_itself_counts(post_status, placed):
    walk(post_status, placed, "in-progress")
    walk(post_status, placed, "completed", AnsweredBy="machine_end_beep")
    assert refreshed(placed).status == ReminderStatus.VOICEMAIL


def test_an_answered_by_value_twilio_adds_later_is_kept_as_unknown(post_status, placed):
    walk(post_status, placed, "in-progress", "completed", AnsweredBy="machine_end_something_new_and_long")
    row = refreshed(placed)
    assert (row.status, row.answered_by) == (ReminderStatus.COMPLETED, "unknown")


def test_a_voicemail_is_final_no_more_attempts(post_status, placed, evening):
    walk(post_status, placed, "in-progress", "completed", AnsweredBy="machine_end_beep")
    assert dispatch_due(now=evening + timedelta(hours=2)) == []
    assert refreshed(placed).attempts == 1


# --------------------------------------------------------------------------- not reached: retries


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_not_reached_is_queued_again_after_the_delay(post_status, placed, status):
    before = timezone.now()
    walk(post_status, placed, "initiated", "ringing", status)
    row = refreshed(placed)
    assert (row.status, row.attempts, row.call_sid) == (ReminderStatus.QUEUED, 1, placed.call_sid)
    # The webhook runs on the real clock, days before this appointment's eve: inside its last window.
    assert before + timedelta(minutes=90) <= row.next_attempt_at <= timezone.now() + timedelta(minutes=90)


@pytest.mark.parametrize(
    ("status", "final"),
    [("no-answer", ReminderStatus.NO_ANSWER), ("busy", ReminderStatus.BUSY), ("failed", ReminderStatus.FAILED),
     ("canceled", ReminderStatus.FAILED)],
)  # fmt: skip
def test_no_retry_past_the_customers_window_that_evening(placed, plan_day, status, final):
    eve = plan_day - timedelta(days=1)
    apply_call_status(placed.pk, call_sid=placed.call_sid, status=status, now=local(eve, "19:31"))
    row = refreshed(placed)  # 19:31 + 90 minutes = 21:01, past 21:00 in Phoenix
    assert (row.status, row.next_attempt_at) == (final, None)


def test_a_retry_that_still_fits_the_window(placed, plan_day):
    eve = plan_day - timedelta(days=1)
    apply_call_status(placed.pk, call_sid=placed.call_sid, status="no-answer", now=local(eve, "19:29"))
    row = refreshed(placed)
    assert (row.status, row.next_attempt_at) == (ReminderStatus.QUEUED, local(eve, "20:59"))


def test_a_narrower_window_and_a_shorter_delay_are_kept(placed, plan_day, settings):
    settings.REMINDER_WINDOW_END, settings.REMINDER_RETRY_DELAY_MINUTES = "19:00", 30
    eve = plan_day - timedelta(days=1)
    apply_call_status(placed.pk, call_sid=placed.call_sid, status="busy", now=local(eve, "18:31"))
    assert refreshed(placed).status == ReminderStatus.BUSY


def test_after_the_last_retry_it_is_final(twilio, placed, plan_day, evening):
    """Three attempts with the default 2 retries: 17:00, 18:31, 20:02, then no answer for good."""
    row, eve = placed, plan_day - timedelta(days=1)
    for attempt, clock in enumerate(["17:00", "18:31", "20:02"], start=1):
        if attempt > 1:
            assert dispatch_due(now=local(eve, clock)) == [row.pk]
            assert place(row.pk, now=local(eve, clock)) == "placed"
        row = refreshed(row)
        assert row.attempts == attempt
        apply_call_status(row.pk, call_sid=row.call_sid, status="no-answer", now=local(eve, clock) + timedelta(
            seconds=30))  # fmt: skip
    row = refreshed(row)
    assert (row.status, row.attempts) == (ReminderStatus.NO_ANSWER, 3)
    assert len(twilio.creates) == 3 and len({create.sid for create in twilio.creates}) == 3


def test_a_retry_gets_a_new_call_and_the_old_calls_late_callbacks_change_nothing(
        twilio, post_status, placed, plan_day):  # fmt: skip
    eve = plan_day - timedelta(days=1)
    first_sid = placed.call_sid
    apply_call_status(placed.pk, call_sid=first_sid, status="no-answer", now=local(eve, "17:01"))
    assert dispatch_due(now=local(eve, "18:31")) == [placed.pk]
    assert place(placed.pk, now=local(eve, "18:31")) == "placed"
    row = refreshed(placed)
    assert row.call_sid != first_sid and row.attempts == 2
    for late in ("ringing", "in-progress", "completed"):
        response = post_status(row.pk, status_params(first_sid, late, AnsweredBy="human"))
        assert response.status_code == 204
    assert refreshed(row).status == ReminderStatus.DIALING  # the first call's late callbacks are ignored
    walk(post_status, row, "in-progress", "completed")
    assert refreshed(row).status == ReminderStatus.COMPLETED


# --------------------------------------------------------------------------- repeated, out of order


def test_repeated_callbacks_change_nothing_more(post_status, placed):
    walk(post_status, placed, "in-progress", "in-progress", "completed", "completed")
    row = refreshed(placed)
    assert [to for _, to, _ in events(row)].count("completed") == 1
    assert [to for _, to, _ in events(row)].count("in_progress") == 1


@pytest.mark.parametrize("late", ["initiated", "ringing", "in-progress", "no-answer", "busy", "failed"])
def test_a_final_row_never_moves_back(post_status, placed, late):
    walk(post_status, placed, "in-progress", "completed")
    before = events(refreshed(placed))
    walk(post_status, placed, late)
    row = refreshed(placed)
    assert row.status == ReminderStatus.COMPLETED and events(row) == before


def test_completed_before_in_progress_still_ends_completed(post_status, placed):
    walk(post_status, placed, "completed", "in-progress", "ringing")
    assert refreshed(placed).status == ReminderStatus.COMPLETED


def test_a_late_ringing_after_answer_keeps_it_in_progress(post_status, placed):
    walk(post_status, placed, "in-progress", "ringing", "initiated")
    assert refreshed(placed).status == ReminderStatus.IN_PROGRESS


def test_a_skipped_row_ignores_callbacks(twilio, post_status, reminder, evening, plan_day):
    dispatch_due(now=local(plan_day - timedelta(days=1), "21:30"))  # too late: skipped
    response = post_status(reminder.pk, status_params("CA" + "e" * 32, "in-progress"))
    assert response.status_code == 204
    row = refreshed(reminder)
    assert (row.status, row.call_sid) == (ReminderStatus.SKIPPED, "")
