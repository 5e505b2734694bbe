"""The menu, openings and the caller's appointments, through the tools the agent calls."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agent.events import ToolCall
from agent.tools.base import ChangeKind
from agent.tools.customers import NEED_IDENTITY, NOT_YOURS
from agent.tools.registry import run_tool
from scheduling import services as scheduling_services
from scheduling.models import Appointment, AppointmentEvent, AppointmentStatus, Closure, OpeningHours, Source
from scheduling.selectors import available_slots, current_visit, spoken_datetime
from tests.agent.conftest import CALL_SID, assert_invalid, call_tool, dealership_zone


def free_starts(service_types, day) -> set[datetime]:
    """What availability itself offers that day, for checking what the tools said."""
    return {slot.start for slot in available_slots(service_types=service_types, first_day=day, last_day=day)}


def instant(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    assert moment.utcoffset() is not None, f"{iso} has no offset"
    return moment


def agent_events(appointment: Appointment) -> list[AppointmentEvent]:
    return list(AppointmentEvent.objects.filter(appointment=appointment, actor_kind="phone_agent"))


# --------------------------------------------------------------------------- list_services


def test_list_services_shows_the_active_menu(context_for, menu):
    result = call_tool(context_for(None), "list_services")

    assert result.ok
    assert result.data["services"] == [
        {"id": menu.oil.pk, "name": "Oil change", "minutes": 60, "price": "$49 to $89", "also_called": ["lube"]},
        {"id": menu.rotation.pk, "name": "Tire rotation", "minutes": 30, "price": "$25"},
    ]


def test_list_services_refuses_arguments(context_for, menu):
    assert_invalid(call_tool(context_for(None), "list_services", {"category": "oil"}), "category")


# --------------------------------------------------------------------------- get_available_slots


def test_slots_on_a_date_are_real_spread_and_spoken(context_for, bays, menu, monday):
    result = call_tool(context_for(None), "get_available_slots", {"service_ids": [menu.oil.pk], "date": str(monday)})

    assert result.ok
    slots = result.data["slots"]
    assert len(slots) == 6
    offered = free_starts([menu.oil], monday)
    starts = [instant(s["start"]) for s in slots]
    assert all(start in offered for start in starts)
    assert starts == sorted(starts)
    assert starts[0] == min(offered)  # the earliest is always among them
    assert starts[-1] - starts[0] >= timedelta(hours=8)  # spread over the day, not 7:00, 7:15, 7:30...
    assert [s["spoken"] for s in slots] == [spoken_datetime(start) for start in starts]
    assert slots[0]["spoken"].endswith("at 7 AM")
    assert result.data["more"] == len(offered) - 6


def test_slots_by_part_of_day(context_for, bays, menu, monday):
    for part, (low, high) in {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}.items():
        result = call_tool(
            context_for(None), "get_available_slots",
            {"service_ids": [menu.rotation.pk], "date": str(monday), "part_of_day": part},
        )  # fmt: skip
        assert result.ok
        hours = [instant(s["start"]).hour for s in result.data["slots"]]
        assert hours, part
        assert all(low <= hour < high for hour in hours), (part, hours)


def test_slots_after_a_time_of_day(context_for, bays, menu, monday):
    result = call_tool(
        context_for(None), "get_available_slots", {"service_ids": [menu.oil.pk], "date": str(monday), "after": "14:00"}
    )

    starts = [instant(s["start"]) for s in result.data["slots"]]
    assert starts
    assert all((start.hour, start.minute) >= (14, 0) for start in starts)


def test_slots_over_a_range(context_for, bays, menu, monday):
    result = call_tool(
        context_for(None), "get_available_slots",
        {"service_ids": [menu.oil.pk], "from_date": str(monday), "to_date": str(monday + timedelta(days=6))},
    )  # fmt: skip

    offered = set()
    for offset in range(7):
        offered |= free_starts([menu.oil], monday + timedelta(days=offset))
    starts = [instant(s["start"]) for s in result.data["slots"]]
    assert len(starts) == 6
    assert all(start in offered for start in starts)
    assert len({start.date() for start in starts}) >= 4


def test_next_openings_without_a_date(context_for, bays, menu):
    result = call_tool(context_for(None), "get_available_slots", {"service_ids": [menu.oil.pk]})

    assert result.ok
    starts = [instant(s["start"]) for s in result.data["slots"]]
    assert len(starts) == 6
    assert all(start > timezone.now() + timedelta(minutes=59) for start in starts)
    for start in starts:
        assert start in free_starts([menu.oil], start.date())
    per_day = {}
    for start in starts:
        per_day.setdefault(start.date(), []).append(start)
    assert all(len(day) <= 2 for day in per_day.values())


def test_a_closed_day_gives_a_sentence_and_the_next_real_openings(context_for, bays, menu, sunday):
    result = call_tool(context_for(None), "get_available_slots", {"service_ids": [menu.oil.pk], "date": str(sunday)})

    assert result.ok
    assert result.data["slots"] == []
    assert result.say.startswith("I don't see an opening")
    options = [instant(s["start"]) for s in result.data["next_openings"]]
    assert options
    assert all(start.date() > sunday for start in options)
    for start in options:
        assert start in free_starts([menu.oil], start.date())
    assert result.data["next_openings"][0]["spoken"] in result.say


def test_a_full_morning_offers_the_next_mornings(
    context_for, bays, menu, monday, at, staff_book, vehicle, other_vehicle
):
    # Fill Monday morning in all three bays with oil changes from 7:00 to 12:00.
    for hour in range(7, 12):
        for car in (vehicle, other_vehicle, vehicle):
            staff_book(car, at(monday, f"{hour:02d}:00"))

    result = call_tool(
        context_for(None), "get_available_slots",
        {"service_ids": [menu.oil.pk], "date": str(monday), "part_of_day": "morning"},
    )  # fmt: skip

    assert result.data["slots"] == []
    options = [instant(s["start"]) for s in result.data["next_openings"]]
    assert options
    assert all(start.date() > monday and start.hour < 12 for start in options)


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({}, "service_ids"),
        ({"service_ids": []}, "service_ids"),
        ({"service_ids": [0]}, "service_ids"),
        ({"service_ids": ["oil"]}, "service_ids"),
        ({"service_ids": [1], "date": "next tuesday"}, "date"),
        ({"service_ids": [1], "date": "2030-02-30"}, "date"),
        ({"service_ids": [1], "date": "2030-03-04", "from_date": "2030-03-04", "to_date": "2030-03-05"}, "not both"),
        ({"service_ids": [1], "from_date": "2030-03-04"}, "go together"),
        ({"service_ids": [1], "from_date": "2030-03-04", "to_date": "2030-03-25"}, "14 days"),
        ({"service_ids": [1], "from_date": "2030-03-04", "to_date": "2030-03-01"}, "before"),
        ({"service_ids": [1], "part_of_day": "night"}, "part_of_day"),
        ({"service_ids": [1], "after": "teatime"}, "after"),
        ({"service_ids": [1], "bay": 2}, "bay"),
    ],
)
def test_slots_validation(context_for, menu, arguments, problem):
    assert_invalid(call_tool(context_for(None), "get_available_slots", arguments), problem)


def test_slots_for_unknown_or_retired_services_show_the_menu(context_for, bays, menu, monday):
    unknown = call_tool(context_for(None), "get_available_slots", {"service_ids": [999999], "date": str(monday)})
    retired = call_tool(context_for(None), "get_available_slots", {"service_ids": [menu.retired.pk]})

    assert unknown.ok is False
    assert unknown.say == "I couldn't find that service on our menu."
    assert {s["id"] for s in unknown.data["services"]} == {menu.oil.pk, menu.rotation.pk}
    assert retired.ok is False
    assert retired.say == "We no longer offer Carburetor tune-up."


def test_a_past_date_is_refused_with_real_openings(context_for, bays, menu, today):
    result = call_tool(
        context_for(None), "get_available_slots", {"service_ids": [menu.oil.pk], "date": str(today - timedelta(days=1))}
    )

    assert result.ok is False
    assert result.say == "That date has already passed."
    assert result.data["next_openings"]


# --------------------------------------------------------------------------- book_appointment


def booking(vehicle, menu, start: datetime, **extra) -> dict:
    return {"vehicle_id": vehicle.pk, "service_ids": [menu.oil.pk], "start": start.isoformat(), **extra}


def test_booking_an_offered_time_credits_the_phone_agent(context_for, bays, menu, customer, vehicle, monday, at):
    start = at(monday, "09:30")
    result = call_tool(
        context_for(customer), "book_appointment",
        booking(vehicle, menu, start, transport="drop_off", notes="Squeak from the front left."),
    )  # fmt: skip

    assert result.ok, result
    appointment = Appointment.objects.get()
    assert appointment.customer == customer
    assert appointment.vehicle == vehicle
    assert appointment.starts_at == start
    assert appointment.transport == "drop_off"
    assert appointment.notes == "Squeak from the front left."
    assert appointment.source == Source.PHONE_AGENT
    assert [s.pk for s in appointment.service_types.all()] == [menu.oil.pk]
    assert result.data["appointment_id"] == appointment.pk
    assert instant(result.data["start"]) == start
    assert result.data["spoken"] == spoken_datetime(start)
    assert result.data["vehicle"] == "2019 Honda Civic"
    assert [(c.kind, c.appointment_id, c.customer_id, c.vehicle_id) for c in result.changes] == [
        (ChangeKind.BOOKED, appointment.pk, customer.pk, vehicle.pk)
    ]
    event = AppointmentEvent.objects.get(appointment=appointment)
    assert (event.action, event.actor_kind, event.call_sid) == ("booked", "phone_agent", CALL_SID)


def test_a_naive_start_is_the_dealerships_wall_clock(context_for, bays, menu, customer, vehicle, monday, at):
    result = call_tool(
        context_for(customer), "book_appointment",
        {"vehicle_id": vehicle.pk, "service_ids": [menu.oil.pk], "start": f"{monday}T10:15"},
    )  # fmt: skip

    assert result.ok, result
    assert Appointment.objects.get().starts_at == at(monday, "10:15")


def test_the_same_booking_asked_twice_is_booked_once(context_for, bays, menu, customer, vehicle, monday, at):
    context = context_for(customer)
    arguments = booking(vehicle, menu, at(monday, "09:30"))

    first = call_tool(context, "book_appointment", arguments)
    # The same instant written in UTC is the same request.
    in_utc = at(monday, "09:30").astimezone(UTC).isoformat()
    second = call_tool(context, "book_appointment", {**arguments, "start": in_utc})

    assert first.ok and second.ok
    assert Appointment.objects.count() == 1
    assert second.data["already_booked"] is True
    assert second.data["appointment_id"] == first.data["appointment_id"]
    assert not second.changes
    assert AppointmentEvent.objects.count() == 1


def test_a_cancelled_booking_can_be_booked_again(context_for, bays, menu, customer, vehicle, monday, at):
    context = context_for(customer)
    arguments = booking(vehicle, menu, at(monday, "09:30"))
    first = call_tool(context, "book_appointment", arguments)
    call_tool(context, "cancel_appointment", {"appointment_id": first.data["appointment_id"]})

    again = call_tool(context, "book_appointment", arguments)

    assert again.ok and "already_booked" not in again.data
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 1


def test_a_taken_time_is_refused_with_real_free_alternatives(
    context_for, bays, menu, customer, vehicle, other_vehicle, monday, at, staff_book
):
    taken = at(monday, "10:00")
    for _ in bays:
        staff_book(other_vehicle, taken)

    result = call_tool(context_for(customer), "book_appointment", booking(vehicle, menu, taken))

    assert result.ok is False
    assert result.say.startswith("10 AM isn't open; ")
    alternatives = [instant(a["start"]) for a in result.data["alternatives"]]
    assert alternatives
    assert all(alternative in free_starts([menu.oil], monday) for alternative in alternatives)
    assert taken not in alternatives
    assert all(a["spoken"] == spoken_datetime(instant(a["start"])) for a in result.data["alternatives"])
    assert not Appointment.objects.filter(customer=customer).exists()


def test_a_time_availability_does_not_offer_is_refused_with_alternatives(
    context_for, bays, menu, customer, vehicle, monday, at
):
    # 11:45 for an hour's job would run into lunch; 10:07 is off the 15-minute grid.
    for clock, spoken in (("11:45", "11:45 AM"), ("10:07", "10:07 AM")):
        result = call_tool(context_for(customer), "book_appointment", booking(vehicle, menu, at(monday, clock)))

        assert result.ok is False
        assert result.say.startswith(f"{spoken} isn't open; ")
        alternatives = [instant(a["start"]) for a in result.data["alternatives"]]
        assert 1 <= len(alternatives) <= 3
        assert all(alternative in free_starts([menu.oil], monday) for alternative in alternatives)
    assert not Appointment.objects.exists()


def test_a_closed_day_is_refused_with_the_next_openings(context_for, bays, menu, customer, vehicle, sunday, at):
    result = call_tool(context_for(customer), "book_appointment", booking(vehicle, menu, at(sunday, "10:00")))

    assert result.ok is False
    assert result.say.startswith("We have nothing open ")
    alternatives = [instant(a["start"]) for a in result.data["alternatives"]]
    assert alternatives and all(a.date() > sunday for a in alternatives)
    assert not Appointment.objects.exists()


def test_a_past_time_is_refused(context_for, bays, menu, customer, vehicle, today, at):
    result = call_tool(
        context_for(customer), "book_appointment", booking(vehicle, menu, at(today - timedelta(days=2), "10:00"))
    )

    assert result.ok is False
    assert result.say.startswith("That time has already passed")
    assert not Appointment.objects.exists()


def test_booking_needs_an_identified_caller(context_for, bays, menu, vehicle, monday, at):
    result = call_tool(context_for(None), "book_appointment", booking(vehicle, menu, at(monday, "09:30")))

    assert result.ok is False
    assert result.say == NEED_IDENTITY
    assert not Appointment.objects.exists()


def test_booking_someone_elses_vehicle_is_refused(
    context_for, bays, menu, customer, vehicle, other_vehicle, monday, at
):
    result = call_tool(context_for(customer), "book_appointment", booking(other_vehicle, menu, at(monday, "09:30")))
    missing = call_tool(
        context_for(customer), "book_appointment", {**booking(vehicle, menu, at(monday, "09:30")), "vehicle_id": 99999}
    )

    for refused in (result, missing):
        assert refused.ok is False
        assert refused.say == NOT_YOURS
        assert [v["vehicle_id"] for v in refused.data["vehicles"]] == [vehicle.pk]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"start": "Monday at ten"}, "start"),
        ({"start": ""}, "start"),
        ({"service_ids": []}, "service_ids"),
        ({"vehicle_id": 0}, "vehicle_id"),
        ({"vehicle_id": None}, "vehicle_id"),
        ({"transport": "bicycle"}, "transport"),
        ({"notes": "x" * 501}, "notes"),
        ({"bay_id": 1}, "bay_id"),
    ],
)
def test_booking_validation_writes_nothing(context_for, bays, menu, customer, vehicle, monday, at, change, problem):
    arguments = {**booking(vehicle, menu, at(monday, "09:30")), **change}
    assert_invalid(call_tool(context_for(customer), "book_appointment", arguments), problem)
    assert not Appointment.objects.exists()


def test_missing_arguments_are_named(context_for, customer):
    assert_invalid(call_tool(context_for(customer), "book_appointment", {"vehicle_id": 1}), "service_ids", "start")


def test_arguments_that_were_not_json(context_for, customer):
    result = run_tool(context_for(customer), ToolCall(id="c1", name="book_appointment", arguments=None))

    assert result.ok is False
    assert result.say == "Sorry, I didn't catch that properly."
    assert not Appointment.objects.exists()


# --------------------------------------------------------------------------- the caller's own appointments


@pytest.fixture
def own_and_other(staff_book, vehicle, other_vehicle, monday, at):
    """Maria's Monday 9:00 oil change and Dev's Monday 14:00 one."""
    return staff_book(vehicle, at(monday, "09:00")), staff_book(other_vehicle, at(monday, "14:00"))


def test_upcoming_appointments_lists_only_the_callers_own(context_for, customer, own_and_other, menu):
    own, _other = own_and_other
    result = call_tool(context_for(customer), "get_upcoming_appointments")

    assert result.ok
    assert result.data["appointments"] == [
        {
            "appointment_id": own.pk,
            "start": own.starts_at.astimezone(dealership_zone()).isoformat(timespec="minutes"),
            "spoken": spoken_datetime(own.starts_at),
            "services": ["Oil change"],
            "vehicle": "2019 Honda Civic",
            "status": "booked",
        }
    ]


def test_upcoming_appointments_needs_an_identified_caller(context_for, own_and_other):
    result = call_tool(context_for(None), "get_upcoming_appointments")
    assert result.ok is False
    assert result.say == NEED_IDENTITY


def test_reschedule_moves_the_callers_appointment(context_for, customer, own_and_other, monday, at, menu):
    own, _ = own_and_other
    new_start = at(monday + timedelta(days=1), "15:00")

    result = call_tool(
        context_for(customer), "reschedule_appointment", {"appointment_id": own.pk, "start": new_start.isoformat()}
    )

    assert result.ok, result
    own.refresh_from_db()
    assert own.starts_at == new_start
    assert result.data["moved"] is True
    assert instant(result.data["start"]) == new_start
    assert [(c.kind, c.appointment_id) for c in result.changes] == [(ChangeKind.MOVED, own.pk)]
    (event,) = agent_events(own)
    assert (event.action, event.call_sid) == ("rescheduled", CALL_SID)


def test_reschedule_counts_the_appointments_own_time_as_free(
    context_for, customer, vehicle, other_vehicle, monday, at, staff_book
):
    own = staff_book(vehicle, at(monday, "09:00"))  # 9:00-10:00 in one bay
    staff_book(other_vehicle, at(monday, "09:30"))  # the two other bays are busy from 9:30
    staff_book(other_vehicle, at(monday, "09:30"))

    result = call_tool(
        context_for(customer), "reschedule_appointment",
        {"appointment_id": own.pk, "start": at(monday, "09:30").isoformat()},
    )  # fmt: skip

    assert result.ok, result
    own.refresh_from_db()
    assert own.starts_at == at(monday, "09:30")


def test_reschedule_to_a_time_not_offered_is_refused_with_alternatives(
    context_for, customer, own_and_other, monday, at, menu
):
    own, _ = own_and_other
    result = call_tool(
        context_for(customer), "reschedule_appointment",
        {"appointment_id": own.pk, "start": at(monday, "17:30").isoformat()},  # an hour's job past closing
    )  # fmt: skip

    assert result.ok is False
    assert "isn't open" in result.say
    alternatives = [instant(a["start"]) for a in result.data["alternatives"]]
    assert alternatives
    offered = {s.start for s in available_slots(service_types=[menu.oil], first_day=monday, last_day=monday,
                                                exclude_appointment_id=own.pk)}  # fmt: skip
    assert all(alternative in offered for alternative in alternatives)
    own.refresh_from_db()
    assert own.starts_at == at(monday, "09:00")
    assert not agent_events(own)


def test_reschedule_to_the_same_time_changes_nothing(context_for, customer, own_and_other, at, monday):
    own, _ = own_and_other
    result = call_tool(
        context_for(customer), "reschedule_appointment", {"appointment_id": own.pk, "start": own.starts_at.isoformat()}
    )
    assert result.ok and result.data["unchanged"] is True
    assert not result.changes
    assert not agent_events(own)


def state(appointment: Appointment) -> tuple:
    appointment.refresh_from_db()
    return appointment.status, appointment.starts_at, appointment.events.count()


@pytest.mark.parametrize(
    "tool, extra",
    [
        ("reschedule_appointment", {"start": "2030-03-04T10:00-07:00"}),
        ("cancel_appointment", {"reason": "changed my mind"}),
        ("confirm_appointment", {}),
    ],
)
def test_another_customers_appointment_is_refused_and_unchanged(context_for, customer, own_and_other, tool, extra):
    _own, other = own_and_other
    before = state(other)

    for appointment_id in (other.pk, 999999):  # someone else's, and none at all: the same answer
        result = call_tool(context_for(customer), tool, {"appointment_id": appointment_id, **extra})
        assert result.ok is False
        assert result.say == NOT_YOURS
        assert not result.changes

    assert state(other) == before


@pytest.mark.parametrize("tool", ["reschedule_appointment", "cancel_appointment", "confirm_appointment"])
def test_appointment_tools_need_an_identified_caller(context_for, own_and_other, tool):
    own, _ = own_and_other
    before = state(own)
    arguments = {"appointment_id": own.pk}
    if tool == "reschedule_appointment":
        arguments["start"] = "2030-03-04T10:00-07:00"

    result = call_tool(context_for(None), tool, arguments)

    assert result.ok is False
    assert result.say == NEED_IDENTITY
    assert state(own) == before


@pytest.mark.parametrize(
    "tool, arguments, problem",
    [
        ("reschedule_appointment", {"appointment_id": 1}, "start"),
        ("reschedule_appointment", {"appointment_id": 1, "start": "soon"}, "start"),
        ("reschedule_appointment", {"appointment_id": 1, "start": "2030-03-04T10", "service_ids": []}, "service_ids"),
        ("cancel_appointment", {}, "appointment_id"),
        ("cancel_appointment", {"appointment_id": -3}, "appointment_id"),
        ("cancel_appointment", {"appointment_id": 1, "reason": "x" * 251}, "reason"),
        ("confirm_appointment", {"appointment_id": "first"}, "appointment_id"),
        ("confirm_appointment", {"appointment_id": 1, "when": "now"}, "when"),
    ],
)
def test_appointment_tools_validation(context_for, customer, own_and_other, tool, arguments, problem):
    own, other = own_and_other
    before = state(own), state(other)
    assert_invalid(call_tool(context_for(customer), tool, arguments), problem)
    assert (state(own), state(other)) == before


def test_cancel_the_callers_appointment_with_the_reason(context_for, customer, own_and_other):
    own, _ = own_and_other
    context = context_for(customer)

    result = call_tool(context, "cancel_appointment", {"appointment_id": own.pk, "reason": "car sold"})
    again = call_tool(context, "cancel_appointment", {"appointment_id": own.pk})

    assert result.ok and result.data["cancelled"] is True
    assert [(c.kind, c.appointment_id) for c in result.changes] == [(ChangeKind.CANCELLED, own.pk)]
    own.refresh_from_db()
    assert own.status == AppointmentStatus.CANCELLED
    (event,) = agent_events(own)
    assert (event.action, event.call_sid, event.note) == ("cancelled", CALL_SID, "Caller's reason: car sold")
    assert again.ok and again.data["already_cancelled"] is True and not again.changes
    assert len(agent_events(own)) == 1


def test_confirm_the_callers_appointment(context_for, customer, own_and_other):
    own, _ = own_and_other
    context = context_for(customer)

    result = call_tool(context, "confirm_appointment", {"appointment_id": own.pk})
    again = call_tool(context, "confirm_appointment", {"appointment_id": own.pk})

    assert result.ok and result.data["confirmed"] is True
    assert [(c.kind, c.appointment_id) for c in result.changes] == [(ChangeKind.CONFIRMED, own.pk)]
    own.refresh_from_db()
    assert own.status == AppointmentStatus.CONFIRMED
    (event,) = agent_events(own)
    assert (event.action, event.actor_kind, event.call_sid) == ("confirmed", "phone_agent", CALL_SID)
    assert again.ok and again.data["already_confirmed"] is True and not again.changes


def test_a_change_the_status_forbids_is_refused_with_the_services_sentence(context_for, customer, own_and_other, staff):
    own, _ = own_and_other
    scheduling_services.appointment_check_in(appointment=own, actor=staff)
    scheduling_services.appointment_complete(appointment=own, actor=staff)

    cancelled = call_tool(context_for(customer), "cancel_appointment", {"appointment_id": own.pk})
    moved = call_tool(
        context_for(customer), "reschedule_appointment", {"appointment_id": own.pk, "start": "2030-03-04T10:00-07:00"}
    )

    assert cancelled.ok is False
    assert cancelled.say == "That appointment is already completed, so it can't be cancelled now."
    assert moved.ok is False
    assert moved.say == "That appointment is already completed, so it can't be moved."
    assert not agent_events(own)


# --------------------------------------------------------------------------- vehicle_status


def test_vehicle_status_of_a_car_being_worked_on(context_for, customer, own_and_other, staff):
    own, _ = own_and_other
    scheduling_services.appointment_check_in(appointment=own, actor=staff)

    result = call_tool(context_for(customer), "vehicle_status")

    assert result.ok
    assert result.data["status"] == "checked_in"
    assert result.data["appointment_id"] == own.pk
    assert result.say == "Your 2019 Honda Civic is in the shop and being worked on."


def test_vehicle_status_of_a_finished_car(context_for, customer, own_and_other, staff):
    own, _ = own_and_other
    scheduling_services.appointment_check_in(appointment=own, actor=staff)
    scheduling_services.appointment_complete(appointment=own, actor=staff)

    result = call_tool(context_for(customer), "vehicle_status")

    assert result.ok
    assert result.data["status"] == "completed"
    assert result.say == "Your 2019 Honda Civic is ready for pickup."


def test_vehicle_status_without_a_visit_mentions_the_next_appointment(context_for, customer, own_and_other):
    own, _ = own_and_other
    result = call_tool(context_for(customer), "vehicle_status")

    assert result.ok
    assert result.data["status"] == "none"
    assert result.data["next"]["appointment_id"] == own.pk
    assert result.say == (
        "I don't see a visit for your car at the shop today. "
        f"Your next appointment is {spoken_datetime(own.starts_at)}."
    )


def test_vehicle_status_does_not_show_another_customers_car(context_for, other_customer, own_and_other, staff):
    own, _ = own_and_other
    scheduling_services.appointment_check_in(appointment=own, actor=staff)

    result = call_tool(context_for(other_customer), "vehicle_status")

    assert result.data["status"] == "none"
    assert "Civic" not in result.for_model()


def test_vehicle_status_needs_an_identified_caller(context_for, own_and_other):
    result = call_tool(context_for(None), "vehicle_status")
    assert result.ok is False
    assert result.say == NEED_IDENTITY


def test_current_visit_finds_a_car_booked_today_that_is_not_in_yet(customer, own_and_other, monday, at):
    own, _ = own_and_other
    assert current_visit(customer.pk, now=at(monday, "06:30")) == own
    assert current_visit(customer.pk, now=at(monday - timedelta(days=1), "12:00")) is None


def test_times_carry_the_offset_of_a_zone_with_dst(context_for, settings, bays, menu, customer, vehicle, monday):
    settings.TIME_ZONE = "America/Denver"
    zone = dealership_zone()

    result = call_tool(context_for(None), "get_available_slots", {"service_ids": [menu.oil.pk], "date": str(monday)})
    first = result.data["slots"][0]
    booked = call_tool(
        context_for(customer), "book_appointment",
        {"vehicle_id": vehicle.pk, "service_ids": [menu.oil.pk], "start": f"{monday}T07:00"},  # naive: Denver's clock
    )  # fmt: skip

    opening = datetime(monday.year, monday.month, monday.day, 7, tzinfo=zone)
    assert instant(first["start"]) == opening
    assert first["start"].endswith(opening.strftime("%z")[:3] + ":" + opening.strftime("%z")[3:])
    assert booked.ok, booked
    assert Appointment.objects.get().starts_at == opening


# --------------------------------------------------------------------------- what a booking costs; edits seen at once
# Every tool call runs on the server's one database thread, shared by all calls: statements are counted (they are
# deterministic, timings are not). The shop's calendar is read once per tool call (scheduling.selectors.
# shared_shop_calendar) and never kept longer, so staff edits are seen by the very next tool call.


def statements_of(context, name: str, arguments: dict) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        result = call_tool(context, name, arguments)
    return result, [query["sql"] for query in queries.captured_queries]


def calendar_reads(statements: list[str]) -> int:
    return sum(OpeningHours._meta.db_table in sql for sql in statements)


def test_a_slot_search_is_three_statements(context_for, bays, menu, customer, monday):
    result, statements = statements_of(
        context_for(customer), "get_available_slots", {"service_ids": [menu.oil.pk], "date": str(monday)}
    )

    assert result.ok and result.data["slots"]
    assert len(statements) == 3, statements  # the services, the shop's calendar, the bays with their bookings
    assert calendar_reads(statements) == 1


def test_next_openings_read_the_calendar_once_for_every_week_they_look_at(context_for, bays, menu, customer, monday):
    for offset in range(14):  # two weeks closed: the search looks a week at a time
        Closure.objects.create(date=monday + timedelta(days=offset), reason="Renovation")

    result, statements = statements_of(
        context_for(customer), "get_available_slots",
        {"service_ids": [menu.oil.pk], "after": (monday + timedelta(days=2)).isoformat() + "T09:00"},
    )  # fmt: skip

    assert result.ok
    assert min(instant(s["start"]) for s in result.data["slots"]).date() >= monday + timedelta(days=14)
    assert calendar_reads(statements) == 1


def test_a_booking_reads_the_calendar_once_and_stays_within_twelve_statements(
    context_for, bays, menu, customer, vehicle, monday, at
):
    result, statements = statements_of(context_for(customer), "book_appointment",
                                       booking(vehicle, menu, at(monday, "09:30")))  # fmt: skip

    assert result.ok, result
    # The caller's vehicle with its owner, the services, the calendar, the bays' bookings; then in the
    # transaction (two savepoints in a test): the free bays, the insert, its services, its event. It was 20.
    assert len(statements) <= 12, "\n".join(statements)
    assert calendar_reads(statements) == 1


def test_a_refused_booking_reads_the_calendar_once(context_for, bays, menu, customer, vehicle, sunday, at):
    result, statements = statements_of(context_for(customer), "book_appointment",
                                       booking(vehicle, menu, at(sunday, "10:00")))  # fmt: skip

    assert result.ok is False and result.data["alternatives"]
    assert calendar_reads(statements) == 1
    assert len(statements) <= 6, "\n".join(statements)


def test_a_move_reads_the_calendar_once_and_stays_within_sixteen_statements(
    context_for, customer, own_and_other, monday, at
):
    own, _ = own_and_other
    move = {"appointment_id": own.pk, "start": at(monday, "10:00").isoformat()}
    result, statements = statements_of(context_for(customer), "reschedule_appointment", move)

    assert result.ok, result
    assert len(statements) <= 16, "\n".join(statements)  # it was 23
    assert calendar_reads(statements) == 1


def test_a_closure_added_in_the_admin_is_seen_by_the_next_search_and_booking(
    admin_client, context_for, bays, menu, customer, vehicle, monday, at
):
    context = context_for(customer)
    search = {"service_ids": [menu.oil.pk], "date": str(monday), "after": "10:00"}
    assert instant(call_tool(context, "get_available_slots", search).data["slots"][0]["start"]) == at(monday, "10:00")

    response = admin_client.post(reverse("admin:scheduling_closure_add"), {"date": str(monday), "reason": "Flood"})
    assert response.status_code == 302

    slots = call_tool(context, "get_available_slots", search)
    assert slots.data["slots"] == []
    assert all(instant(s["start"]).date() != monday for s in slots.data["next_openings"])
    booked = call_tool(context, "book_appointment", booking(vehicle, menu, at(monday, "10:00")))
    assert booked.ok is False and booked.say.startswith("We have nothing open ")

    Closure.objects.get(date=monday).delete()
    assert call_tool(context, "book_appointment", booking(vehicle, menu, at(monday, "10:00"))).ok


def test_hours_and_a_break_changed_in_the_admin_are_seen_by_the_next_search_and_booking(
    admin_client, context_for, bays, menu, customer, vehicle, monday, at
):
    context = context_for(customer)
    rotation = {"service_ids": [menu.rotation.pk], "date": str(monday), "after": "07:00"}
    assert call_tool(context, "get_available_slots", rotation).data["slots"][0]["start"].startswith(f"{monday}T07:00")
    hours = OpeningHours.objects.get(weekday=monday.weekday())
    lunch = hours.breaks.get()

    response = admin_client.post(reverse("admin:scheduling_openinghours_change", args=[hours.pk]), {
        "weekday": hours.weekday, "opens": "09:00", "closes": "18:00",
        "breaks-TOTAL_FORMS": "2", "breaks-INITIAL_FORMS": "1", "breaks-MIN_NUM_FORMS": "0",
        "breaks-MAX_NUM_FORMS": "1000",
        "breaks-0-id": lunch.pk, "breaks-0-hours": hours.pk, "breaks-0-starts": "12:00", "breaks-0-ends": "12:30",
        "breaks-1-id": "", "breaks-1-hours": hours.pk, "breaks-1-starts": "15:00", "breaks-1-ends": "15:30",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]

    starts = {local.strftime("%H:%M") for local in (instant(s["start"]) for s in call_tool(
        context, "get_available_slots", {**rotation, "part_of_day": "afternoon", "after": "14:00"}).data["slots"])}
    assert starts and not {"15:00", "15:15"} & starts
    assert call_tool(context, "get_available_slots", rotation).data["slots"][0]["start"].startswith(f"{monday}T09:00")
    for refused in ("07:00", "15:00"):
        result = call_tool(context, "book_appointment",
                           {**booking(vehicle, menu, at(monday, refused)), "service_ids": [menu.rotation.pk]})
        assert result.ok is False and "isn't open" in result.say, (refused, result)
    assert call_tool(context, "book_appointment",
                     {**booking(vehicle, menu, at(monday, "15:30")), "service_ids": [menu.rotation.pk]}).ok
