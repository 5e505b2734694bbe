import pytest
from django.core.exceptions import ValidationError

from crm import services
from crm.errors import CustomerError
from crm.models import Vehicle
from crm.vin import normalize_vin, validate_vin, vin_check_digit

VALID_VINS = ["1HGCM82633A004352", "11111111111111111", "1M8GDM9AXKP042788"]


def _error_codes(error: ValidationError) -> set[str]:
    return {e.code for e in error.error_list}


@pytest.mark.parametrize("vin", VALID_VINS)
def test_examples_carry_their_check_digit(vin):
    # The examples below rely on these being valid: check them independently of validate_vin.
    assert vin[8] == vin_check_digit(vin)


def test_check_digit_can_be_x():
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"


@pytest.mark.parametrize("vin", VALID_VINS)
def test_valid_vins_pass(vin):
    validate_vin(vin)


@pytest.mark.parametrize("vin", ["1hgcm82633a004352", "1HG CM826 33A 004352", "1HG-CM826-33A-004352"])
def test_valid_vin_as_typed_passes(vin):
    validate_vin(vin)


@pytest.mark.parametrize(
    "vin, length",
    [("", 0), ("1HGCM82633A00435", 16), ("1HGCM82633A0043521", 18), ("JH4KA7561", 9)],
)
def test_wrong_length(vin, length):
    with pytest.raises(ValidationError) as excinfo:
        validate_vin(vin)
    assert _error_codes(excinfo.value) == {"vin_length"}
    assert f"has {length}" in excinfo.value.messages[0]
    assert "17 characters" in excinfo.value.messages[0]


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_letters_i_o_q_are_refused(letter):
    vin = "1HGCM82633A00435" + letter
    with pytest.raises(ValidationError) as excinfo:
        validate_vin(vin)
    assert _error_codes(excinfo.value) == {"vin_characters"}
    assert f"found {letter}" in excinfo.value.messages[0]


def test_other_characters_are_refused():
    with pytest.raises(ValidationError) as excinfo:
        validate_vin("1HGCM82633A00435*")
    assert _error_codes(excinfo.value) == {"vin_characters"}


def test_wrong_check_digit():
    vin = "1HGCM82643A004352"  # the real 9th character is 3
    with pytest.raises(ValidationError) as excinfo:
        validate_vin(vin)
    assert _error_codes(excinfo.value) == {"vin_check_digit"}
    assert "is 4 but should be 3" in excinfo.value.messages[0]


def test_one_mistyped_character_is_caught():
    with pytest.raises(ValidationError) as excinfo:
        validate_vin("1HGCM82633A004353")  # last digit typed wrong
    assert _error_codes(excinfo.value) == {"vin_check_digit"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1hgcm82633a004352", "1HGCM82633A004352"),
        (" 1HG CM826 33A 004352 ", "1HGCM82633A004352"),
        ("1HG-CM826-33A-004352", "1HGCM82633A004352"),
        ("1hg\tcm826\n33a004352", "1HGCM82633A004352"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_vin(raw, expected):
    assert normalize_vin(raw) == expected


# --------------------------------------------------------------------------- vehicle_create


@pytest.fixture
def customer(db):
    return services.customer_create(first_name="Maria", last_name="Lopez", phone="(602) 555-0100")


@pytest.mark.django_db
def test_vehicle_create_stores_the_vin_normalized(customer):
    vehicle = services.vehicle_create(customer=customer, vin="1hg cm826-33a 004352", year=2003, make="Honda")
    assert vehicle.vin == "1HGCM82633A004352"
    assert Vehicle.objects.get(pk=vehicle.pk).vin == "1HGCM82633A004352"


@pytest.mark.django_db
@pytest.mark.parametrize("vin", ["1HGCM82633A00435", "1HGCM82633A00435I", "1HGCM82643A004352"])
def test_vehicle_create_refuses_a_bad_vin(customer, vin):
    with pytest.raises(CustomerError) as excinfo:
        services.vehicle_create(customer=customer, vin=vin)
    assert excinfo.value.message
    assert not Vehicle.objects.exists()


@pytest.mark.django_db
def test_vehicle_create_refuses_a_duplicate_vin(customer):
    services.vehicle_create(customer=customer, vin="1HGCM82633A004352")
    other = services.customer_create(first_name="Tom", phone="602-555-0101")
    with pytest.raises(CustomerError):
        services.vehicle_create(customer=other, vin="1hgcm82633a004352")
    assert Vehicle.objects.count() == 1


@pytest.mark.django_db
def test_vehicles_without_vin_are_not_duplicates(customer):
    services.vehicle_create(customer=customer, make="Honda")
    services.vehicle_create(customer=customer, make="Ford")
    assert list(Vehicle.objects.filter(customer=customer).values_list("vin", flat=True)) == ["", ""]


@pytest.mark.django_db
def test_plate_is_stored_without_separators_in_upper_case(customer):
    vehicle = services.vehicle_create(customer=customer, plate="abc-1234", plate_state="AZ")
    assert Vehicle.objects.get(pk=vehicle.pk).plate == "ABC1234"


@pytest.mark.django_db
def test_vehicle_update_normalizes_and_validates(customer):
    vehicle = services.vehicle_create(customer=customer, vin="11111111111111111")
    services.vehicle_update(vehicle=vehicle, vin="1m8gdm9axkp042788", plate="xyz 987")
    vehicle.refresh_from_db()
    assert (vehicle.vin, vehicle.plate) == ("1M8GDM9AXKP042788", "XYZ987")
    with pytest.raises(CustomerError):
        services.vehicle_update(vehicle=vehicle, vin="1M8GDM9A1KP042788")
    vehicle.refresh_from_db()
    assert vehicle.vin == "1M8GDM9AXKP042788"
