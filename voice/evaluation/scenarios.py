"""The scenarios file (scenarios.toml), read into dataclasses and checked, with errors that name the scenario.

Each ``[[scenario]]`` has:

    name      a short slug
    about     one line: what it is about
    caller    { customer = "+16025550124", name = "Nicholas Martin" }   a demo customer, known by caller ID
              { unknown = "+16025550142" }                              a number that is on no account
              { withheld = true }                                       no caller ID at all
    given     appointments that exist when the call starts (optional):
              { day, time = "09:00", services = [...], vehicle = "first", status = "booked", customer = <phone> }
              status: booked, confirmed, checked_in or completed; customer: whose (default: the caller)
    busy      starts taken in every bay (optional): { day, time, services }
    lines     what the caller says, one line per turn; {day expression} puts a day in words (see world.py)
    expect    the end state and what the agent must or must not say:
              booked = { services, vehicle, day, time | after / before | when = "first opening", transport }
              moved = { day, time }, cancelled = true, confirmed = true   (the first given appointment)
              message = { contains = [...], phone }, customer_created = { name, vehicle }
              identified = <phone>    the caller proved to be this demo customer
              nothing_changed, transferred, ended, asks_first = true
              says = [...], never_says = [...]   ("a|b": either will do)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from voice.evaluation.world import FORMATS, day_placeholders, parse_day

SCENARIOS_FILE = Path(__file__).with_name("scenarios.toml")
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
PHONE = re.compile(r"\+1\d{10}")
STATUSES = ("booked", "confirmed", "checked_in", "completed")
TRANSPORTS = ("waiter", "drop_off", "shuttle", "loaner")
FIRST_OPENING = "first opening"


class ScenarioError(ValueError):
    """The scenarios file is not what this evaluation can run; the message names the scenario and the field."""


@dataclass(frozen=True)
class Caller:
    phone: str = ""  # E.164; "" when withheld
    name: str = ""  # the demo customer's full name; "" for a caller who is not on file

    @property
    def known(self) -> bool:
        return bool(self.name)

    def describe(self) -> str:
        if self.known:
            return f"{self.name} ({self.phone})"
        return f"unknown ({self.phone})" if self.phone else "withheld number"


@dataclass(frozen=True)
class GivenAppointment:
    day: str
    time: str
    services: tuple[str, ...]
    vehicle: str = "first"
    status: str = "booked"
    customer: str = ""  # a demo customer's phone; "" is the caller


@dataclass(frozen=True)
class Busy:
    day: str
    time: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Booked:
    services: tuple[str, ...]
    vehicle: str = ""
    day: str = ""
    time: str = ""
    after: str = ""  # at or after this wall-clock time
    before: str = ""  # before this wall-clock time
    when: str = ""  # "first opening": the earliest start the shop had
    transport: str = ""


@dataclass(frozen=True)
class Moved:
    day: str
    time: str = ""


@dataclass(frozen=True)
class Message:
    contains: tuple[str, ...] = ()
    phone: str = ""


@dataclass(frozen=True)
class NewCustomer:
    name: str
    vehicle: str = ""


@dataclass(frozen=True)
class Expect:
    booked: Booked | None = None
    moved: Moved | None = None
    cancelled: bool = False
    confirmed: bool = False
    message: Message | None = None
    customer_created: NewCustomer | None = None
    identified: str = ""
    nothing_changed: bool = False
    transferred: bool = False
    ended: bool = False
    asks_first: bool = False
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = ()

    @property
    def changes_given(self) -> bool:
        return bool(self.moved or self.cancelled or self.confirmed)


@dataclass(frozen=True)
class Scenario:
    name: str
    about: str
    caller: Caller
    lines: tuple[str, ...]
    expect: Expect
    given: tuple[GivenAppointment, ...] = ()
    busy: tuple[Busy, ...] = ()

    def day_expressions(self) -> list[str]:
        """Every day the scenario names, in its lines, its world and its expectations."""
        found = [expression for line in self.lines for expression, _ in day_placeholders(line)]
        found += [item.day for item in (*self.given, *self.busy)]
        if self.expect.booked and self.expect.booked.day:
            found.append(self.expect.booked.day)
        if self.expect.moved:
            found.append(self.expect.moved.day)
        return found

    def customer_phones(self) -> list[str]:
        """The demo customers' numbers the scenario names (who calls, whose appointments, who they prove to be)."""
        phones = [self.caller.phone] if self.caller.known else []
        phones += [given.customer for given in self.given if given.customer]
        if self.expect.identified:
            phones.append(self.expect.identified)
        return list(dict.fromkeys(phones))


# --------------------------------------------------------------------------- reading


def load_scenarios(path: Path = SCENARIOS_FILE) -> list[Scenario]:
    return parse_scenarios(path.read_text(encoding="utf-8"), source=path.name)


def parse_scenarios(text: str, *, source: str = "scenarios.toml") -> list[Scenario]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source} is not valid TOML: {exc}") from None
    top = _Table(document, source)
    entries = top.take("scenario", list, required=True)
    top.done()
    scenarios, names = [], set()
    for index, entry in enumerate(entries, start=1):
        label = entry.get("name") if isinstance(entry, dict) and isinstance(entry.get("name"), str) else f"#{index}"
        scenario = _scenario(_Table(entry, f"scenario {label!r}"))
        if scenario.name in names:
            raise ScenarioError(f"scenario {scenario.name!r}: the name is used twice")
        names.add(scenario.name)
        scenarios.append(scenario)
    if not scenarios:
        raise ScenarioError(f"{source} has no scenarios")
    return scenarios


class _Table:
    """A TOML table being read: each key taken once, its type checked, any key left over refused."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise ScenarioError(f"{where}: expected a table, got {data!r}")
        self.data, self.where, self.taken = data, where, set()

    def fail(self, message: str):
        raise ScenarioError(f"{self.where}: {message}")

    def take(self, key: str, kind: type | tuple[type, ...], *, required: bool = False, default: Any = None) -> Any:
        self.taken.add(key)
        if key not in self.data:
            if required:
                self.fail(f"{key} is missing")
            return default
        value = self.data[key]
        if not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            self.fail(f"{key} should be {' or '.join(_KIND_NAMES[k] for k in kinds)}, not {value!r}")
        return value

    def words(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        value = self.take(key, list, required=required, default=[])
        if not all(isinstance(item, str) and item.strip() for item in value):
            self.fail(f"{key} should be a list of non-empty strings")
        if required and not value:
            self.fail(f"{key} is empty")
        return tuple(value)

    def table(self, key: str) -> _Table | None:
        value = self.take(key, dict)
        return None if value is None else _Table(value, f"{self.where}, {key}")

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.taken)
        if unknown:
            self.fail(f"unknown {'key' if len(unknown) == 1 else 'keys'} {', '.join(unknown)}")


_KIND_NAMES = {str: "a string", bool: "true or false", list: "a list", dict: "a table"}


def _scenario(table: _Table) -> Scenario:
    name = table.take("name", str, required=True)
    if not SLUG.fullmatch(name):
        table.fail("name should be a short slug such as book-next-tuesday")
    about = table.take("about", str, required=True)
    caller = _caller(table.table("caller") or table.fail("caller is missing"))
    lines = table.words("lines", required=True)
    for line in lines:
        _check_placeholders(table, line)
    given = tuple(_given(_Table(item, f"{table.where}, given #{n}")) for n, item in
                  enumerate(table.take("given", list, default=[]), start=1))  # fmt: skip
    busy = tuple(_busy(_Table(item, f"{table.where}, busy #{n}")) for n, item in
                 enumerate(table.take("busy", list, default=[]), start=1))  # fmt: skip
    expect = _expect(table.table("expect") or table.fail("expect is missing"))
    table.done()
    scenario = Scenario(name=name, about=about, caller=caller, lines=lines, expect=expect, given=given, busy=busy)
    _check_consistent(scenario, table)
    return scenario


def _caller(table: _Table) -> Caller:
    customer = table.take("customer", str)
    name = table.take("name", str, default="")
    unknown = table.take("unknown", str)
    withheld = table.take("withheld", bool, default=False)
    table.done()
    if sum(bool(x) for x in (customer, unknown, withheld)) != 1:
        table.fail("give exactly one of customer (with name), unknown (a number) or withheld = true")
    if customer is not None:
        if not name.strip():
            table.fail("a customer caller needs the name of the demo customer with that number")
        return Caller(phone=_phone(table, customer), name=name.strip())
    if name:
        table.fail("name goes with customer only")
    return Caller(phone=_phone(table, unknown)) if unknown else Caller()


def _phone(table: _Table, value: str) -> str:
    if not PHONE.fullmatch(value):
        table.fail(f"{value!r} is not a phone number written as +1 and ten digits")
    return value


def _day(table: _Table, key: str, *, required: bool = True) -> str:
    value = table.take(key, str, required=required, default="")
    if value:
        try:
            parse_day(value)
        except ValueError as exc:
            table.fail(f"{key}: {exc}")
    return value


def _clock(table: _Table, key: str, *, required: bool = False) -> str:
    value = table.take(key, str, required=required, default="")
    if value:
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or not re.fullmatch(r"\d\d:\d\d", value):
            table.fail(f"{key} should be a 24-hour time such as 14:00, not {value!r}")
    return value


def _check_placeholders(table: _Table, line: str) -> None:
    for expression, form in day_placeholders(line):
        try:
            parse_day(expression)
        except ValueError as exc:
            table.fail(f"in the line {line!r}: {exc}")
        if form not in FORMATS:
            table.fail(f"in the line {line!r}: no format {form!r}; use {', '.join(f for f in FORMATS if f)}")
    if "{" in re.sub(r"\{[^{}]*\}", "", line) or "}" in re.sub(r"\{[^{}]*\}", "", line):
        table.fail(f"in the line {line!r}: a brace that is not a day")


def _given(table: _Table) -> GivenAppointment:
    given = GivenAppointment(
        day=_day(table, "day"),
        time=_clock(table, "time", required=True),
        services=table.words("services", required=True),
        vehicle=table.take("vehicle", str, default="first"),
        status=table.take("status", str, default="booked"),
        customer=table.take("customer", str, default=""),
    )
    table.done()
    if given.status not in STATUSES:
        table.fail(f"status should be one of {', '.join(STATUSES)}")
    if given.customer:
        _phone(table, given.customer)
    return given


def _busy(table: _Table) -> Busy:
    busy = Busy(day=_day(table, "day"), time=_clock(table, "time", required=True),
                services=table.words("services", required=True))  # fmt: skip
    table.done()
    return busy


def _expect(table: _Table) -> Expect:
    booked = table.table("booked")
    moved = table.table("moved")
    message = table.take("message", (dict, bool))
    created = table.table("customer_created")
    expect = Expect(
        booked=_booked(booked) if booked else None,
        moved=_moved(moved) if moved else None,
        cancelled=table.take("cancelled", bool, default=False),
        confirmed=table.take("confirmed", bool, default=False),
        message=_message(message, table),
        customer_created=_new_customer(created) if created else None,
        identified=table.take("identified", str, default=""),
        nothing_changed=table.take("nothing_changed", bool, default=False),
        transferred=table.take("transferred", bool, default=False),
        ended=table.take("ended", bool, default=False),
        asks_first=table.take("asks_first", bool, default=False),
        says=table.words("says"),
        never_says=table.words("never_says"),
    )
    table.done()
    if expect.identified:
        _phone(table, expect.identified)
    changes = [expect.booked, expect.moved, expect.cancelled, expect.confirmed, expect.message,
               expect.customer_created]  # fmt: skip
    if expect.nothing_changed and any(changes):
        table.fail("nothing_changed cannot go with a change")
    checked = [*changes, expect.nothing_changed, expect.transferred, expect.ended, expect.says, expect.never_says]
    if not any(checked):
        table.fail("expects nothing: say what the end state is (nothing_changed = true, if that is it)")
    if sum(bool(x) for x in (expect.moved, expect.cancelled, expect.confirmed)) > 1:
        table.fail("moved, cancelled and confirmed all concern the first given appointment: expect one")
    return expect


def _booked(table: _Table) -> Booked:
    booked = Booked(
        services=table.words("services", required=True),
        vehicle=table.take("vehicle", str, default=""),
        day=_day(table, "day", required=False),
        time=_clock(table, "time"),
        after=_clock(table, "after"),
        before=_clock(table, "before"),
        when=table.take("when", str, default=""),
        transport=table.take("transport", str, default=""),
    )
    table.done()
    if booked.when and booked.when != FIRST_OPENING:
        table.fail(f"when can only be {FIRST_OPENING!r}")
    if booked.when and (booked.day or booked.time or booked.after or booked.before):
        table.fail("when = 'first opening' stands alone: no day or time with it")
    if not booked.when and not booked.day:
        table.fail("a booking needs a day (or when = 'first opening')")
    if booked.time and (booked.after or booked.before):
        table.fail("give time, or after / before, not both")
    if booked.transport and booked.transport not in TRANSPORTS:
        table.fail(f"transport should be one of {', '.join(TRANSPORTS)}")
    return booked


def _moved(table: _Table) -> Moved:
    moved = Moved(day=_day(table, "day"), time=_clock(table, "time"))
    table.done()
    return moved


def _message(value: dict | bool | None, parent: _Table) -> Message | None:
    if value is None or value is False:
        return None
    if value is True:
        return Message()
    table = _Table(value, f"{parent.where}, message")
    message = Message(contains=table.words("contains"), phone=table.take("phone", str, default=""))
    table.done()
    if message.phone:
        _phone(table, message.phone)
    return message


def _new_customer(table: _Table) -> NewCustomer:
    created = NewCustomer(name=table.take("name", str, required=True), vehicle=table.take("vehicle", str, default=""))
    table.done()
    if len(created.name.split()) < 2:
        table.fail("customer_created.name should be a first and a last name")
    return created


def _check_consistent(scenario: Scenario, table: _Table) -> None:
    expect, caller = scenario.expect, scenario.caller
    if expect.identified and caller.known:
        table.fail("identified is for a caller who is not on file (the caller here is known by caller ID)")
    if expect.customer_created and (caller.known or not caller.phone):
        table.fail("customer_created needs an unknown caller with a number (an account is opened on it)")
    if expect.changes_given:
        if not scenario.given:
            table.fail("moved, cancelled and confirmed concern the first given appointment: there is none")
        first = scenario.given[0]
        owner = first.customer or (caller.phone if caller.known else "")
        acting = caller.phone if caller.known else expect.identified
        if not owner or owner != acting:
            table.fail("the first given appointment must be the caller's own (or the customer they prove to be)")
        allowed = ("booked",) if expect.confirmed else ("booked", "confirmed")
        if first.status not in allowed:
            table.fail(f"the first given appointment must be {' or '.join(allowed)} for that expectation")
    for given in scenario.given:
        if not given.customer and not caller.known:
            table.fail("a given appointment of an unknown caller needs customer = <a demo customer's number>")

