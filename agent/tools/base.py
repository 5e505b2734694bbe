"""What a tool is: a name, a JSON schema of its arguments, a kind, and a function over our services.

Arguments are pydantic models: the schema the model sees is generated from the same class that validates
what the model sent, so the two cannot drift apart. A tool's function runs in the database thread, gets a
``ToolContext`` (who the caller may act as, the call, what this conversation already did) and validated
arguments, calls services and selectors of crm, scheduling and knowledge (never the ORM directly), and
returns a ``ToolResult``. Refusals raise ``ToolRefused`` with one sentence the agent can say as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from scheduling.actors import Actor


class ToolKind(StrEnum):
    READ = "read"  # looks things up; cancelled freely when the caller interrupts
    WRITE = "write"  # changes the CRM; once started it always finishes and its result is kept
    CONTROL = "control"  # asks the driver to end or hand over the call


class ChangeKind(StrEnum):
    """What a tool changed in the CRM, linked to the call that changed it."""

    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    CONFIRMED = "confirmed"
    CUSTOMER_CREATED = "customer_created"
    VEHICLE_ADDED = "vehicle_added"
    MESSAGE_TAKEN = "message_taken"
    OPTED_OUT = "opted_out"  # the customer asked not to be called again (do-not-call set)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    appointment_id: int | None = None
    customer_id: int | None = None
    vehicle_id: int | None = None
    callback_id: int | None = None


@dataclass(frozen=True)
class ToolResult:
    """What the model reads back (``data``, compact), and a sentence fit to say as it is (``say``): for a refusal
    or a failure always, and for answers best given in words ("Your 2019 Honda Civic is ready for pickup.")."""

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    say: str = ""
    changes: tuple[Change, ...] = ()

    def for_model(self) -> str:
        body = {"ok": self.ok, **self.data}
        if self.say:
            body["say"] = self.say
        return json.dumps(body, separators=(",", ":"), default=str)

    @classmethod
    def refused(cls, say: str, **data: Any) -> ToolResult:
        return cls(ok=False, data=data, say=say)


class ToolRefused(Exception):
    """The tool will not do it: ``say`` is one short sentence for the caller, ``data`` real alternatives."""

    def __init__(self, say: str, **data: Any):
        super().__init__(say)
        self.say = say
        self.data = data


class Records(Protocol):
    """What the driver of the agent keeps for it (the call session writes these with the call)."""

    def take_message(self, *, customer_id: int | None, phone: str, message: str) -> int:
        """Create a callback request for the advisors (in the database thread); returns its id."""
        ...

    def caller_identified(self, *, customer_id: int) -> None:
        """The caller proved who they are, or became a customer, during the conversation (database thread)."""
        ...


@dataclass
class ToolContext:
    """One conversation's state as the tools see it. Tools may change ``customer_id`` (identified or created)."""

    call_sid: str = ""
    caller_phone: str = ""  # the number calling, E.164, "" when withheld
    customer_id: int | None = None  # the only customer whose records this caller may see or change
    identified_by: str = ""  # "caller_id", "name_and_plate", "name_and_vin", "new_customer"
    reminder: bool = False  # an outbound reminder call
    records: Records | None = None
    # Bookings made in this conversation, by (customer, vehicle, services, start): asked twice, booked once.
    booked: dict[tuple, int] = field(default_factory=dict)
    failed_identifications: int = 0  # name-and-plate guesses that did not match, in this conversation

    @property
    def actor(self) -> Actor:
        return Actor.phone_agent(self.call_sid, reminder=self.reminder)


class Arguments(BaseModel):
    """Base of every tool's arguments: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[Arguments]
    kind: ToolKind
    run: Callable[[ToolContext, Any], ToolResult]

    def schema(self) -> dict:
        parameters = self.arguments.model_json_schema()
        parameters.pop("title", None)
        for prop in parameters.get("properties", {}).values():
            prop.pop("title", None)
        parameters.setdefault("properties", {})
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": parameters}}  # fmt: skip

    def validate(self, arguments: dict | None) -> Any:
        """The arguments as the tool's model, or ToolRefused naming what is wrong (said to the model)."""
        if arguments is None:
            raise ToolRefused("Sorry, I didn't catch that properly.", error="arguments were not valid JSON")
        try:
            return self.arguments.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            raise ToolRefused("Sorry, I didn't catch that properly.", error=f"invalid arguments: {problems}") from exc
