"""Records of the agent's tool calls: saved with their agent turn in order, late ones, what they changed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agent.events import ToolCall
from agent.records import ToolInvocation as Invocation
from agent.tools.base import Change, ToolResult
from agent.tools.base import ChangeKind as AgentChangeKind
from agent.tools.base import ToolKind as AgentToolKind
from crm import services as crm_services
from scheduling import services as scheduling_services
from scheduling.actors import Actor
from scheduling.models import Bay, OpeningHours, ServiceType
from voice import services
from voice.models import CallChange, ChangeKind, Speaker, ToolInvocation, ToolKind, Turn
from voice.selectors import call_with_records

from .conftest import KNOWN_NUMBER, call_sid

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def invocation(name: str = "book_appointment", *, kind: AgentToolKind = AgentToolKind.WRITE, ok: bool = True,
               data: dict | None = None, say: str = "", changes=(), started_at: datetime | None = None,
               arguments: dict | None = None, raw_arguments: str = "", duration_ms: float = 42.4,
               round: int = 1, cancelled: bool = False) -> Invocation:  # fmt: skip
    """An invocation as the agent hands it to its recorder."""
    arguments = {"services": ["oil change"]} if arguments is None and not raw_arguments else arguments
    return Invocation(
        call=ToolCall(id=f"call_{next(_ids):04d}", name=name, arguments=arguments, raw_arguments=raw_arguments),
        kind=kind,
        result=ToolResult(ok=ok, data=data if data is not None else {"booked": True}, say=say, changes=changes),
        started_at=started_at or timezone.now(),
        duration_ms=duration_ms,
        round=round,
        cancelled=cancelled,
    )


def register(n: int = 1) -> str:
    services.call_register_inbound(call_sid=call_sid(n), from_number=KNOWN_NUMBER, to_number="+16025550000")
    return call_sid(n)


def say(sid: str, speaker: str, text: str, *, at: datetime | None = None, **kwargs) -> Turn:
    at = at or timezone.now()
    return services.turn_record(call_sid=sid, speaker=speaker, text=text, started_at=at,
                                ended_at=at + timedelta(seconds=2), **kwargs)  # fmt: skip


@pytest.fixture
def appointment(known_customer):
    """An oil change for the known customer's Accord, booked by the phone agent a week from now at 10:00."""
    for weekday in range(7):
        OpeningHours.objects.create(weekday=weekday, opens=time(0), closes=time(23, 59, 59))
    Bay.objects.create(name="Bay 1")
    oil = ServiceType.objects.create(name="Oil change", op_code="LOF", duration_minutes=60, price_min=49, price_max=89)
    vehicle = crm_services.vehicle_create(customer=known_customer, year=2019, make="Honda", model="Accord")
    day = timezone.localdate() + timedelta(days=7)
    start = timezone.make_aware(datetime.combine(day, time(10)))
    return scheduling_services.appointment_book(customer=known_customer, vehicle=vehicle, service_types=[oil],
                                                start=start, actor=Actor.phone_agent(call_sid(1)))  # fmt: skip


def test_stored_kinds_are_the_agent_s_kinds():
    assert set(ChangeKind.values) == {kind.value for kind in AgentChangeKind}
    assert set(ToolKind.values) == {kind.value for kind in AgentToolKind}


# --------------------------------------------------------------------------- with their turn


def test_tool_calls_are_saved_with_their_agent_turn_in_order_with_what_they_changed(appointment, known_customer):
    sid = register()
    say(sid, Speaker.CALLER, "Can you book me an oil change next week at ten?")
    search = invocation("search_knowledge", kind=AgentToolKind.READ, data={"answer": "Oil changes take an hour."},
                        arguments={"question": "how long is an oil change"}, duration_ms=8.26)  # fmt: skip
    book = invocation(data={"appointment": appointment.pk, "starts": appointment.starts_at, "price": Decimal("49.00")},
                      changes=(Change(AgentChangeKind.BOOKED, appointment_id=appointment.pk,
                                      customer_id=known_customer.pk, vehicle_id=appointment.vehicle_id),),
                      round=2)  # fmt: skip
    turn = say(sid, Speaker.AGENT, "You're booked for ten.", heard_text="You're booked for ten.",
               tools=[(search, False), (book, True)])  # fmt: skip

    rows = list(ToolInvocation.objects.order_by("position"))
    assert [(r.position, r.name, r.kind, r.turn_id, r.heard) for r in rows] == [
        (1, "search_knowledge", ToolKind.READ, turn.pk, False),
        (2, "book_appointment", ToolKind.WRITE, turn.pk, True),
    ]  # fmt: skip
    first, second = rows
    assert first.arguments == {"question": "how long is an oil change"}
    assert first.result == {"answer": "Oil changes take an hour."} and first.ok and first.error == ""
    assert first.duration_ms == pytest.approx(8.26) and first.started_at == search.started_at
    assert first.tool_call_id == search.call.id and first.round == 1 and not first.cancelled
    # What the model read, kept as JSON: dates and amounts as text.
    assert second.result == {"appointment": appointment.pk, "starts": appointment.starts_at.isoformat(),
                             "price": "49.00"}  # fmt: skip
    assert second.round == 2

    (change,) = CallChange.objects.all()
    assert (change.call.call_sid, change.invocation, change.kind) == (sid, second, ChangeKind.BOOKED)
    assert (change.appointment, change.customer, change.vehicle_id, change.callback) == (
        appointment, known_customer, appointment.vehicle_id, None,
    )  # fmt: skip

    # The next reply's tool calls continue the call's order.
    another = invocation("search_knowledge", kind=AgentToolKind.READ)
    later = say(sid, Speaker.AGENT, "Anything else?", tools=[(another, True)])
    assert ToolInvocation.objects.get(turn=later).position == 3


def test_a_refusal_keeps_the_spoken_sentence_and_its_alternatives():
    sid = register()
    refused = invocation(ok=False, say="Sorry, ten is taken. I have eleven or one.", data={"alternatives": ["11:00"]})
    say(sid, Speaker.AGENT, "Sorry, ten is taken. I have eleven or one.", tools=[(refused, True)])
    row = ToolInvocation.objects.get()
    assert not row.ok and row.error == "Sorry, ten is taken. I have eleven or one."
    assert row.result == {"alternatives": ["11:00"]}
    assert not CallChange.objects.exists()


def test_arguments_that_were_not_json_are_kept_as_sent():
    sid = register()
    broken = invocation(arguments=None, raw_arguments='{"services": ["oil', ok=False, say="Sorry, I didn't catch that.")
    say(sid, Speaker.AGENT, "Sorry, I didn't catch that.", tools=[(broken, False)])
    assert ToolInvocation.objects.get().arguments == {"unreadable": '{"services": ["oil'}


def test_an_interrupted_read_is_kept_as_cancelled():
    sid = register()
    read = invocation("search_knowledge", kind=AgentToolKind.READ, ok=False, data={"error": "cancelled"},
                      cancelled=True)  # fmt: skip
    say(sid, Speaker.AGENT, "", interrupted=True, tools=[(read, False)])
    row = ToolInvocation.objects.get()
    assert row.cancelled and not row.heard and row.error == "cancelled"


def test_a_retried_turn_saves_its_turn_and_tool_calls_once(appointment, known_customer):
    sid = register()
    at = timezone.now()
    book = invocation(changes=(Change(AgentChangeKind.BOOKED, appointment_id=appointment.pk),))
    first = say(sid, Speaker.AGENT, "You're booked.", at=at, tools=[(book, True)])
    again = say(sid, Speaker.AGENT, "You're booked.", at=at, tools=[(book, True)])
    assert again.pk == first.pk
    assert Turn.objects.count() == 1 and ToolInvocation.objects.count() == 1 and CallChange.objects.count() == 1


def test_only_agent_turns_have_tool_calls():
    sid = register()
    with pytest.raises(services.CallError):
        say(sid, Speaker.CALLER, "book it", tools=[(invocation(), True)])
    with pytest.raises(services.CallError):
        say(sid, Speaker.AGENT, "ok", tools=[(invocation(started_at=datetime(2026, 1, 1, 12)), True)])
    assert not Turn.objects.exists() and not ToolInvocation.objects.exists()


def test_a_change_whose_record_is_gone_keeps_its_kind_without_the_link(known_customer):
    sid = register()
    gone = invocation("cancel_appointment", changes=(Change(AgentChangeKind.CANCELLED, appointment_id=987654,
                                                            customer_id=known_customer.pk),))  # fmt: skip
    say(sid, Speaker.AGENT, "It's cancelled.", tools=[(gone, True)])
    change = CallChange.objects.get()
    assert change.kind == ChangeKind.CANCELLED and change.appointment_id is None
    assert change.customer == known_customer


# --------------------------------------------------------------------------- late ones


def test_a_write_that_finished_after_its_turn_goes_with_that_turn(appointment):
    sid = register()
    start = timezone.now()
    say(sid, Speaker.CALLER, "Book it for ten", at=start)
    replying = say(sid, Speaker.AGENT, "Let me", at=start + timedelta(seconds=3), interrupted=True)
    say(sid, Speaker.CALLER, "Actually wait", at=start + timedelta(seconds=5))
    say(sid, Speaker.AGENT, "Sure, take your time.", at=start + timedelta(seconds=8),
        tools=[(invocation("search_knowledge", kind=AgentToolKind.READ, started_at=start + timedelta(seconds=9)),
                True)])  # fmt: skip

    late = invocation(started_at=start + timedelta(seconds=4),
                      changes=(Change(AgentChangeKind.BOOKED, appointment_id=appointment.pk),))  # fmt: skip
    row = services.tool_invocation_record(call_sid=sid, invocation=late)
    assert row.turn == replying and row.position == 2 and row.heard is False
    assert CallChange.objects.get().invocation == row and CallChange.objects.get().appointment == appointment

    assert services.tool_invocation_record(call_sid=sid, invocation=late).pk == row.pk  # a retry
    assert ToolInvocation.objects.count() == 2 and CallChange.objects.count() == 1


def test_a_late_write_before_any_agent_turn_belongs_to_none():
    sid = register()
    say(sid, Speaker.CALLER, "Hello?")
    row = services.tool_invocation_record(call_sid=sid, invocation=invocation(), heard=True)
    assert row.turn is None and row.position == 1 and row.heard


def test_a_late_write_of_a_call_we_have_not_seen_still_lands():
    row = services.tool_invocation_record(call_sid=call_sid(7), invocation=invocation())
    assert row.call.call_sid == call_sid(7) and row.turn is None


# --------------------------------------------------------------------------- reading them back


def test_the_call_s_records_read_in_a_fixed_number_of_queries(appointment, known_customer):
    sid = register()
    for i in range(6):
        say(sid, Speaker.CALLER, f"question {i}")
        changes = (Change(AgentChangeKind.BOOKED, appointment_id=appointment.pk, customer_id=known_customer.pk,
                          vehicle_id=appointment.vehicle_id),)  # fmt: skip
        say(sid, Speaker.AGENT, f"answer {i}", tools=[(invocation(changes=changes), True),
                                                      (invocation("search_knowledge", kind=AgentToolKind.READ), True)])
    call_id = ToolInvocation.objects.first().call_id
    with CaptureQueriesContext(connection) as queries:
        call = call_with_records(call_id)
        names = [tool.name for tool in call.tool_invocations.all()]
        linked = [(str(c.appointment), str(c.customer), str(c.vehicle)) for c in call.changes.all()]
        turns = [turn.text for turn in call.turns.all()]
    assert len(queries) == 5
    assert names == ["book_appointment", "search_knowledge"] * 6 and len(linked) == 6 and len(turns) == 12
    assert linked[0][1] == "Dana Whitfield" and linked[0][2] == "2019 Honda Accord"


def test_times_of_tool_calls_are_kept_to_the_microsecond():
    sid = register()
    moment = datetime(2026, 11, 21, 21, 0, 0, 123456, tzinfo=UTC)
    say(sid, Speaker.AGENT, "ok", at=moment, tools=[(invocation(started_at=moment + timedelta(microseconds=5)), True)])
    assert ToolInvocation.objects.get().started_at == moment + timedelta(microseconds=5)
