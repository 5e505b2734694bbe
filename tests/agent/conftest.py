"""Fixtures for the agent's CRM tools: a shop, its menu, two customers with cars, and a way to call a tool.

The shop and the dates are tests/scheduling/conftest.py's: Mon-Fri 07:00-18:00 with lunch 12:00-12:30,
Saturday 08:00-14:00, three bays, and test days at least a week ahead, so the tests need no fake clock.
Tools are called the way the agent calls them: ``run_tool`` with a ``ToolCall`` of plain JSON arguments.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings

from agent.events import ToolCall
from agent.tools.base import ToolContext, ToolResult
from agent.tools.registry import run_tool
from crm import services as crm_services
from crm.vin import vin_check_digit
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import ServiceType

# The shop, its bays and the test days are the scheduling tests' own (scheduling_settings pins the zone).
from tests.scheduling.conftest import at, bays, monday, scheduling_settings, shop, today  # noqa: E402, F401

CALL_SID = "CA" + "ab" * 16
CALLER_PHONE = "+16025550100"  # Maria's
STRANGER_PHONE = "+16025550177"  # on no account


def make_vin(first_16: str) -> str:
    """A valid VIN from 17 characters' worth of text: the check digit (9th) is computed, as on a real car."""
    raw = first_16[:8] + "0" + first_16[8:16]
    return raw[:8] + vin_check_digit(raw) + raw[9:]


def dealership_zone() -> ZoneInfo:
    return ZoneInfo(django_settings.TIME_ZONE)


@pytest.fixture
def sunday(monday) -> date:
    return monday + timedelta(days=6)


@pytest.fixture
def menu(db) -> SimpleNamespace:
    return SimpleNamespace(
        oil=ServiceType.objects.create(
            name="Oil change", op_code="LOF", duration_minutes=60, price_min=49, price_max=89, aliases=["lube"]
        ),
        rotation=ServiceType.objects.create(
            name="Tire rotation", op_code="ROT", duration_minutes=30, price_min=25, price_max=25
        ),
        retired=ServiceType.objects.create(
            name="Carburetor tune-up", op_code="CARB", duration_minutes=90, price_min=120, price_max=200, active=False
        ),
    )


@pytest.fixture
def customer(db):
    return crm_services.customer_create(first_name="María", last_name="López", phone="(602) 555-0100")


@pytest.fixture
def vehicle(customer):
    return crm_services.vehicle_create(
        customer=customer, year=2019, make="Honda", model="Civic", plate="ABC-1234", vin=make_vin("1HGFC2F5KA123456")
    )


@pytest.fixture
def other_customer(db):
    return crm_services.customer_create(first_name="Dev", last_name="Patel", phone="(602) 555-0101")


@pytest.fixture
def other_vehicle(other_customer):
    return crm_services.vehicle_create(
        customer=other_customer, year=2021, make="Toyota", model="RAV4", plate="XYZ 9876",
        vin=make_vin("2T3P1RFVXMC65432"),
    )  # fmt: skip


@pytest.fixture
def staff(staff_user) -> Actor:
    return Actor.staff(staff_user)


@pytest.fixture
def staff_book(bays, menu, staff):
    """``staff_book(vehicle, start)``: an appointment made by an advisor (an oil change unless told)."""

    def make(vehicle, start: datetime, *, service_types=None):
        return scheduling_services.appointment_book(
            customer=vehicle.customer,
            vehicle=vehicle,
            service_types=[menu.oil] if service_types is None else service_types,
            start=start,
            actor=staff,
        )

    return make


@pytest.fixture
def context_for():
    """``context_for(customer)``: the state of a call from that customer's number (or a stranger's, or withheld)."""

    def make(customer=None, *, phone: str | None = None, records=None) -> ToolContext:
        if phone is None:
            phone = customer.phone if customer is not None else STRANGER_PHONE
        return ToolContext(
            call_sid=CALL_SID,
            caller_phone=phone,
            customer_id=customer.pk if customer is not None else None,
            identified_by="caller_id" if customer is not None else "",
            records=records,
        )

    return make


def call_tool(context: ToolContext, name: str, arguments: dict | None = None) -> ToolResult:
    """Run a tool the way the agent does; the result also goes through the model's serialization."""
    result = run_tool(context, ToolCall(id="c1", name=name, arguments={} if arguments is None else arguments))
    result.for_model()  # must always serialize
    return result


def assert_invalid(result: ToolResult, *words: str) -> None:
    """A validation refusal: not ok, a sentence to say, and what was wrong for the model."""
    assert result.ok is False
    assert result.say == "Sorry, I didn't catch that properly."
    assert result.data["error"].startswith("invalid arguments")
    for word in words:
        assert word in result.data["error"]
    assert not result.changes


@pytest.fixture(autouse=True)
def agent_database_threads_closed():
    """The agent's own database threads keep a connection each: closed after every test, so the test database
    can be dropped and no test sees another's pool."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from agent.database import shutdown

    shutdown()
    # Tools on Channels' shared database thread (asgiref's single-thread executor) leave its connection open.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)
