"""The scheduling admin: lists, search, the booking form (through the services), actions and the day agenda.

Fixtures come from tests/scheduling/conftest.py: a shop open Mon-Fri 07:00-18:00 (lunch 12:00-12:30) and
Sat 08:00-14:00, three bays, a menu, Maria Lopez at (602) 555-0100; dates at least a week ahead.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from crm import services as crm_services
from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER
from scheduling import services
from scheduling.actors import Actor
from scheduling.admin import calendar_state
from scheduling.agenda import Agenda, day_agenda, layout
from scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Bay,
    Closure,
    OpeningHours,
    ServiceType,
)

VIN = "1HGCM82633A004352"
SCHEDULING_MODELS = [
    pytest.param(model, id=model._meta.label)
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label)
    if model._meta.app_label == "scheduling"
]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


AGENDA_URL = "/admin/scheduling/appointment/agenda/"


@pytest.fixture
def accord(customer):
    """Maria's car with a VIN and a plate, for searching."""
    return crm_services.vehicle_create(
        customer=customer, vin=VIN, year=2003, make="Honda", model="Accord", plate="abc-1234"
    )


@pytest.fixture
def tom(db):
    customer = crm_services.customer_create(first_name="Tom", last_name="Baker", phone="480-555-0199")
    crm_services.vehicle_create(customer=customer, year=2019, make="Toyota", model="Camry", plate="XYZ987")
    return customer


@pytest.fixture
def maria_at_nine(book, accord, tuesday, at):
    return book(at(tuesday, "09:00"), vehicle=accord)


@pytest.fixture
def toms_visit(bays, menu, tom, tuesday, at, staff):
    return services.appointment_book(
        customer=tom,
        vehicle=tom.vehicles.get(),
        service_types=[menu.rotation],
        start=at(tuesday, "10:00"),
        actor=staff,
    )


@pytest.fixture
def closure(shop, tuesday):
    return Closure.objects.create(date=tuesday + timedelta(days=1), reason="Inventory day")


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _group_user(username: str, group_name: str):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "correct-horse-battery")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=group_name))
    return user


# --------------------------------------------------------------------------- every scheduling page renders


def test_every_scheduling_model_is_registered():
    labels = {p.values[0]._meta.label for p in SCHEDULING_MODELS}
    assert labels == {
        "scheduling.ServiceType",
        "scheduling.Bay",
        "scheduling.OpeningHours",
        "scheduling.Closure",
        "scheduling.Appointment",
        "scheduling.AppointmentEvent",
    }


@pytest.fixture
def scheduling_data(maria_at_nine, toms_visit, closure):
    """At least one row of every registered scheduling model."""
    return maria_at_nine


@pytest.mark.django_db
@pytest.mark.parametrize("model", SCHEDULING_MODELS)
@pytest.mark.parametrize("query", ["", "?q=test", "?q=602.555.0100"])
def test_changelist_renders(admin_client, scheduling_data, model, query):
    response = admin_client.get(_url(model, "changelist") + query)
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("model", SCHEDULING_MODELS)
def test_add_form_renders(admin_client, scheduling_data, model):
    response = admin_client.get(_url(model, "add"))
    assert response.status_code == (403 if model is AppointmentEvent else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("model", SCHEDULING_MODELS)
def test_change_form_renders(admin_client, scheduling_data, model):
    instance = model._default_manager.order_by("pk").first()
    assert instance is not None, f"the test data has no {model._meta.label}"
    response = admin_client.get(_url(model, "change", instance.pk))
    assert response.status_code == 200
    assert response.context["original"] == instance


@pytest.mark.django_db
def test_the_appointment_list_shows_the_calendar_state_and_links_the_agenda(admin_client, scheduling_data):
    response = admin_client.get(_url(Appointment, "changelist"))
    html = response.content.decode()
    assert "calendar: not configured" in html
    assert AGENDA_URL in html
    assert "Maria Lopez" in html and "Oil change" in html


def test_calendar_state_reads_the_settings(settings):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = "shop@example.com"
    assert calendar_state() == "calendar: not configured (GOOGLE_SERVICE_ACCOUNT_FILE is not set)"


@pytest.mark.django_db
def test_the_appointment_list_drills_down_by_date(admin_client, scheduling_data, tuesday):
    response = admin_client.get(
        _url(Appointment, "changelist"),
        {"starts_at__year": tuesday.year, "starts_at__month": tuesday.month, "starts_at__day": tuesday.day},
    )
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters",
    [{"status__exact": "booked"}, {"transport__exact": "waiter"}, {"source__exact": "staff"}],
)
def test_the_appointment_list_filters(admin_client, scheduling_data, filters):
    response = admin_client.get(_url(Appointment, "changelist"), filters)
    assert len(response.context["cl"].result_list) == 2


@pytest.mark.django_db
def test_the_appointment_list_filters_by_bay_and_service(admin_client, maria_at_nine, toms_visit, menu):
    response = admin_client.get(_url(Appointment, "changelist"), {"service_types__id__exact": menu.rotation.pk})
    assert list(response.context["cl"].result_list) == [toms_visit]
    response = admin_client.get(_url(Appointment, "changelist"), {"bay__id__exact": maria_at_nine.bay_id})
    assert maria_at_nine in response.context["cl"].result_list


# --------------------------------------------------------------------------- search


def _appointment_search(admin_client, term: str) -> list[Appointment]:
    response = admin_client.get(_url(Appointment, "changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "term",
    [
        "(602) 555-0100",
        "602.555.0100",
        "+16025550100",
        "555-0100",
        "004352",
        VIN.lower(),
        "ABC-1234",
        "abc 1234",
        "Maria",
        "lopez",
        "Maria Lopez",
    ],
)
def test_search_appointments_by_phone_vin_plate_or_name(admin_client, maria_at_nine, toms_visit, term):
    assert _appointment_search(admin_client, term) == [maria_at_nine]


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["(480) 555-0199", "XYZ987", "Baker"])
def test_search_tells_customers_apart(admin_client, maria_at_nine, toms_visit, term):
    assert _appointment_search(admin_client, term) == [toms_visit]


@pytest.mark.django_db
def test_search_without_match_is_empty(admin_client, maria_at_nine, toms_visit):
    assert _appointment_search(admin_client, "(602) 555-0199") == []


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["lube", "LOF", "oil"])
def test_search_the_menu_by_alias_op_code_or_name(admin_client, menu, term):
    ServiceType.objects.filter(pk=menu.oil.pk).update(aliases=["oil change", "lube"])
    response = admin_client.get(_url(ServiceType, "changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [menu.oil]


@pytest.mark.django_db
def test_search_the_history_by_phone(admin_client, maria_at_nine, toms_visit):
    response = admin_client.get(_url(AppointmentEvent, "changelist"), {"q": "602 555 0100"})
    assert {e.appointment for e in response.context["cl"].result_list} == {maria_at_nine}


# --------------------------------------------------------------------------- actions


def _act(admin_client, action: str, *appointments):
    return admin_client.post(
        _url(Appointment, "changelist"),
        {"action": action, "_selected_action": [a.pk for a in appointments]},
        follow=True,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "status"),
    [("confirm", AppointmentStatus.CONFIRMED), ("cancel", AppointmentStatus.CANCELLED)],
)
def test_actions_change_the_status_through_the_service(admin_client, staff_user, maria_at_nine, action, status):
    response = _act(admin_client, action, maria_at_nine)
    assert response.status_code == 200
    maria_at_nine.refresh_from_db()
    assert maria_at_nine.status == status
    event = maria_at_nine.events.order_by("at", "id").last()
    assert (event.action, event.from_status, event.to_status) == (status, "booked", status)
    assert (event.actor_kind, event.actor_user) == ("staff", staff_user)
    assert any("1 appointment" in m for m in _messages(response))


@pytest.mark.django_db
def test_no_show_is_marked_for_an_appointment_that_has_started(admin_client, staff_user, maria_at_nine):
    now = timezone.now()
    Appointment.objects.filter(pk=maria_at_nine.pk).update(
        starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1)
    )
    _act(admin_client, "mark_no_show", maria_at_nine)
    maria_at_nine.refresh_from_db()
    assert maria_at_nine.status == AppointmentStatus.NO_SHOW
    event = maria_at_nine.events.get(action=AppointmentEvent.Action.NO_SHOW)
    assert event.actor_user == staff_user


@pytest.mark.django_db
def test_no_show_before_the_start_is_refused_with_a_message(admin_client, maria_at_nine):
    response = _act(admin_client, "mark_no_show", maria_at_nine)
    assert response.status_code == 200
    assert any("hasn't started yet" in m for m in _messages(response))
    maria_at_nine.refresh_from_db()
    assert maria_at_nine.status == AppointmentStatus.BOOKED


@pytest.mark.django_db
def test_an_invalid_transition_is_a_message_and_the_others_still_happen(admin_client, maria_at_nine, toms_visit):
    services.appointment_cancel(appointment=maria_at_nine, actor=Actor.system())
    admin_client.raise_request_exception = False
    response = _act(admin_client, "confirm", maria_at_nine, toms_visit)
    assert response.status_code == 200
    messages = _messages(response)
    assert any("already cancelled" in m for m in messages), messages
    assert any("1 appointment confirmed" in m for m in messages), messages
    maria_at_nine.refresh_from_db()
    toms_visit.refresh_from_db()
    assert (maria_at_nine.status, toms_visit.status) == ("cancelled", "confirmed")
    assert not maria_at_nine.events.filter(action="confirmed").exists()


# --------------------------------------------------------------------------- booking through the add form


def _add_data(customer, vehicle, service_types, day: date, clock: str, **extra) -> dict:
    data = {
        "customer": customer.pk,
        "vehicle": vehicle.pk,
        "service_types": [s.pk for s in service_types],
        "starts_at_0": day.isoformat(),
        "starts_at_1": clock,
        "transport": "drop_off",
        "notes": "",
    }
    data.update(extra)
    return data


def _form_errors(response) -> str:
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@pytest.mark.django_db
def test_the_add_form_books_through_the_service(admin_client, staff_user, bays, menu, customer, accord, tuesday, at):
    data = _add_data(customer, accord, [menu.oil, menu.rotation], tuesday, "08:30", notes="Brakes squeak.")
    response = admin_client.post(_url(Appointment, "add"), data)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.starts_at == at(tuesday, "08:30")
    assert appointment.ends_at == at(tuesday, "10:00")  # 60 + 30 minutes
    assert appointment.bay == bays[0]
    assert set(appointment.service_types.all()) == {menu.oil, menu.rotation}
    assert (appointment.transport, appointment.notes, appointment.source) == ("drop_off", "Brakes squeak.", "staff")
    assert appointment.created_by == staff_user
    [event] = appointment.events.all()
    assert (event.action, event.actor_kind, event.actor_user) == ("booked", "staff", staff_user)


@pytest.mark.django_db
def test_the_add_form_shows_a_conflict_as_a_form_error(admin_client, book, menu, customer, accord, tuesday):
    taken = [book(datetime.combine(tuesday, time(10), tzinfo=ZoneInfo("America/Phoenix"))) for _ in range(3)]
    admin_client.raise_request_exception = False
    response = admin_client.post(_url(Appointment, "add"), _add_data(customer, accord, [menu.oil], tuesday, "10:00"))
    errors = _form_errors(response)
    assert "just taken" in errors
    assert "The next openings are" in errors
    assert set(Appointment.objects.all()) == set(taken)
    assert AppointmentEvent.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("offset", "clock", "expected"),
    [
        (0, "17:30", "opening hours"),  # the hour-long job would run past 18:00
        (0, "11:45", "opening hours"),  # over the lunch break
        (0, "05:00", "opening hours"),
        (5, "10:00", "closed that day"),  # Sunday
    ],
)
def test_the_add_form_refuses_times_outside_opening_hours(
    admin_client, bays, menu, customer, accord, monday, offset, clock, expected
):
    day = monday + timedelta(days=1 + offset)
    admin_client.raise_request_exception = False
    response = admin_client.post(_url(Appointment, "add"), _add_data(customer, accord, [menu.oil], day, clock))
    assert expected in str(response.context["adminform"].form.errors["starts_at"])
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_the_add_form_refuses_a_closure_and_the_past(admin_client, closure, bays, menu, customer, accord, today):
    admin_client.raise_request_exception = False
    response = admin_client.post(
        _url(Appointment, "add"), _add_data(customer, accord, [menu.oil], closure.date, "10:00")
    )
    assert "closed that day" in _form_errors(response)
    response = admin_client.post(
        _url(Appointment, "add"), _add_data(customer, accord, [menu.oil], today - timedelta(days=3), "10:00")
    )
    assert "already passed" in _form_errors(response)
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_the_add_form_refuses_another_customers_car(admin_client, bays, menu, customer, tom, tuesday):
    admin_client.raise_request_exception = False
    response = admin_client.post(
        _url(Appointment, "add"), _add_data(customer, tom.vehicles.get(), [menu.oil], tuesday, "10:00")
    )
    assert "isn't on this customer's account" in " ".join(response.context["adminform"].form.errors["vehicle"])
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_the_add_form_refuses_a_retired_service(admin_client, bays, menu, customer, accord, tuesday):
    admin_client.raise_request_exception = False
    response = admin_client.post(
        _url(Appointment, "add"), _add_data(customer, accord, [menu.retired], tuesday, "10:00")
    )
    assert "no longer offer" in str(response.context["adminform"].form.errors["service_types"])
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_the_add_form_with_missing_fields_books_nothing(admin_client, bays, menu, customer, accord, tuesday):
    data = _add_data(customer, accord, [], tuesday, "10:00")
    response = admin_client.post(_url(Appointment, "add"), data)
    assert "service_types" in response.context["adminform"].form.errors
    assert not Appointment.objects.exists()


# --------------------------------------------------------------------------- moving through the change form


def _change_data(admin_client, appointment, **fields) -> dict:
    """What the change page posts as rendered (the history inline included), with ``fields`` changed."""
    response = admin_client.get(_url(Appointment, "change", appointment.pk))
    assert response.status_code == 200
    local = timezone.localtime(appointment.starts_at)
    data = {
        "service_types": [s.pk for s in appointment.service_types.all()],
        "starts_at_0": local.date().isoformat(),
        "starts_at_1": f"{local:%H:%M}",
        "transport": appointment.transport,
        "notes": appointment.notes,
    }
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for form in [formset.management_form, *formset.forms]:
            for name in form.fields:
                value = form[name].value()
                data[form.add_prefix(name)] = "" if value is None else str(value)
    data.update(fields)
    return data


@pytest.mark.django_db
def test_moving_in_the_change_form_reschedules(admin_client, staff_user, maria_at_nine, tuesday, at):
    services.appointment_confirm(appointment=maria_at_nine, actor=Actor.system())
    url = _url(Appointment, "change", maria_at_nine.pk)
    response = admin_client.post(url, _change_data(admin_client, maria_at_nine, starts_at_1="14:15"))
    assert response.status_code == 302
    maria_at_nine.refresh_from_db()
    assert (maria_at_nine.starts_at, maria_at_nine.ends_at) == (at(tuesday, "14:15"), at(tuesday, "15:15"))
    assert maria_at_nine.status == AppointmentStatus.BOOKED  # a moved appointment needs confirming again
    event = maria_at_nine.events.get(action=AppointmentEvent.Action.RESCHEDULED)
    assert (event.actor_user, event.from_status) == (staff_user, "confirmed")


@pytest.mark.django_db
def test_changing_the_services_in_the_change_form_reschedules(admin_client, maria_at_nine, menu, tuesday, at):
    data = _change_data(admin_client, maria_at_nine, service_types=[menu.oil.pk, menu.rotation.pk])
    response = admin_client.post(_url(Appointment, "change", maria_at_nine.pk), data)
    assert response.status_code == 302
    maria_at_nine.refresh_from_db()
    assert maria_at_nine.ends_at == at(tuesday, "10:30")
    assert set(maria_at_nine.service_types.all()) == {menu.oil, menu.rotation}
    event = maria_at_nine.events.get(action=AppointmentEvent.Action.RESCHEDULED)
    assert event.changes["services"] == [["Oil change"], ["Oil change", "Tire rotation"]]


@pytest.mark.django_db
def test_changing_only_the_notes_saves_them_without_a_move(admin_client, maria_at_nine):
    services.appointment_confirm(appointment=maria_at_nine, actor=Actor.system())
    data = _change_data(admin_client, maria_at_nine, notes="Customer will wait.", transport="waiter")
    response = admin_client.post(_url(Appointment, "change", maria_at_nine.pk), data)
    assert response.status_code == 302
    maria_at_nine.refresh_from_db()
    assert (maria_at_nine.notes, maria_at_nine.transport) == ("Customer will wait.", "waiter")
    assert maria_at_nine.status == AppointmentStatus.CONFIRMED
    assert not maria_at_nine.events.filter(action=AppointmentEvent.Action.RESCHEDULED).exists()


@pytest.mark.django_db
def test_moving_onto_a_full_time_shows_a_form_error(admin_client, book, maria_at_nine, tuesday, at):
    for _ in range(3):
        book(at(tuesday, "15:00"))
    admin_client.raise_request_exception = False
    data = _change_data(admin_client, maria_at_nine, starts_at_1="15:00")
    response = admin_client.post(_url(Appointment, "change", maria_at_nine.pk), data)
    assert "just taken" in _form_errors(response)
    maria_at_nine.refresh_from_db()
    assert maria_at_nine.starts_at == at(tuesday, "09:00")
    assert not maria_at_nine.events.filter(action=AppointmentEvent.Action.RESCHEDULED).exists()


@pytest.mark.django_db
def test_a_move_is_undone_when_the_page_comes_back_with_an_error(admin_client, maria_at_nine, tuesday, at):
    # A broken history inline (no management form) fails after the move was made: nothing may stay.
    data = _change_data(admin_client, maria_at_nine, starts_at_1="14:00")
    data = {key: value for key, value in data.items() if not key.startswith("events-")}
    response = admin_client.post(_url(Appointment, "change", maria_at_nine.pk), data)
    assert response.status_code == 200
    maria_at_nine.refresh_from_db()
    assert maria_at_nine.starts_at == at(tuesday, "09:00")
    assert not maria_at_nine.events.filter(action=AppointmentEvent.Action.RESCHEDULED).exists()


@pytest.mark.django_db
def test_a_completed_appointment_cannot_be_moved(admin_client, maria_at_nine):
    for step in (services.appointment_check_in, services.appointment_complete):
        step(appointment=maria_at_nine, actor=Actor.system())
    admin_client.raise_request_exception = False
    data = _change_data(admin_client, maria_at_nine, starts_at_1="14:00")
    response = admin_client.post(_url(Appointment, "change", maria_at_nine.pk), data)
    assert "can't be moved" in _form_errors(response)


@pytest.mark.django_db
def test_the_change_form_shows_the_history(admin_client, staff_user, maria_at_nine):
    services.appointment_confirm(appointment=maria_at_nine, actor=Actor.phone_agent("CA123"))
    html = admin_client.get(_url(Appointment, "change", maria_at_nine.pk)).content.decode()
    assert "phone agent (CA123)" in html
    assert "Booked → Confirmed" in html
    assert staff_user.username in html


# --------------------------------------------------------------------------- roles


@pytest.mark.django_db
def test_an_advisor_books_and_confirms_but_cannot_delete(client, bays, menu, customer, accord, tuesday):
    advisor = _group_user("sam-advisor", SERVICE_ADVISOR)
    client.force_login(advisor)
    response = client.post(_url(Appointment, "add"), _add_data(customer, accord, [menu.oil], tuesday, "10:00"))
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    _act(client, "confirm", appointment)
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    assert client.get(_url(Appointment, "delete", appointment.pk)).status_code == 403
    assert client.get(_url(ServiceType, "change", menu.oil.pk)).status_code == 200  # view only
    assert client.post(_url(ServiceType, "change", menu.oil.pk), {"name": "x"}).status_code == 403
    assert client.get(AGENDA_URL).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_appointments_are_cancelled_never_deleted(client, admin_client, maria_at_nine, who):
    if who == "manager":
        client.force_login(_group_user("pat-manager", SERVICE_MANAGER))
    else:
        client = admin_client
    url = _url(Appointment, "delete", maria_at_nine.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    changelist = client.get(_url(Appointment, "changelist"))
    assert "delete_selected" not in changelist.context["action_form"].fields["action"].choices.__repr__()
    assert Appointment.objects.filter(pk=maria_at_nine.pk).exists()
    assert AppointmentEvent.objects.filter(appointment=maria_at_nine).exists()


@pytest.mark.django_db
def test_staff_without_a_group_cannot_open_the_agenda(client, db):
    user = get_user_model().objects.create_user("nobody", "nobody@example.com", "correct-horse-battery")
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get(AGENDA_URL).status_code == 403


# --------------------------------------------------------------------------- opening hours


@pytest.mark.django_db
def test_a_break_outside_the_opening_hours_is_refused(admin_client, shop):
    hours = OpeningHours.objects.get(weekday=0)
    data = {
        "weekday": "0",
        "opens": "07:00",
        "closes": "18:00",
        "breaks-TOTAL_FORMS": "2",
        "breaks-INITIAL_FORMS": "1",
        "breaks-MIN_NUM_FORMS": "0",
        "breaks-MAX_NUM_FORMS": "1000",
        "breaks-0-id": str(hours.breaks.get().pk),
        "breaks-0-hours": str(hours.pk),
        "breaks-0-starts": "12:00",
        "breaks-0-ends": "12:30",
        "breaks-1-hours": str(hours.pk),
        "breaks-1-starts": "17:30",
        "breaks-1-ends": "18:30",
    }
    response = admin_client.post(_url(OpeningHours, "change", hours.pk), data)
    assert response.status_code == 200
    assert hours.breaks.count() == 1
    data.update({"breaks-1-starts": "12:15", "breaks-1-ends": "12:45"})
    response = admin_client.post(_url(OpeningHours, "change", hours.pk), data)
    assert response.status_code == 200  # overlaps lunch
    assert hours.breaks.count() == 1
    data.update({"breaks-1-starts": "15:00", "breaks-1-ends": "15:15"})
    assert admin_client.post(_url(OpeningHours, "change", hours.pk), data).status_code == 302
    assert hours.breaks.count() == 2


@pytest.mark.django_db
def test_closing_a_day_with_bookings_warns(admin_client, maria_at_nine, tuesday):
    response = admin_client.post(
        _url(Closure, "add"), {"date": tuesday.isoformat(), "reason": "Water main break"}, follow=True
    )
    assert any("1 appointment(s) are still booked" in m for m in _messages(response))


# --------------------------------------------------------------------------- the agenda page


@pytest.mark.django_db
def test_the_agenda_shows_each_appointment_of_the_day(admin_client, maria_at_nine, toms_visit, tuesday):
    response = admin_client.get(AGENDA_URL, {"date": tuesday.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    for appointment in (maria_at_nine, toms_visit):
        assert _url(Appointment, "change", appointment.pk) in html
    assert "Maria Lopez" in html and "Tom Baker" in html
    assert "Bay 1" in html and "Bay 3" in html
    assert "7:00 AM" in html and "5:45 PM" in html
    assert f"?date={(tuesday + timedelta(days=1)).isoformat()}" in html


@pytest.mark.django_db
def test_the_agenda_hides_cancelled_appointments_until_asked(admin_client, maria_at_nine, tuesday):
    services.appointment_cancel(appointment=maria_at_nine, actor=Actor.system())
    change_url = _url(Appointment, "change", maria_at_nine.pk)
    html = admin_client.get(AGENDA_URL, {"date": tuesday.isoformat()}).content.decode()
    assert change_url not in html
    assert "Show 1 cancelled" in html
    html = admin_client.get(AGENDA_URL, {"date": tuesday.isoformat(), "cancelled": "1"}).content.decode()
    assert change_url in html


@pytest.mark.django_db
def test_the_agenda_says_a_closure_is_closed(admin_client, closure):
    response = admin_client.get(AGENDA_URL, {"date": closure.date.isoformat()})
    assert response.status_code == 200
    assert "Closed: Inventory day." in response.content.decode()


@pytest.mark.django_db
def test_the_agenda_says_sunday_is_closed(admin_client, shop, monday):
    response = admin_client.get(AGENDA_URL, {"date": (monday - timedelta(days=1)).isoformat()})
    assert "Closed: no opening hours on Sundays." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["garbage", "2026-02-30", "9999-12-31", "0001-01-01", ""])
def test_the_agenda_falls_back_to_today_on_a_bad_date(admin_client, shop, raw, today):
    response = admin_client.get(AGENDA_URL, {"date": raw})
    assert response.status_code == 200
    assert response.context["day"] == today
    if raw:
        assert any("is not a date" in m for m in _messages(response))


def test_the_agenda_url_is_not_taken_for_an_object_id():
    assert reverse("admin:scheduling_appointment_agenda") == AGENDA_URL


# --------------------------------------------------------------------------- the agenda's grid, without pages

PHOENIX = ZoneInfo("America/Phoenix")
DENVER = ZoneInfo("America/Denver")
SLOT = timedelta(minutes=15)
DAY = date(2030, 3, 5)  # a Tuesday


def _at(day: date, clock: str, zone=PHOENIX) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def _appointment(pk: int, bay: Bay, start: datetime, end: datetime) -> Appointment:
    return Appointment(pk=pk, bay_id=bay.pk, starts_at=start, ends_at=end)


BAY_1, BAY_2 = Bay(pk=1, name="Bay 1"), Bay(pk=2, name="Bay 2")
WINDOWS = [(_at(DAY, "07:00"), _at(DAY, "12:00")), (_at(DAY, "12:30"), _at(DAY, "18:00"))]


def test_rows_run_from_opening_to_closing_and_mark_the_break():
    rows, columns, blocks = layout(
        day=DAY, windows=WINDOWS, bays=[BAY_1, BAY_2], appointments=[], slot=SLOT, zone=PHOENIX
    )
    assert len(rows) == 44  # 11 hours of 15 minutes
    assert (f"{rows[0].start:%H:%M}", f"{rows[-1].start:%H:%M}") == ("07:00", "17:45")
    assert [f"{r.start:%H:%M}" for r in rows if not r.open] == ["12:00", "12:15"]
    assert [(c.bay.name, c.first_lane, c.lanes, c.css_column) for c in columns] == [
        ("Bay 1", 0, 1, "2 / span 1"),
        ("Bay 2", 1, 1, "3 / span 1"),
    ]
    assert blocks == []
    assert rows[0].css_row == 2  # below the header row


def test_a_block_covers_its_slots_in_its_bays_column():
    oil = _appointment(7, BAY_2, _at(DAY, "09:00"), _at(DAY, "10:15"))
    short = _appointment(8, BAY_1, _at(DAY, "13:10"), _at(DAY, "13:20"))  # off the grid
    rows, _, blocks = layout(
        day=DAY, windows=WINDOWS, bays=[BAY_1, BAY_2], appointments=[oil, short], slot=SLOT, zone=PHOENIX
    )
    first, second = blocks
    assert (first.row, first.span, first.lane, first.css_row, first.css_column) == (8, 5, 1, "10 / span 5", 3)
    assert f"{rows[first.row].start:%H:%M}" == "09:00"
    assert (second.row, second.span, second.lane) == (24, 2, 0)  # 13:00 and 13:15 slots
    assert not (first.starts_earlier or first.ends_later)


def test_overlapping_appointments_of_one_bay_get_lanes():
    a = _appointment(1, BAY_1, _at(DAY, "08:00"), _at(DAY, "09:00"))
    b = _appointment(2, BAY_1, _at(DAY, "08:30"), _at(DAY, "10:00"))
    c = _appointment(3, BAY_1, _at(DAY, "09:00"), _at(DAY, "09:30"))  # fits after a
    d = _appointment(4, BAY_2, _at(DAY, "08:00"), _at(DAY, "09:00"))
    _, columns, blocks = layout(
        day=DAY, windows=WINDOWS, bays=[BAY_1, BAY_2], appointments=[a, b, c, d], slot=SLOT, zone=PHOENIX
    )
    assert [(c.first_lane, c.lanes) for c in columns] == [(0, 2), (2, 1)]
    assert [block.lane for block in blocks] == [0, 1, 0, 2]
    assert Agenda(day=DAY, rows=[], columns=columns, blocks=blocks).lane_count == 3


def test_appointments_outside_the_hours_stretch_the_grid():
    early = _appointment(1, BAY_1, _at(DAY, "06:20"), _at(DAY, "07:30"))
    late = _appointment(2, BAY_1, _at(DAY, "17:30"), _at(DAY, "19:00"))
    rows, _, blocks = layout(
        day=DAY, windows=WINDOWS, bays=[BAY_1], appointments=[early, late], slot=SLOT, zone=PHOENIX
    )
    assert (f"{rows[0].start:%H:%M}", f"{rows[-1].start:%H:%M}") == ("06:15", "18:45")
    assert not rows[0].open and rows[3].open  # 06:15 closed, 07:00 open
    assert (blocks[0].row, blocks[0].span) == (0, 5)


def test_an_appointment_from_the_day_before_is_clipped():
    overnight = _appointment(1, BAY_1, _at(DAY - timedelta(days=1), "22:00"), _at(DAY, "01:00"))
    rows, _, [block] = layout(day=DAY, windows=[], bays=[BAY_1], appointments=[overnight], slot=SLOT, zone=PHOENIX)
    assert f"{rows[0].start:%H:%M}" == "00:00"
    assert (block.row, block.span, block.starts_earlier, block.ends_later) == (0, 4, True, False)


def test_a_closed_day_without_appointments_has_no_rows():
    rows, columns, blocks = layout(day=DAY, windows=[], bays=[BAY_1], appointments=[], slot=SLOT, zone=PHOENIX)
    assert (rows, blocks, len(columns)) == ([], [], 1)


@pytest.mark.parametrize("day", [date(2030, 3, 10), date(2030, 11, 3)])  # Denver's DST starts / ends
def test_rows_are_absolute_minutes_on_a_dst_day(day):
    windows = [(_at(day, "07:00", DENVER), _at(day, "18:00", DENVER))]
    job = _appointment(1, BAY_1, _at(day, "09:00", DENVER), _at(day, "10:00", DENVER))
    rows, _, [block] = layout(day=day, windows=windows, bays=[BAY_1], appointments=[job], slot=SLOT, zone=DENVER)
    assert len(rows) == 44
    assert f"{rows[block.row].start:%H:%M}" == "09:00"
    assert block.span == 4
    assert all(b.start - a.start == SLOT for a, b in zip(rows, rows[1:]))
    assert rows[0].start.utcoffset() == _at(day, "07:00", DENVER).utcoffset()


@pytest.mark.django_db
def test_day_agenda_reads_the_shop(maria_at_nine, toms_visit, tuesday):
    agenda = day_agenda(tuesday)
    assert agenda.closed_reason == ""
    assert [c.bay.name for c in agenda.columns] == ["Bay 1", "Bay 2", "Bay 3"]
    assert {b.appointment for b in agenda.blocks} == {maria_at_nine, toms_visit}
    assert [f"{r.start:%H:%M}" for r in agenda.rows if not r.open] == ["12:00", "12:15"]


@pytest.mark.django_db
def test_day_agenda_keeps_an_inactive_bay_that_has_work(maria_at_nine, tuesday):
    Bay.objects.filter(pk=maria_at_nine.bay_id).update(active=False)
    assert maria_at_nine.bay.name in [c.bay.name for c in day_agenda(tuesday).columns]
    assert maria_at_nine.bay.name not in [c.bay.name for c in day_agenda(tuesday + timedelta(days=7)).columns]


@pytest.mark.django_db
def test_day_agenda_on_a_utc_midnight(shop, bays):
    # Phoenix is UTC-7: the local day must not be cut at UTC midnight.
    day = date(2030, 3, 5)
    agenda = day_agenda(day)
    assert agenda.rows[0].start == datetime(2030, 3, 5, 14, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_changing_transport_and_notes_in_the_change_form_is_recorded(admin_client, staff_user, maria_at_nine):
    url = _url(Appointment, "change", maria_at_nine.pk)
    data = _change_data(admin_client, maria_at_nine, transport="loaner", notes="needs a loaner until 5")
    assert admin_client.post(url, data).status_code == 302
    maria_at_nine.refresh_from_db()
    assert (maria_at_nine.transport, maria_at_nine.notes) == ("loaner", "needs a loaner until 5")
    event = maria_at_nine.events.get(action=AppointmentEvent.Action.EDITED)
    assert event.actor_user == staff_user
    assert event.changes["transport"][1] == "loaner"
    assert event.changes["notes"][1] == "needs a loaner until 5"
    assert not maria_at_nine.events.filter(action=AppointmentEvent.Action.RESCHEDULED).exists()
