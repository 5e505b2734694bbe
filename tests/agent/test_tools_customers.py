"""lookup_customer, create_customer and add_vehicle, called as the agent calls them."""

import pytest

from agent.tools.base import ChangeKind
from agent.tools.customers import NEED_IDENTITY, NO_MATCH_PLATE, NO_MATCH_VIN, NOT_ON_FILE, TOO_MANY_TRIES
from crm import services as crm_services
from crm.models import ConsentChange, Customer, Vehicle
from tests.agent.conftest import STRANGER_PHONE, assert_invalid, call_tool, make_vin

# --------------------------------------------------------------------------- lookup_customer by caller ID


def test_lookup_without_arguments_returns_the_caller_matched_by_number(context_for, customer, vehicle):
    result = call_tool(context_for(customer), "lookup_customer")

    assert result.ok
    assert result.data["found"] is True
    assert result.data["customer_id"] == customer.pk
    assert result.data["identified_by"] == "caller_id"
    assert result.data["vehicles"] == [
        {"vehicle_id": vehicle.pk, "name": "2019 Honda Civic", "plate": "ABC1234", "vin_end": vehicle.vin[-6:]}
    ]
    assert "null" not in result.for_model()


def test_lookup_without_arguments_for_an_unknown_number_says_so(context_for, customer):
    context = context_for(None)
    result = call_tool(context, "lookup_customer")

    assert result.ok
    assert result.data["found"] is False
    assert result.say == NOT_ON_FILE
    assert "lookup_customer" in result.data["hint"]
    assert context.customer_id is None


# --------------------------------------------------------------------------- verification from another number


@pytest.mark.parametrize(
    "name, plate",
    [
        ("María López", "ABC-1234"),
        ("maria lopez", "abc 1234"),  # accents and case aside, plate spacing aside
        ("Lopez Maria", "abc1234"),  # either order
        ("LÓPEZ, MARÍA", " A B C - 1 2 3 4 "),
    ],
)
def test_name_and_plate_verify_the_caller(context_for, customer, vehicle, other_vehicle, name, plate):
    context = context_for(None)
    result = call_tool(context, "lookup_customer", {"name": name, "plate": plate})

    assert result.ok, result
    assert result.data["customer_id"] == customer.pk
    assert result.data["identified_by"] == "name_and_plate"
    assert context.customer_id == customer.pk
    assert context.identified_by == "name_and_plate"


def test_name_and_vin_ending_verify_the_caller(context_for, customer, vehicle, other_vehicle):
    context = context_for(None)
    result = call_tool(context, "lookup_customer", {"name": "Maria Lopez", "vin_last_digits": vehicle.vin[-6:].lower()})

    assert result.ok
    assert context.customer_id == customer.pk
    assert context.identified_by == "name_and_vin"


def test_verification_also_works_for_a_name_stored_without_accents(context_for, other_customer, other_vehicle):
    context = context_for(None)
    result = call_tool(context, "lookup_customer", {"name": "Dév Pátel", "plate": "XYZ9876"})

    assert result.ok
    assert context.customer_id == other_customer.pk


@pytest.mark.parametrize(
    "arguments, sentence",
    [
        ({"name": "Maria Lopez", "plate": "XYZ9876"}, NO_MATCH_PLATE),  # someone else's plate
        ({"name": "Dev Patel", "plate": "ABC1234"}, NO_MATCH_PLATE),  # someone else's name
        ({"name": "Nobody Atall", "plate": "ABC1234"}, NO_MATCH_PLATE),  # a name not on file: said the same way
        ({"name": "Maria Lopez", "plate": "ABC1235"}, NO_MATCH_PLATE),  # a plate not on file
        ({"name": "Maria Lopez", "vin_last_digits": "999999"}, NO_MATCH_VIN),
        ({"name": "Maria Perez", "plate": "ABC1234"}, NO_MATCH_PLATE),  # first name right, last name wrong
    ],
)
def test_wrong_pairs_do_not_verify_and_reveal_nothing(
    context_for, customer, vehicle, other_vehicle, arguments, sentence
):
    context = context_for(None)
    result = call_tool(context, "lookup_customer", arguments)

    assert result.ok is False
    assert result.say == sentence
    assert result.data == {"found": False}
    assert context.customer_id is None
    assert context.identified_by == ""


def test_a_first_name_alone_is_not_enough(context_for, customer, vehicle):
    context = context_for(None)
    result = call_tool(context, "lookup_customer", {"name": "Maria", "plate": "ABC1234"})

    assert result.ok is False
    assert context.customer_id is None


def test_a_customer_without_a_last_name_cannot_be_verified_by_first_name(context_for, db):
    cher = crm_services.customer_create(first_name="Cher", phone="(602) 555-0150")
    crm_services.vehicle_create(customer=cher, year=2020, make="Ford", model="Bronco", plate="CHER1")
    context = context_for(None)

    result = call_tool(context, "lookup_customer", {"name": "Cher Cher", "plate": "CHER1"})

    assert result.ok is False
    assert context.customer_id is None


def test_a_failed_verification_keeps_the_caller_id_match(context_for, customer, vehicle, other_vehicle):
    context = context_for(customer)
    result = call_tool(context, "lookup_customer", {"name": "Dev Patel", "plate": "ABC1234"})

    assert result.ok is False
    assert context.customer_id == customer.pk


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({"name": "Maria Lopez"}, "plate or vin_last_digits"),  # a name alone proves nothing
        ({"plate": "ABC1234"}, "name"),
        ({"name": "Maria Lopez", "vin_last_digits": "123"}, "vin_last_digits"),  # too short
        ({"name": "Maria Lopez", "vin_last_digits": "12345678901"}, "vin_last_digits"),  # too long
        ({"name": "Maria Lopez", "plate": "AB#12"}, "plate"),
        ({"name": "Maria Lopez", "plate": "ABC1234", "phone": "6025550100"}, "phone"),  # unknown field
        ({"name": 42, "plate": "ABC1234"}, "name"),
    ],
)
def test_lookup_validation(context_for, customer, vehicle, arguments, problem):
    context = context_for(None)
    result = call_tool(context, "lookup_customer", arguments)

    assert_invalid(result, problem)
    assert context.customer_id is None


# --------------------------------------------------------------------------- create_customer and add_vehicle


def test_an_unknown_caller_is_created_then_gets_a_vehicle(context_for, customer):
    context = context_for(None)

    created = call_tool(
        context,
        "create_customer",
        {"first_name": "Ana", "last_name": "Silva", "confirm_phone_is_callers_number": True},
    )

    assert created.ok, created
    new = Customer.objects.get(phone=STRANGER_PHONE)
    assert (new.first_name, new.last_name) == ("Ana", "Silva")
    assert created.data == {"created": True, "customer_id": new.pk, "name": "Ana Silva"}
    assert context.customer_id == new.pk
    assert context.identified_by == "new_customer"
    assert [(c.kind, c.customer_id) for c in created.changes] == [(ChangeKind.CUSTOMER_CREATED, new.pk)]
    assert not ConsentChange.objects.filter(customer=new).exists()  # no consent was asked for

    added = call_tool(
        context,
        "add_vehicle",
        {"year": 2018, "make": "Mazda", "model": "CX-5", "plate": "new-111", "color": "red"},
    )

    assert added.ok, added
    car = Vehicle.objects.get(customer=new)
    assert (car.year, car.make, car.model, car.plate, car.color) == (2018, "Mazda", "CX-5", "NEW111", "red")
    assert added.data["vehicle_id"] == car.pk
    assert added.data["name"] == "2018 Mazda CX-5"
    assert [(c.kind, c.vehicle_id, c.customer_id) for c in added.changes] == [
        (ChangeKind.VEHICLE_ADDED, car.pk, new.pk)
    ]

    # The model repeats itself: the same car is not added twice.
    again = call_tool(context, "add_vehicle", {"year": 2018, "make": "mazda", "model": "cx-5"})
    assert again.ok
    assert again.data["already_on_file"] is True
    assert again.data["vehicle_id"] == car.pk
    assert not again.changes
    assert Vehicle.objects.filter(customer=new).count() == 1


def test_create_customer_needs_the_number_confirmed(context_for, db):
    context = context_for(None)
    result = call_tool(
        context,
        "create_customer",
        {"first_name": "Ana", "last_name": "Silva", "confirm_phone_is_callers_number": False},
    )

    assert result.ok is False
    assert "confirm" in result.say
    assert not Customer.objects.exists()
    assert context.customer_id is None


def test_create_customer_refuses_a_caller_already_on_file(context_for, customer):
    result = call_tool(
        context_for(customer),
        "create_customer",
        {"first_name": "María", "last_name": "López", "confirm_phone_is_callers_number": True},
    )

    assert result.ok is False
    assert result.say == "You're already on file with us."
    assert Customer.objects.count() == 1


def test_create_customer_refuses_a_number_that_is_a_customers(context_for, customer):
    context = context_for(None, phone=customer.phone)  # the driver did not match it, the tool still checks
    result = call_tool(
        context,
        "create_customer",
        {"first_name": "Someone", "last_name": "Else", "confirm_phone_is_callers_number": True},
    )

    assert result.ok is False
    assert "already on file" in result.say
    assert Customer.objects.count() == 1
    assert context.customer_id is None


def test_create_customer_refuses_a_withheld_number(context_for, db):
    context = context_for(None, phone="")
    result = call_tool(
        context, "create_customer", {"first_name": "Ana", "last_name": "Silva", "confirm_phone_is_callers_number": True}
    )

    assert result.ok is False
    assert "withheld" in result.say
    assert "message" in result.say
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({"first_name": "Ana", "last_name": "Silva"}, "confirm_phone_is_callers_number"),
        ({"first_name": "Ana", "confirm_phone_is_callers_number": True}, "last_name"),
        ({"first_name": "", "last_name": "Silva", "confirm_phone_is_callers_number": True}, "first_name"),
        ({"first_name": "123", "last_name": "Silva", "confirm_phone_is_callers_number": True}, "first_name"),
        ({"first_name": "A" * 81, "last_name": "Silva", "confirm_phone_is_callers_number": True}, "first_name"),
        ({"first_name": "Ana", "last_name": "Silva", "confirm_phone_is_callers_number": True, "email": "a@b.c"},
         "email"),  # fmt: skip
    ],
)
def test_create_customer_validation(context_for, db, arguments, problem):
    context = context_for(None)
    assert_invalid(call_tool(context, "create_customer", arguments), problem)
    assert not Customer.objects.exists()
    assert context.customer_id is None


def test_add_vehicle_needs_an_identified_caller(context_for, customer):
    result = call_tool(context_for(None), "add_vehicle", {"year": 2018, "make": "Mazda", "model": "CX-5"})

    assert result.ok is False
    assert result.say == NEED_IDENTITY
    assert "lookup_customer" in result.data["hint"]
    assert not Vehicle.objects.exists()


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({"make": "Mazda", "model": "CX-5"}, "year"),
        ({"year": 1850, "make": "Mazda", "model": "CX-5"}, "year"),
        ({"year": 3000, "make": "Mazda", "model": "CX-5"}, "year"),
        ({"year": "twenty", "make": "Mazda", "model": "CX-5"}, "year"),
        ({"year": 2018, "make": "", "model": "CX-5"}, "make"),
        ({"year": 2018, "make": "Mazda", "model": "CX-5", "plate": "TOO-LONG-PLATE"}, "plate"),
        ({"year": 2018, "make": "Mazda", "model": "CX-5", "owner_id": 1}, "owner_id"),
    ],
)
def test_add_vehicle_validation(context_for, customer, arguments, problem):
    assert_invalid(call_tool(context_for(customer), "add_vehicle", arguments), problem)
    assert not Vehicle.objects.exists()


def test_add_vehicle_speaks_the_services_sentence_for_a_bad_vin(context_for, customer):
    arguments = {"year": 2018, "make": "Mazda", "model": "3", "vin": "JM1BL1"}
    result = call_tool(context_for(customer), "add_vehicle", arguments)

    assert result.ok is False
    assert result.say == "A VIN has 17 characters; this one has 6."
    assert not Vehicle.objects.exists()


def test_add_vehicle_refuses_a_vin_on_file(context_for, customer, other_vehicle):
    result = call_tool(
        context_for(customer),
        "add_vehicle",
        {"year": 2021, "make": "Toyota", "model": "RAV4", "vin": other_vehicle.vin},
    )

    assert result.ok is False
    assert "already registered" in result.say
    assert not Vehicle.objects.filter(customer=customer).exists()


def test_add_vehicle_with_a_valid_vin(context_for, customer):
    vin = make_vin("JM1BL1SF7A1234567")
    result = call_tool(
        context_for(customer), "add_vehicle", {"year": 2010, "make": "Mazda", "model": "3", "vin": vin.lower()}
    )

    assert result.ok, result
    assert Vehicle.objects.get(customer=customer).vin == vin
    assert result.data["vin_end"] == vin[-6:]


def test_after_three_wrong_guesses_in_one_call_even_the_right_details_are_refused(context_for, customer, vehicle):
    context = context_for(None)
    for plate in ("AAA1111", "BBB2222", "CCC3333"):
        assert not call_tool(context, "lookup_customer", {"name": "Maria Lopez", "plate": plate}).ok
    result = call_tool(context, "lookup_customer", {"name": "Maria Lopez", "plate": vehicle.plate})
    assert not result.ok and result.say == TOO_MANY_TRIES
    assert context.customer_id is None
