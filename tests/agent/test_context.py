"""What the agent knows before the caller's first word, and how the prompt says it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agent.context import ConversationStart, caller_facts, shop_facts
from agent.model_agent import ModelAgent
from crm import services as crm_services
from scheduling.models import Closure
from tests.agent.conftest import dealership_zone


def test_this_weeks_hours_from_today_with_breaks_closures_and_closed_days(shop, monday, at):
    Closure.objects.create(date=monday + timedelta(days=2), reason="Inventory")
    facts = shop_facts(now=at(monday, "09:30"))
    assert facts.today.startswith("Monday,") and facts.time == "9:30 AM"
    assert facts.hours[0] == "today: 7 AM to 6 PM, closed 12 PM to 12:30 PM"
    assert facts.hours[1] == "tomorrow: 7 AM to 6 PM, closed 12 PM to 12:30 PM"
    assert facts.hours[2].endswith(": closed"), "the closure"
    assert facts.hours[5].startswith("Saturday,") and facts.hours[5].endswith(": 8 AM to 2 PM")
    assert facts.hours[6].startswith("Sunday,") and facts.hours[6].endswith(": closed")
    assert len(facts.hours) == 7


def test_a_known_caller_comes_with_vehicles_plate_endings_upcoming_appointments_and_messages(
    customer, vehicle, staff_book, monday, at
):
    booked = staff_book(vehicle, at(monday, "10:00"))
    facts = caller_facts(customer.pk, open_requests=("Dec 2: call me about the recall",))
    assert facts.name == "María López" and facts.first_name == "María"
    assert [(v.id, v.name, v.plate_ending) for v in facts.vehicles] == [(vehicle.pk, "2019 Honda Civic",
                                                                         vehicle.plate[-3:])]  # fmt: skip
    assert [(a.id, a.services, a.status) for a in facts.appointments] == [(booked.pk, "Oil change", "Booked")]
    assert facts.appointments[0].start == at(monday, "10:00").isoformat()
    prompt = ModelAgent(ConversationStart(shop=shop_facts(), caller=facts, caller_phone="+16025550100"),
                        chat=object()).system_prompt()  # fmt: skip
    assert "The caller is María López" in prompt and "known by the number they call from" in prompt
    assert f"{vehicle.pk}: 2019 Honda Civic, plate ending {vehicle.plate[-3:]}" in prompt
    assert f"{booked.pk}: {facts.appointments[0].spoken}" in prompt
    assert "call me about the recall" in prompt


def test_an_unknown_number_is_told_how_to_become_known(db):
    prompt = ModelAgent(ConversationStart(shop=shop_facts(), caller_phone="+16025550177"), chat=object()).system_prompt()
    assert "not in our records" in prompt and "create_customer" in prompt and "lookup_customer" in prompt


def test_no_such_customer_is_no_caller(db):
    assert caller_facts(None) is None and caller_facts(987654) is None


@pytest.mark.parametrize("zone", ["America/Phoenix", "America/Denver"])
def test_the_day_and_time_are_the_dealerships_own(settings, shop, zone):
    settings.TIME_ZONE = zone
    facts = shop_facts()
    local = timezone.now().astimezone(dealership_zone())
    assert facts.zone == zone and facts.now.date() == local.date()
