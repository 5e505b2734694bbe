"""Who is calling: find the caller's account, prove it from another number, or open one for a new caller.

Whatever a tool shows or changes belongs to ``context.customer_id`` only. It is set by the driver when the
caller ID matches a customer, by ``lookup_customer`` when the caller proves who they are (name plus plate or
VIN ending), or by ``create_customer``; every other tool refuses without it.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import Field, field_validator, model_validator

from agent.tools.base import Arguments, Change, ChangeKind, Tool, ToolContext, ToolKind, ToolRefused, ToolResult
from crm import services as crm_services
from crm.models import ConsentSource, Customer, Vehicle
from crm.phones import try_normalize_phone
from crm.selectors import (
    customer_find_by_phone,
    customer_get,
    customer_verify_identity,
    name_words,
    normalize_plate,
    vehicle_vin_registered,
)
from crm.vin import normalize_vin

NEED_IDENTITY = "First I need to find your account: your name and your plate, or the last six of your VIN."
IDENTITY_HINT = (
    "ask for their first and last name and their license plate or the last six characters of their VIN, then "
    "call lookup_customer; a caller who has never been here can be added with create_customer"
)
NOT_YOURS = "I can only help with appointments on your own account."
NOT_ON_FILE = "I don't see this number on file with us."
NO_MATCH_PLATE = "I couldn't match that name with that plate."
NO_MATCH_VIN = "I couldn't match that name with that VIN."


# --------------------------------------------------------------------------- shared with the other tools


def require_customer(context: ToolContext) -> Customer:
    """The caller's own account, or a refusal asking them to identify themselves."""
    customer = customer_get(context.customer_id) if context.customer_id is not None else None
    if customer is None:
        raise ToolRefused(NEED_IDENTITY, hint=IDENTITY_HINT)
    return customer


def vehicle_name(vehicle: Vehicle) -> str:
    """ "2019 Honda Accord", or "vehicle" when nothing is known about it."""
    name = vehicle.spoken_name
    return "vehicle" if name == "your vehicle" else name


def vehicle_brief(vehicle: Vehicle) -> dict:
    brief = {"vehicle_id": vehicle.pk, "name": vehicle_name(vehicle)}
    if vehicle.plate:
        brief["plate"] = vehicle.plate
    if vehicle.vin:
        brief["vin_end"] = vehicle.vin[-6:]
    if vehicle.color:
        brief["color"] = vehicle.color
    return brief


def customer_summary(customer: Customer) -> dict:
    return {
        "customer_id": customer.pk,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "vehicles": [vehicle_brief(v) for v in customer.vehicles.all()],
    }


def checked_plate(value: str) -> str:
    """A plate as stored ("abc-1234" -> "ABC1234"), or ValueError for what cannot be one."""
    plate = normalize_plate(value)
    if value and not re.fullmatch(r"[A-Z0-9]{1,10}", plate):
        raise ValueError("a plate has 1 to 10 letters and digits")
    return plate


# --------------------------------------------------------------------------- lookup_customer


class LookupCustomerArguments(Arguments):
    name: str = Field(
        "", max_length=120,
        description="The caller's first and last name as they said it. Leave out to look up the calling number.",
    )  # fmt: skip
    plate: str = Field(
        "", max_length=16, description="The license plate of one of their vehicles, as they said it (with name)."
    )
    vin_last_digits: str = Field(
        "", max_length=12,
        description="The last six characters of one of their vehicles' VIN (4 to 8 accepted), with name.",
    )  # fmt: skip

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return checked_plate(value)

    @field_validator("vin_last_digits")
    @classmethod
    def _vin(cls, value: str) -> str:
        ending = normalize_vin(value)
        if value and not re.fullmatch(r"[A-Z0-9]{4,8}", ending):
            raise ValueError("give the last 4 to 8 letters and digits of the VIN")
        return ending

    @model_validator(mode="after")
    def _complete(self) -> LookupCustomerArguments:
        has_vehicle = bool(self.plate or self.vin_last_digits)
        if self.name and not has_vehicle:
            raise ValueError("a name needs a plate or vin_last_digits with it")
        if has_vehicle and not self.name:
            raise ValueError("plate or vin_last_digits needs the caller's name with it")
        return self


MAX_FAILED_IDENTIFICATIONS = 3
TOO_MANY_TRIES = "I'm not able to match those details, so I can't open the account on this call."


def _lookup_customer(context: ToolContext, arguments: LookupCustomerArguments) -> ToolResult:
    if not arguments.name:
        customer = customer_get(context.customer_id) if context.customer_id is not None else None
        if customer is None:
            return ToolResult(ok=True, data={"found": False, "hint": IDENTITY_HINT}, say=NOT_ON_FILE)
        return ToolResult(
            ok=True,
            data={"found": True, "identified_by": context.identified_by or "caller_id", **customer_summary(customer)},
        )
    if len(name_words(arguments.name)) < 2:
        raise ToolRefused("I'll need your first and last name, please.", found=False)
    if context.failed_identifications >= MAX_FAILED_IDENTIFICATIONS:
        # Guessing names and plates one after another is not how a customer proves who they are.
        raise ToolRefused(TOO_MANY_TRIES, found=False, hint="offer take_message or transfer_to_person")
    verified = customer_verify_identity(
        name=arguments.name, plate=arguments.plate, vin_ending=arguments.vin_last_digits
    )
    if verified is None:
        context.failed_identifications += 1
        # Never say which part did not match: the name alone must reveal nothing.
        raise ToolRefused(NO_MATCH_PLATE if arguments.plate else NO_MATCH_VIN, found=False)
    context.customer_id = verified.pk
    if context.records is not None:
        context.records.caller_identified(customer_id=verified.pk)
    context.identified_by = "name_and_plate" if arguments.plate else "name_and_vin"
    customer = customer_get(verified.pk)
    return ToolResult(
        ok=True, data={"found": True, "identified_by": context.identified_by, **customer_summary(customer)}
    )


lookup_customer = Tool(
    name="lookup_customer",
    description=(
        "Find the caller's account. Without arguments: the customer whose number is calling, if any. "
        "With name and plate (or name and the last six of the VIN): verify a caller on another number; on "
        "success their account is open for the rest of the call. Needed before anything about their "
        "appointments or vehicles."
    ),
    arguments=LookupCustomerArguments,
    kind=ToolKind.READ,
    run=_lookup_customer,
)


# --------------------------------------------------------------------------- create_customer


class CreateCustomerArguments(Arguments):
    first_name: str = Field(min_length=1, max_length=80, description="The new customer's first name.")
    last_name: str = Field(min_length=1, max_length=80, description="The new customer's last name.")
    confirm_phone_is_callers_number: bool = Field(
        description="True only once the caller has said the number they are calling from is their own and the "
        "one to reach them on."
    )

    @field_validator("first_name", "last_name")
    @classmethod
    def _has_letters(cls, value: str) -> str:
        if not name_words(value):
            raise ValueError("a name needs letters")
        return value


def _create_customer(context: ToolContext, arguments: CreateCustomerArguments) -> ToolResult:
    if context.customer_id is not None:
        raise ToolRefused("You're already on file with us.", customer_id=context.customer_id)
    phone = try_normalize_phone(context.caller_phone)
    if phone is None:
        raise ToolRefused(
            "Your number is withheld, so I can't set up an account on this call; please call back from your own "
            "phone, or I can take a message for an advisor.",
            hint="offer take_message with a callback number",
        )
    if not arguments.confirm_phone_is_callers_number:
        raise ToolRefused(
            "Before I set up your account, can you confirm the number you're calling from is your own?",
            hint="ask, then call again with confirm_phone_is_callers_number true",
        )
    if customer_find_by_phone(phone) is not None:
        raise ToolRefused(
            "This number is already on file with us; let me find your account with your name and plate instead.",
            hint=IDENTITY_HINT,
        )
    customer = crm_services.customer_create(
        first_name=arguments.first_name,
        last_name=arguments.last_name,
        phone=phone,
        notes=f"Added by the phone agent on call {context.call_sid}." if context.call_sid else "",
        consent_source=ConsentSource.INBOUND_CALL,
    )
    context.customer_id = customer.pk
    if context.records is not None:
        context.records.caller_identified(customer_id=customer.pk)
    context.identified_by = "new_customer"
    return ToolResult(
        ok=True,
        data={"created": True, "customer_id": customer.pk, "name": customer.full_name},
        changes=(Change(ChangeKind.CUSTOMER_CREATED, customer_id=customer.pk),),
    )


create_customer = Tool(
    name="create_customer",
    description=(
        "Open an account for a caller who is not on file, on the number they are calling from. Ask their "
        "first and last name and confirm that number is theirs first. Then add their car with add_vehicle."
    ),
    arguments=CreateCustomerArguments,
    kind=ToolKind.WRITE,
    run=_create_customer,
)


# --------------------------------------------------------------------------- add_vehicle


class AddVehicleArguments(Arguments):
    year: int = Field(ge=1900, description="Model year, e.g. 2019.")
    make: str = Field(min_length=1, max_length=40, description="Maker, e.g. Honda.")
    model: str = Field(min_length=1, max_length=60, description="Model, e.g. Civic.")
    plate: str = Field("", max_length=16, description="License plate, if the caller gives it.")
    vin: str = Field("", max_length=24, description="The full 17-character VIN, if the caller gives it.")
    color: str = Field("", max_length=30, description="Color, if the caller gives it.")

    @field_validator("year")
    @classmethod
    def _not_future(cls, value: int) -> int:
        if value > date.today().year + 2:
            raise ValueError("that model year is in the future")
        return value

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return checked_plate(value)

    @field_validator("vin")
    @classmethod
    def _vin(cls, value: str) -> str:
        return normalize_vin(value)


def _same_vehicle(vehicle: Vehicle, arguments: AddVehicleArguments) -> bool:
    def same(a: str, b: str) -> bool:
        return a.casefold() == b.casefold()

    return (
        vehicle.year == arguments.year
        and same(vehicle.make, arguments.make)
        and same(vehicle.model, arguments.model)
        and (not arguments.plate or vehicle.plate == arguments.plate)
        and (not arguments.vin or vehicle.vin == arguments.vin)
    )


def _add_vehicle(context: ToolContext, arguments: AddVehicleArguments) -> ToolResult:
    customer = require_customer(context)
    existing = next((v for v in customer.vehicles.all() if _same_vehicle(v, arguments)), None)
    if existing is not None:  # asked twice: added once
        return ToolResult(ok=True, data={"already_on_file": True, **vehicle_brief(existing)})
    if arguments.vin and vehicle_vin_registered(arguments.vin):
        raise ToolRefused(
            "That VIN is already registered with us; an advisor will need to sort that out.",
            hint="offer take_message or transfer_to_person",
        )
    vehicle = crm_services.vehicle_create(
        customer=customer,
        year=arguments.year,
        make=arguments.make,
        model=arguments.model,
        plate=arguments.plate,
        vin=arguments.vin,
        color=arguments.color,
    )
    return ToolResult(
        ok=True,
        data={"added": True, **vehicle_brief(vehicle)},
        changes=(Change(ChangeKind.VEHICLE_ADDED, customer_id=customer.pk, vehicle_id=vehicle.pk),),
    )


add_vehicle = Tool(
    name="add_vehicle",
    description="Add a vehicle to the caller's own account (year, make and model; plate, VIN and color if given). "
    "Returns its vehicle_id for booking.",
    arguments=AddVehicleArguments,
    kind=ToolKind.WRITE,
    run=_add_vehicle,
)

TOOLS = [lookup_customer, create_customer, add_vehicle]
