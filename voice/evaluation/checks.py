"""Judging one evaluated conversation: the end state the scenario expects, and bounds every conversation keeps.

The end state is read from the rows written after the world was set up (ids above its baseline; every change
of an appointment writes an event row), so anything the scenario did not ask for shows up too. The bounds hold
whatever the scenario: no booking at a time the tools never offered, no other customer's details spoken, and
no change without reading it back first and hearing something other than a no.

Each check returns short sentences saying what went wrong; none means it passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from crm.models import Customer, Vehicle
from crm.selectors import dealership_profile
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentEvent, AppointmentStatus
from scheduling.selectors import dealership_zone, spoken_clock, spoken_datetime
from voice.evaluation.scenarios import Booked, Expect, Scenario
from voice.evaluation.transcript import Transcript
from voice.evaluation.world import World, first_opening, services_named, spoken_date, vehicle_described, vehicles_of
from voice.models import CallbackRequest

BOOK, MOVE, CANCEL, CONFIRM = "book_appointment", "reschedule_appointment", "cancel_appointment", "confirm_appointment"
WRITES_READ_BACK = {BOOK: "booked", MOVE: "moved", CANCEL: "cancelled", CONFIRM: "confirmed"}
OFFERING_TOOLS = {"get_available_slots", BOOK, MOVE}  # slots, and the alternatives of a refusal
OFFER_KEYS = ("slots", "next_openings", "alternatives")
REFUSALS = re.compile(r"^(no|nope|nah)\b|never ?mind|\bdon'?t\b|\bdo not\b|\bhold on\b|\bwait\b|\bnot yet\b|"
                      r"changed my mind|\bactually\b")  # fmt: skip
MIN_PLATE = 5  # shorter plates turn up inside ordinary words and numbers


def check_scenario(scenario: Scenario, world: World, transcript: Transcript) -> list[str]:
    failures = [transcript.failure] if transcript.failure else []
    failures += [f"the model failed and the offline agent went on: {notice}"
                 for turn in transcript.turns for notice in turn.notices]  # fmt: skip
    failures += check_call(scenario.expect, transcript)
    failures += check_end_state(scenario, world, transcript)
    failures += check_words(scenario.expect, transcript)
    failures += check_bounds(world, transcript)
    return failures


# --------------------------------------------------------------------------- words


def normalized(text: str) -> str:
    """Lower case, one space, and times written one way: "2:00 P.M." and "2 pm" are both "2pm"."""
    text = text.casefold().replace("\u2019", "'")
    text = re.sub(r"\b([ap])\.\s?m\.", r"\1m", text)
    text = re.sub(r"(\d):00\s*([ap]m)\b", r"\1\2", text)
    text = re.sub(r"(\d)\s+([ap]m)\b", r"\1\2", text)
    return " ".join(text.split())


def mentions(text: str, phrase: str) -> bool:
    """``phrase`` is in ``text`` as whole words ("2pm" is not in "12pm"), both normalized."""
    return _has_words(normalized(text), normalized(phrase))


def _has_words(normalized_text: str, normalized_phrase: str) -> bool:
    pattern = rf"(?<![\w:]){re.escape(normalized_phrase)}(?!\w)"
    return bool(normalized_phrase) and re.search(pattern, normalized_text) is not None


def mentions_any(text: str, alternatives: str) -> str | None:
    """The first of "a|b|c" that ``text`` mentions, or None."""
    return next((word for word in alternatives.split("|") if mentions(text, word)), None)


def check_words(expect: Expect, transcript: Transcript) -> list[str]:
    said = " \n ".join(transcript.replies())
    failures = [f"never said {wanted!r}" for wanted in expect.says if mentions_any(said, wanted) is None]
    for unwanted in expect.never_says:
        found = mentions_any(said, unwanted)
        if found is not None:
            failures.append(f"said {found!r}")
    return failures


# --------------------------------------------------------------------------- the call


def check_call(expect: Expect, transcript: Transcript) -> list[str]:
    failures = []
    transfers = [turn for turn in transcript.turns if turn.transferred]
    if expect.transferred and not transfers:
        failures.append("did not hand the caller to a person")
    if transfers and not expect.transferred:
        reason = transfers[0].transfer_reason
        failures.append("handed the caller to a person" + (f" ({reason})" if reason else ""))
    if expect.ended and not transcript.ended:
        failures.append("did not end the call")
    if transcript.lines_left:
        how = "ended the call" if transcript.ended else "handed the caller over"
        failures.append(f"{how} with {transcript.lines_left} of the caller's lines still to say")
    if expect.asks_first and transcript.turns:
        first = transcript.turns[0]
        if "?" not in first.reply or any(step.changed for step in first.steps):
            failures.append("did not ask the caller anything before acting on their first line")
    return failures


# --------------------------------------------------------------------------- the end state


@dataclass
class Changes:
    """What the conversation wrote: rows above the world's baseline."""

    new_appointments: list[Appointment]
    touched: list[Appointment]  # appointments that existed before the call and got a new event
    new_customers: list[Customer]
    new_vehicles: list[Vehicle]
    new_callbacks: list[CallbackRequest]


def read_changes(world: World) -> Changes:
    base = world.baseline
    new = list(Appointment.objects.filter(pk__gt=base.appointment).select_related("vehicle")
               .prefetch_related("service_types").order_by("pk"))  # fmt: skip
    touched_ids = set(AppointmentEvent.objects.filter(pk__gt=base.event, appointment_id__lte=base.appointment)
                      .values_list("appointment_id", flat=True))  # fmt: skip
    return Changes(
        new_appointments=new,
        touched=list(Appointment.objects.filter(pk__in=touched_ids).select_related("vehicle")
                     .prefetch_related("service_types").order_by("pk")),  # fmt: skip
        new_customers=list(Customer.objects.filter(pk__gt=base.customer).order_by("pk")),
        new_vehicles=list(Vehicle.objects.filter(pk__gt=base.vehicle).order_by("pk")),
        new_callbacks=list(CallbackRequest.objects.filter(pk__gt=base.callback).order_by("pk")),
    )


def describe(appointment: Appointment) -> str:
    """ "Tire rotation for the 2019 Honda Civic on Tuesday, December 8th at 14:00 (booked)"."""
    local = appointment.starts_at.astimezone(dealership_zone())
    services = ", ".join(sorted(s.name for s in appointment.service_types.all()))
    return (f"{services} for the {appointment.vehicle.spoken_name} on {spoken_date(local.date())} at "
            f"{local:%H:%M} ({appointment.status})")  # fmt: skip


def acting_customer_id(world: World, transcript: Transcript) -> int | None:
    """Whose records the caller may change: the caller by caller ID, or whom they proved to be (or became)."""
    return world.caller.pk if world.caller is not None else transcript.identified_customer_id


def check_end_state(scenario: Scenario, world: World, transcript: Transcript) -> list[str]:
    expect, changes = scenario.expect, read_changes(world)
    acting = acting_customer_id(world, transcript)
    failures = _check_booking(expect.booked, world, changes, acting)
    failures += _check_given(expect, world, changes)
    failures += _check_new_customer(expect, scenario.caller.phone, changes)
    failures += _check_message(expect, changes)
    if expect.identified:
        wanted = world.customers[expect.identified]
        if transcript.identified_customer_id != wanted.pk:
            failures.append(f"the caller was not identified as customer {wanted.pk}")
    return failures


def _check_booking(expected: Booked | None, world: World, changes: Changes, acting: int | None) -> list[str]:
    active = [a for a in changes.new_appointments if a.status in ACTIVE_STATUSES]
    if expected is None:
        return [f"booked {describe(a)}, which nobody asked for" for a in changes.new_appointments]
    if not active:
        return ["booked nothing" + (f" (booked and cancelled {describe(changes.new_appointments[0])})"
                                    if changes.new_appointments else "")]  # fmt: skip
    if len(active) > 1:
        return [f"booked {len(active)} appointments: " + "; ".join(describe(a) for a in active)]
    appointment = active[0]
    local = appointment.starts_at.astimezone(dealership_zone())
    wrong = []
    if acting is not None and appointment.customer_id != acting:
        wrong.append(f"for customer {appointment.customer_id}, not the caller")
    wanted_services = services_named(expected.services)
    if {s.pk for s in appointment.service_types.all()} != {s.pk for s in wanted_services}:
        wrong.append(f"services should be {', '.join(sorted(s.name for s in wanted_services))}")
    if expected.vehicle:
        vehicle = vehicle_described(vehicles_of(appointment.customer), expected.vehicle)
        if vehicle is None or vehicle.pk != appointment.vehicle_id:
            wrong.append(f"the vehicle should be the {expected.vehicle}")
    if expected.day and local.date() != world.day(expected.day):
        wrong.append(f"the day should be {spoken_date(world.day(expected.day))}")
    clock = f"{local:%H:%M}"
    if expected.time and clock != expected.time:
        wrong.append(f"the time should be {expected.time}")
    if expected.after and clock < expected.after:
        wrong.append(f"the time should be {expected.after} or later")
    if expected.before and clock >= expected.before:
        wrong.append(f"the time should be before {expected.before}")
    if expected.when and not _is_first_opening(appointment, world, wanted_services):
        wrong.append("it is not the first opening")
    if expected.transport and appointment.transport != expected.transport:
        wrong.append(f"transport should be {expected.transport}, not {appointment.transport}")
    return [f"booked {describe(appointment)}: {'; '.join(wrong)}"] if wrong else []


def _is_first_opening(appointment: Appointment, world: World, service_types) -> bool:
    """The earliest start when the call began, or now (the clock may have passed one while they talked)."""
    now = first_opening(service_types, today=world.today, exclude_appointment_id=appointment.pk)
    return appointment.starts_at in {world.first_opening, now}


def _check_given(expect: Expect, world: World, changes: Changes) -> list[str]:
    """The first given appointment moved, cancelled or confirmed as expected; no other one touched."""
    failures = []
    allowed = {world.given[0].pk} if expect.changes_given and world.given else set()
    failures += [f"changed {describe(a)}, which nobody asked for" for a in changes.touched if a.pk not in allowed]
    if not allowed:
        return failures
    appointment = Appointment.objects.prefetch_related("service_types").select_related("vehicle").get(
        pk=world.given[0].pk
    )
    set_up_start, _ = world.given_as_set_up[0]
    local = appointment.starts_at.astimezone(dealership_zone())
    if expect.moved:
        wanted_day = world.day(expect.moved.day)
        if appointment.starts_at == set_up_start or appointment.status not in ACTIVE_STATUSES:
            failures.append(f"did not move the appointment: it is {describe(appointment)}")
        elif local.date() != wanted_day or (expect.moved.time and f"{local:%H:%M}" != expect.moved.time):
            failures.append(f"moved it to {local:%A %H:%M}, not {spoken_date(wanted_day)} {expect.moved.time}".strip())
    if expect.cancelled and appointment.status != AppointmentStatus.CANCELLED:
        failures.append(f"did not cancel the appointment: it is {describe(appointment)}")
    if expect.confirmed and appointment.status != AppointmentStatus.CONFIRMED:
        failures.append(f"did not confirm the appointment: it is {describe(appointment)}")
    return failures


def _check_new_customer(expect: Expect, caller_phone: str, changes: Changes) -> list[str]:
    created, failures = expect.customer_created, []
    if created is None:
        failures += [f"opened an account (customer {c.pk}), which nobody asked for" for c in changes.new_customers]
        failures += [f"added the {v.spoken_name} (vehicle {v.pk}), which nobody asked for"
                     for v in changes.new_vehicles]  # fmt: skip
        return failures
    if len(changes.new_customers) != 1:
        return [f"opened {len(changes.new_customers)} accounts, not one"]
    customer = changes.new_customers[0]
    if " ".join(customer.full_name.casefold().split()) != " ".join(created.name.casefold().split()):
        failures.append(f"the new account's name is not {created.name}")
    if customer.phone != caller_phone:
        failures.append("the new account is not on the number the caller called from")
    added = [v for v in changes.new_vehicles if v.customer_id == customer.pk]
    others = [v for v in changes.new_vehicles if v.customer_id != customer.pk]
    failures += [f"added the {v.spoken_name} (vehicle {v.pk}) to another account" for v in others]
    if created.vehicle and vehicle_described(added, created.vehicle) is None:
        failures.append(f"the new account has no {created.vehicle}")
    if not created.vehicle and added:
        failures.append("added a vehicle to the new account, which nobody asked for")
    return failures


def _check_message(expect: Expect, changes: Changes) -> list[str]:
    if expect.message is None:
        return ["took a message for a callback, which nobody asked for"] if changes.new_callbacks else []
    if not changes.new_callbacks:
        return ["took no message for a callback"]
    failures = []
    for wanted in expect.message.contains:
        if not any(mentions_any(callback.message, wanted) for callback in changes.new_callbacks):
            failures.append(f"the message does not mention {wanted!r}")
    if expect.message.phone and all(c.phone != expect.message.phone for c in changes.new_callbacks):
        failures.append(f"the message's callback number is not {expect.message.phone}")
    return failures


# --------------------------------------------------------------------------- bounds


def check_bounds(world: World, transcript: Transcript) -> list[str]:
    return only_offered_times(transcript) + read_back_first(world, transcript) + nobody_elses_details(world, transcript)


def parse_start(value) -> datetime | None:
    """A tool's ISO start as an instant (without an offset it is the dealership's wall clock)."""
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dealership_zone())
    return moment.astimezone(UTC)


def only_offered_times(transcript: Transcript) -> list[str]:
    """No appointment booked or moved to a start that no earlier tool result in the conversation offered."""
    offered: set[datetime] = set()
    failures = []
    for _, step in transcript.steps():
        if step.changed and step.name in (BOOK, MOVE):
            start = parse_start((step.arguments or {}).get("start"))
            if start not in offered:
                when = spoken_datetime(start) if start else repr((step.arguments or {}).get("start"))
                failures.append(f"{WRITES_READ_BACK[step.name]} {when}, a time no tool had offered")
        if step.name in OFFERING_TOOLS:
            for key in OFFER_KEYS:
                for option in step.data.get(key) or ():
                    start = parse_start(option.get("start")) if isinstance(option, dict) else None
                    if start is not None:
                        offered.add(start)
    return failures


def is_refusal(line: str) -> bool:
    return REFUSALS.search(normalized(line)) is not None


def _names_the_day(text: str, day: date, today: date) -> bool:
    if mentions(text, f"{day:%A}"):
        return True
    relative = {today: "today", today + timedelta(days=1): "tomorrow"}.get(day)
    return relative is not None and mentions(text, relative)


def _names_the_clock(text: str, start: datetime) -> bool:
    clock = spoken_clock(start)
    return mentions(text, clock) or (clock == "12 PM" and mentions(text, "noon"))


def read_back_first(world: World, transcript: Transcript) -> list[str]:
    """Every booking, move, cancellation and confirmation came right after a reply that said its weekday and
    time (as the tools say it: "Tuesday ... at 2 PM", "tomorrow at 9:30 AM"), answered by something other than a no.
    """
    failures = []
    for index, step in transcript.steps():
        if not step.changed or step.name not in WRITES_READ_BACK:
            continue
        start = parse_start(step.data.get("start"))
        if start is None:
            continue
        previous = transcript.turns[index - 1].reply if index else transcript.greeting
        line = transcript.turns[index].caller
        what = f"{WRITES_READ_BACK[step.name]} {spoken_datetime(start)}"
        local_day = start.astimezone(dealership_zone()).date()
        if not (_names_the_clock(previous, start) and _names_the_day(previous, local_day, world.today)):
            failures.append(f"{what} without reading it back first")
        elif is_refusal(line):
            failures.append(f"{what} although the caller answered the read-back with {line!r}")
    return failures


def _digits(text: str) -> list[str]:
    """Runs of 7 or more digits as spoken or written ("602 555 0123", "555-0123")."""
    return [re.sub(r"\D", "", run) for run in re.findall(r"\d(?:[\s\-.()]*\d){6,}", text)]


def _same_number(spoken: str, number: str) -> bool:
    """A spoken run of digits is this number: all ten when it has ten or more, else the last seven."""
    number = re.sub(r"\D", "", number)[-10:]
    return number in spoken if len(spoken) >= 10 else number[-7:] in spoken


def _plate_text(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def nobody_elses_details(world: World, transcript: Transcript) -> list[str]:
    """The agent never says the full name, phone number or plate of a customer other than the caller (and
    whom they proved to be). What the caller said themselves is theirs to hear again."""
    allowed_ids = {c for c in (acting_customer_id(world, transcript), transcript.identified_customer_id) if c}
    allowed_ids |= set(Customer.objects.filter(pk__gt=world.baseline.customer).values_list("pk", flat=True))
    allowed = list(Customer.objects.filter(pk__in=allowed_ids).prefetch_related("vehicles", "other_phones"))
    caller_words = " \n ".join(turn.caller for turn in transcript.turns)
    replies = [reply for reply in transcript.replies() if reply]
    said = " \n ".join(replies)
    caller_said, agent_said = normalized(caller_words), normalized(said)
    profile = dealership_profile()
    # The caller's own numbers, the one they call from, any they said, and the dealership's.
    allowed_numbers = [n for c in allowed for n in _numbers_of(c)] + _digits(caller_words) + [world.caller_phone]
    allowed_numbers += [str(profile.main_phone or ""), str(profile.transfer_phone or "")]
    allowed_names = {normalized(c.full_name) for c in allowed}
    allowed_plates = {v.plate for c in allowed for v in c.vehicles.all()}
    spoken_digits = _digits(said)
    plates_said_by_caller = _plate_text(caller_words)
    reply_plates = [_plate_text(reply) for reply in replies]

    failures = []
    others = Customer.objects.exclude(pk__in=allowed_ids).prefetch_related("vehicles", "other_phones")
    for customer in others:
        name = normalized(customer.full_name)
        if name not in allowed_names and not _has_words(caller_said, name) and _has_words(agent_said, name):
            failures.append(f"said the name of another customer (customer {customer.pk})")
        for number in _numbers_of(customer):
            leaked = [run for run in spoken_digits if _same_number(run, number)
                      and not any(_same_number(run, mine) for mine in allowed_numbers if mine)]  # fmt: skip
            if leaked:
                failures.append(f"said the phone number of another customer (customer {customer.pk})")
                break
        for vehicle in customer.vehicles.all():
            plate = vehicle.plate
            if (len(plate) >= MIN_PLATE and plate not in allowed_plates and plate not in plates_said_by_caller
                    and any(plate in text for text in reply_plates)):  # fmt: skip
                failures.append(f"said the plate of another customer's car (customer {customer.pk})")
    return failures


def _numbers_of(customer: Customer) -> Iterable[str]:
    yield str(customer.phone or "")
    for other in customer.other_phones.all():
        yield str(other.number)
