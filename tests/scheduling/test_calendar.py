"""The Google Calendar mirror and busy time, offline.

Google's side is googleapiclient's own HttpMockSequence: scripted responses,
and a record of every request (uri, method, body, headers) to inspect. Tests of
the production path (service-account key file, token exchange) put the
sequence under google-auth by replacing googleapiclient.http.build_http, the
library's transport factory; our code runs unchanged.
"""

import base64
import json
import logging
import re
import secrets
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import googleapiclient.http
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import override_settings
from django.utils import timezone
from googleapiclient.http import HttpMockSequence

from crm import services as crm_services
from scheduling import services
from scheduling.actors import Actor
from scheduling.calendar.busy import busy_intervals
from scheduling.calendar.errors import CalendarError, CalendarTransientError
from scheduling.calendar.google import calendar_from_settings, calendar_status
from scheduling.calendar.sync import event_body, event_id_for, sync_appointment
from scheduling.models import Appointment, AppointmentStatus, Bay, OpeningHours, ServiceType, Weekday
from scheduling.selectors import available_slots, dealership_zone
from scheduling.tasks import sync_appointment_to_calendar

CLIENT_EMAIL = "crm-mirror@dealership-test.iam.gserviceaccount.com"
TOKEN_URI = "https://oauth2.googleapis.com/token"
EVENTS_URL = "https://www.googleapis.com/calendar/v3/calendars/{calendar}/events"
FREEBUSY_URL = "https://www.googleapis.com/calendar/v3/freeBusy"


# --------------------------------------------------------------------------- scripted Google


class ScriptedHttp(HttpMockSequence):
    """HttpMockSequence that can also fail at the network level: an exception in the script is raised."""

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        if self._iterable and isinstance(self._iterable[0], BaseException):
            self.request_sequence.append((uri, method, body, headers))
            raise self._iterable.pop(0)
        return super().request(uri, method, body, headers, redirections, connection_type)

    def __deepcopy__(self, memo):
        # After a token exchange google-auth looks up the account's "regional access
        # boundary" in a background thread, on a deep copy of the transport: that
        # copy gets a plain "not found" instead of a copy of the script.
        return HttpMockSequence([({"status": "404"}, "{}")] * 4)


def ok(body=None, status=200):
    return {"status": str(status), "content-type": "application/json; charset=UTF-8"}, json.dumps(body or {})


def no_content():
    return {"status": "204"}, ""


def google_error(status, message="error", reason="error"):
    body = {"error": {"code": status, "message": message, "errors": [{"domain": "global", "reason": reason}]}}
    return {"status": str(status), "content-type": "application/json; charset=UTF-8"}, json.dumps(body)


def token():
    return ok({"access_token": "test-access-token", "expires_in": 3600, "token_type": "Bearer"})


def freebusy(calendar_id, *busy):
    return ok({"kind": "calendar#freeBusy", "calendars": {calendar_id: {"busy": list(busy)}}})


def rfc3339(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sent_json(request):
    body = request[2]
    return json.loads(body.decode() if isinstance(body, bytes) else body)


def path_of(request):
    return unquote(urlsplit(request[0]).path)


def events_path(calendar_id, event_id=""):
    path = unquote(urlsplit(EVENTS_URL.format(calendar=calendar_id)).path)
    return f"{path}/{event_id}" if event_id else path


# --------------------------------------------------------------------------- configuration


@pytest.fixture(scope="session")
def private_key_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def key_file(tmp_path, private_key_pem):
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "dealership-test",
                "private_key_id": "0123456789abcdef",
                "private_key": private_key_pem,
                "client_email": CLIENT_EMAIL,
                "client_id": "1234567890",
                "token_uri": TOKEN_URI,
            }
        )
    )
    return path


@pytest.fixture
def calendar_id():
    # One calendar per test: busy time is cached in the real (shared) Redis under the calendar id.
    return f"shop-{secrets.token_hex(4)}@example.com"


@pytest.fixture
def configured(settings, key_file, calendar_id):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(key_file)
    settings.GOOGLE_CALENDAR_ID = calendar_id
    settings.GOOGLE_CALENDAR_BUSY_CACHE_SECONDS = 60
    return calendar_id


@pytest.fixture
def not_configured(settings):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = ""


@pytest.fixture
def google_transport(monkeypatch):
    """Install a script as the transport under the production path (credentials from the key file)."""

    def install(*responses):
        http = ScriptedHttp(list(responses))
        monkeypatch.setattr(googleapiclient.http, "build_http", lambda: http)
        return http

    return install


def mocked_calendar(*responses):
    """A calendar from settings, speaking to a script (no credentials, as googleapiclient requires)."""
    http = ScriptedHttp(list(responses))
    calendar = calendar_from_settings(http=http)
    assert calendar is not None
    return calendar, http


# --------------------------------------------------------------------------- the shop and a booking


@pytest.fixture
def shop(db):
    for day in Weekday:
        OpeningHours.objects.create(weekday=day, opens=time(7), closes=time(18))
    Bay.objects.create(name="Bay 1")
    return ServiceType.objects.create(
        name="Oil change", op_code="LOF", duration_minutes=30, price_min="49.00", price_max="79.00"
    )


@pytest.fixture
def maria(db):
    customer = crm_services.customer_create(first_name="Maria", last_name="Lopez", phone="(602) 555-0100")
    vehicle = crm_services.vehicle_create(customer=customer, year=2019, make="Honda", model="Accord")
    return customer, vehicle


def local_day(days_ahead=3):
    return timezone.now().astimezone(dealership_zone()).date() + timedelta(days=days_ahead)


def at_local(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=dealership_zone())


@pytest.fixture
def appointment(shop, maria):
    customer, vehicle = maria
    # Booking reads busy time: book with the calendar off, whatever the test configures later.
    with override_settings(GOOGLE_SERVICE_ACCOUNT_FILE="", GOOGLE_CALENDAR_ID=""):
        return services.appointment_book(
            customer=customer,
            vehicle=vehicle,
            service_types=[shop],
            start=at_local(local_day(), 10),
            actor=Actor.staff(None),
            transport="drop_off",
            notes="Customer mentioned a squeak when braking.",
        )


# --------------------------------------------------------------------------- the event


def test_event_body_describes_the_appointment_without_the_full_phone_number(appointment, settings):
    body = event_body(appointment)

    assert body["id"] == appointment.uuid.hex == event_id_for(appointment)
    assert re.fullmatch(r"[a-v0-9]{5,1024}", body["id"])
    assert body["summary"] == "Oil change – Maria Lopez (2019 Honda Accord)"
    assert "***0100" in body["description"]
    assert "555" not in body["description"] and "602" not in body["description"]
    for expected in ("Oil change", "Drop-off", "Bay 1", "squeak when braking"):
        assert expected in body["description"]
    assert body["start"] == {
        "dateTime": appointment.starts_at.astimezone(dealership_zone()).isoformat(),
        "timeZone": settings.TIME_ZONE,
    }
    assert datetime.fromisoformat(body["end"]["dateTime"]) == appointment.ends_at
    assert body["transparency"] == "transparent"
    assert body["extendedProperties"]["private"] == {
        "appointment_id": str(appointment.pk),
        "appointment_uuid": str(appointment.uuid),
    }


# --------------------------------------------------------------------------- create, update, delete


def test_first_sync_inserts_the_event_under_its_deterministic_id(appointment, configured):
    calendar, http = mocked_calendar(ok({"id": appointment.uuid.hex, "status": "confirmed"}))

    assert sync_appointment(appointment.pk, calendar=calendar) == "created"

    [insert] = http.request_sequence
    assert insert[1] == "POST"
    assert path_of(insert) == events_path(configured)
    sent = sent_json(insert)
    assert sent["id"] == appointment.uuid.hex
    assert sent["transparency"] == "transparent"
    assert sent["extendedProperties"]["private"]["appointment_id"] == str(appointment.pk)
    appointment.refresh_from_db()
    assert appointment.google_event_id == appointment.uuid.hex
    assert appointment.calendar_synced_at is not None


def test_second_sync_gets_409_and_updates_the_same_event(appointment, configured):
    event_id = appointment.uuid.hex
    calendar, http = mocked_calendar(
        ok({"id": event_id}),
        google_error(409, "The requested identifier already exists.", "duplicate"),
        ok({"id": event_id}),
    )

    assert sync_appointment(appointment.pk, calendar=calendar) == "created"
    assert sync_appointment(appointment.pk, calendar=calendar) == "updated"

    first_insert, second_insert, update = http.request_sequence
    assert [r[1] for r in http.request_sequence] == ["POST", "POST", "PUT"]
    assert path_of(update) == events_path(configured, event_id)
    # Same event, same content: running the sync again leaves the calendar as it was.
    assert sent_json(update) == sent_json(second_insert) == sent_json(first_insert)
    appointment.refresh_from_db()
    assert appointment.google_event_id == event_id


def test_rescheduled_appointment_updates_the_event_times(appointment, configured):
    services.appointment_reschedule(appointment=appointment, start=at_local(local_day(), 14), actor=Actor.staff(None))
    calendar, http = mocked_calendar(google_error(409, reason="duplicate"), ok({"id": appointment.uuid.hex}))

    assert sync_appointment(appointment.pk, calendar=calendar) == "updated"

    update = http.request_sequence[-1]
    assert update[1] == "PUT"
    assert datetime.fromisoformat(sent_json(update)["start"]["dateTime"]) == at_local(local_day(), 14)


def test_cancelled_appointment_deletes_its_event(appointment, configured):
    appointment.google_event_id = appointment.uuid.hex
    appointment.save(update_fields=["google_event_id"])
    services.appointment_cancel(appointment=appointment, actor=Actor.staff(None))
    calendar, http = mocked_calendar(no_content())

    assert sync_appointment(appointment.pk, calendar=calendar) == "deleted"

    [delete] = http.request_sequence
    assert delete[1] == "DELETE"
    assert path_of(delete) == events_path(configured, appointment.uuid.hex)
    appointment.refresh_from_db()
    assert appointment.google_event_id == ""


@pytest.mark.parametrize("status", [404, 410])
def test_deleting_an_event_already_gone_is_fine(appointment, configured, status):
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.NO_SHOW)
    message = "Not Found" if status == 404 else "Resource has been deleted"
    calendar, http = mocked_calendar(google_error(status, message))

    assert sync_appointment(appointment.pk, calendar=calendar) == "deleted"
    assert [r[1] for r in http.request_sequence] == ["DELETE"]


def test_completed_appointment_stays_on_the_calendar(appointment, configured):
    services.appointment_check_in(appointment=appointment, actor=Actor.staff(None))
    services.appointment_complete(appointment=appointment, actor=Actor.staff(None))
    calendar, http = mocked_calendar(google_error(409, reason="duplicate"), ok({"id": appointment.uuid.hex}))

    assert sync_appointment(appointment.pk, calendar=calendar) == "updated"
    assert [r[1] for r in http.request_sequence] == ["POST", "PUT"]
    assert "Status: Completed" in sent_json(http.request_sequence[-1])["description"]


def test_missing_appointment_makes_no_request(db, configured):
    calendar, http = mocked_calendar()

    assert sync_appointment(987654321, calendar=calendar) == "missing"
    assert http.request_sequence == []


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_transient(appointment, configured, status):
    calendar, _ = mocked_calendar(google_error(status, "Rate Limit Exceeded" if status == 429 else "Backend Error"))

    with pytest.raises(CalendarTransientError) as caught:
        sync_appointment(appointment.pk, calendar=calendar)
    assert caught.value.status == status
    appointment.refresh_from_db()
    assert appointment.google_event_id == ""


def test_network_failure_is_transient(appointment, configured):
    calendar, _ = mocked_calendar(TimeoutError("timed out"))

    with pytest.raises(CalendarTransientError):
        sync_appointment(appointment.pk, calendar=calendar)


def test_forbidden_is_a_permanent_error(appointment, configured):
    calendar, _ = mocked_calendar(google_error(403, "Forbidden", "forbidden"))

    with pytest.raises(CalendarError) as caught:
        sync_appointment(appointment.pk, calendar=calendar)
    assert not isinstance(caught.value, CalendarTransientError)
    assert caught.value.status == 403


def test_get_event_returns_none_for_an_unknown_id(configured):
    calendar, http = mocked_calendar(ok({"id": "abcde12345", "status": "confirmed"}), google_error(404, "Not Found"))

    assert calendar.get_event("abcde12345")["status"] == "confirmed"
    assert calendar.get_event("vvvvv00000") is None
    assert [r[1] for r in http.request_sequence] == ["GET", "GET"]


# --------------------------------------------------------------------------- the Celery task, on the production path


def test_task_signs_in_with_the_service_account_and_creates_the_event(appointment, configured, google_transport):
    http = google_transport(token(), ok({"id": appointment.uuid.hex}))

    result = sync_appointment_to_calendar.apply(args=[appointment.pk])

    assert result.successful() and result.result == "created"
    exchange, insert = http.request_sequence
    assert exchange[0] == TOKEN_URI
    assertion = parse_qs(exchange[2] if isinstance(exchange[2], str) else exchange[2].decode())["assertion"][0]
    claims_part = assertion.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
    assert claims["iss"] == CLIENT_EMAIL
    assert claims["scope"] == "https://www.googleapis.com/auth/calendar"
    assert insert[3]["authorization"] == "Bearer test-access-token"
    assert path_of(insert) == events_path(configured)


@pytest.fixture
def retries_inline():
    """Let apply() run the task's retries in this process.

    tests/conftest.py makes eager tasks propagate errors, and a propagated
    Retry ends apply() at the first attempt; without propagation apply() runs
    each retry itself, at once (the backoff delay is not waited for).
    """
    from dealership.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def test_task_retries_transient_failures_until_google_accepts(
    appointment, configured, google_transport, retries_inline
):
    http = google_transport(
        token(),
        google_error(503, "Backend Error", "backendError"),
        google_error(429, "Rate Limit Exceeded", "rateLimitExceeded"),
        ok({"id": appointment.uuid.hex}),
    )

    result = sync_appointment_to_calendar.apply(args=[appointment.pk])

    assert result.successful() and result.result == "created"
    inserts = [r for r in http.request_sequence if r[0] != TOKEN_URI]
    assert len(inserts) == 3  # two failures retried, then the success
    assert {sent_json(r)["id"] for r in inserts} == {appointment.uuid.hex}
    appointment.refresh_from_db()
    assert appointment.google_event_id == appointment.uuid.hex


def test_task_does_not_retry_a_permanent_error(appointment, configured, google_transport):
    http = google_transport(token(), google_error(403, "Forbidden", "forbidden"), ok({"id": appointment.uuid.hex}))

    with pytest.raises(CalendarError) as caught:
        sync_appointment_to_calendar.apply(args=[appointment.pk])

    assert caught.value.status == 403
    assert len(http.request_sequence) == 2  # the token, one insert; the scripted success was never asked for


def test_refused_token_exchange_is_a_permanent_error(appointment, configured, google_transport):
    http = google_transport(
        ({"status": "400", "content-type": "application/json"}, '{"error": "invalid_grant"}'),
    )

    with pytest.raises(CalendarError) as caught:
        sync_appointment_to_calendar.apply(args=[appointment.pk])

    assert not isinstance(caught.value, CalendarTransientError)
    assert [r[0] for r in http.request_sequence] == [TOKEN_URI]


def test_booking_does_not_wait_for_the_mirror(
    shop, maria, configured, google_transport, django_capture_on_commit_callbacks
):
    customer, vehicle = maria
    http = google_transport(token(), freebusy(configured), ok({"id": "ignored"}))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        appointment = services.appointment_book(
            customer=customer,
            vehicle=vehicle,
            service_types=[shop],
            start=at_local(local_day(), 10),
            actor=Actor.staff(None),
        )
        # Inside the booking: busy time was read, but no event written yet.
        assert [path_of(r) for r in http.request_sequence[1:]] == [urlsplit(FREEBUSY_URL).path]

    assert len(callbacks) == 1
    insert = http.request_sequence[-1]
    assert insert[1] == "POST" and path_of(insert) == events_path(configured)
    assert sent_json(insert)["id"] == appointment.uuid.hex
    appointment.refresh_from_db()
    assert appointment.google_event_id == appointment.uuid.hex


# --------------------------------------------------------------------------- not configured


def test_not_configured_means_no_request_at_all(appointment, not_configured, google_transport):
    http = google_transport()

    assert calendar_from_settings() is None
    assert sync_appointment(appointment.pk) == "not configured"
    assert sync_appointment_to_calendar.apply(args=[appointment.pk]).result == "not configured"
    assert busy_intervals(at_local(local_day(), 7), at_local(local_day(), 18)) == []
    assert http.request_sequence == []


def test_missing_key_file_fails_the_sync_without_retrying(
    appointment, configured, settings, tmp_path, google_transport
):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(tmp_path / "gone.json")
    http = google_transport(token())

    with pytest.raises(CalendarError, match="service-account file not found: gone.json"):
        sync_appointment_to_calendar.apply(args=[appointment.pk])
    assert http.request_sequence == []


# --------------------------------------------------------------------------- busy time


def test_busy_intervals_are_read_from_freebusy_and_cached(configured, google_transport):
    day = local_day(5)
    blocked = (at_local(day, 12), at_local(day, 13, 30))
    outside = (at_local(day, 6), at_local(day, 6, 30))  # in the hour-rounded window, not in the asked one
    http = google_transport(
        token(),
        freebusy(
            configured,
            {"start": rfc3339(blocked[0]), "end": rfc3339(blocked[1])},
            {"start": rfc3339(outside[0]), "end": rfc3339(outside[1])},
        ),
    )
    start, end = at_local(day, 6, 45), at_local(day, 18, 10)

    first = busy_intervals(start, end)
    second = busy_intervals(start, end)

    assert first == second == [blocked]
    assert all(moment.tzinfo is not None for interval in first for moment in interval)
    exchange, query = http.request_sequence  # the second call asked nobody
    assert query[1] == "POST" and path_of(query) == urlsplit(FREEBUSY_URL).path
    sent = sent_json(query)
    assert sent["items"] == [{"id": configured}]
    assert sent["timeMin"] == rfc3339(at_local(day, 6))
    assert sent["timeMax"] == rfc3339(at_local(day, 19))


def test_busy_intervals_are_empty_when_google_fails(configured, google_transport, caplog):
    http = google_transport(token(), google_error(500, "Backend Error", "backendError"))
    day = local_day(5)

    with caplog.at_level(logging.WARNING, logger="scheduling.calendar.busy"):
        assert busy_intervals(at_local(day, 7), at_local(day, 18)) == []
        # The failure is remembered briefly: an outage costs one timeout, not one per lookup.
        assert busy_intervals(at_local(day, 7), at_local(day, 18)) == []

    assert len(http.request_sequence) == 2
    assert "HTTP 500" in caplog.text
    assert "private_key" not in caplog.text and "BEGIN PRIVATE KEY" not in caplog.text


def test_busy_calendar_time_is_not_available(shop, configured, google_transport):
    day = local_day(4)
    google_transport(
        token(), freebusy(configured, {"start": rfc3339(at_local(day, 10)), "end": rfc3339(at_local(day, 11))})
    )

    starts = {slot.local_start().time() for slot in available_slots(service_types=[shop], first_day=day, last_day=day)}

    assert time(9, 30) in starts and time(11) in starts
    # A 30-minute job starting 9:45 to 10:45 would run into the blocked hour.
    assert not starts & {time(9, 45), time(10), time(10, 15), time(10, 30), time(10, 45)}


# --------------------------------------------------------------------------- status for the admin


def test_calendar_status_when_not_configured(not_configured):
    assert calendar_status() == (False, "not configured")


def test_calendar_status_when_the_key_file_is_missing(settings, tmp_path):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(tmp_path / "secret-dir" / "missing.json")
    settings.GOOGLE_CALENDAR_ID = "shop@example.com"

    usable, message = calendar_status()

    assert (usable, message) == (False, "service-account file not found: missing.json")


def test_calendar_status_when_the_key_file_is_not_a_key(settings, tmp_path):
    broken = tmp_path / "service-account.json"
    broken.write_text('{"type": "service_account", "private_key": "TOP-SECRET-MATERIAL"}')
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(broken)
    settings.GOOGLE_CALENDAR_ID = "shop@example.com"

    usable, message = calendar_status()

    assert usable is False
    assert message.startswith("service-account file unusable: service-account.json")
    assert "TOP-SECRET" not in message


def test_calendar_status_when_configured(settings, key_file):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(key_file)
    settings.GOOGLE_CALENDAR_ID = "shop@example.com"

    assert calendar_status() == (True, "configured: shop@example.com")
