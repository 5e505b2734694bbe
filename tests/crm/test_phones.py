import pytest

from crm import services
from crm.models import Customer, CustomerPhone
from crm.phones import InvalidPhoneNumber, format_phone, mask_phone, normalize_phone, try_normalize_phone
from crm.selectors import customer_find_by_phone

SPELLINGS_OF_MAIN = ["(602) 555-0100", "602.555.0100", "+16025550100", "602 555 0100", "1-602-555-0100"]
SPELLINGS_OF_OTHER = ["(480) 555-0177", "480.555.0177", "+14805550177", "480 555 0177", "1-480-555-0177"]


@pytest.mark.parametrize("raw", SPELLINGS_OF_MAIN)
def test_normalize_phone_gives_e164(raw):
    assert normalize_phone(raw) == "+16025550100"


def test_normalize_phone_keeps_distinct_numbers_distinct():
    assert normalize_phone("602-555-0101") == "+16025550101"
    assert normalize_phone("480 555 0177") == "+14805550177"


@pytest.mark.parametrize("raw", ["", "   ", "abc", "123", "555-0100", "+1 000 000 0000"])
def test_normalize_phone_rejects_invalid_input(raw):
    with pytest.raises(InvalidPhoneNumber) as excinfo:
        normalize_phone(raw)
    # The message is meant to be shown or spoken as it is.
    assert excinfo.value.messages and all(m.strip() for m in excinfo.value.messages)


def test_invalid_phone_number_is_a_validation_error():
    from django.core.exceptions import ValidationError

    assert issubclass(InvalidPhoneNumber, ValidationError)
    with pytest.raises(InvalidPhoneNumber) as excinfo:
        normalize_phone("")
    assert excinfo.value.code == "required"
    with pytest.raises(InvalidPhoneNumber) as excinfo:
        normalize_phone("abc")
    assert excinfo.value.code == "invalid_phone"


@pytest.mark.parametrize("name", ["John", "John Smith", "Nguyễn Văn An", "smith@example.com", "1HGCM82633A004352"])
def test_try_normalize_phone_returns_none_for_names(name):
    assert try_normalize_phone(name) is None


@pytest.mark.parametrize("raw", ["", "123", "555-0100", "+1 000 000 0000"])
def test_try_normalize_phone_returns_none_for_invalid_numbers(raw):
    assert try_normalize_phone(raw) is None


@pytest.mark.parametrize("raw", SPELLINGS_OF_MAIN)
def test_try_normalize_phone_normalizes_numbers(raw):
    assert try_normalize_phone(raw) == "+16025550100"


def test_mask_phone_hides_all_but_the_last_four_digits():
    assert mask_phone("+16025550100") == "***0100"
    assert mask_phone("+14805550177") == "***0177"
    assert mask_phone("") == ""


def test_format_phone_is_national_for_home_numbers():
    assert format_phone("+16025550100") == "(602) 555-0100"
    assert format_phone("") == ""


def test_format_phone_is_international_for_foreign_numbers():
    assert format_phone("+442079460958") == "+44 20 7946 0958"


# --------------------------------------------------------------------------- storage and lookup


@pytest.fixture
def customer(db):
    return services.customer_create(
        first_name="Maria", last_name="Lopez", phone="(602) 555-0100", other_phones=["480.555.0177"]
    )


@pytest.fixture
def other_customer(db):
    return services.customer_create(first_name="Tom", last_name="Baker", phone="602-555-0101")


@pytest.mark.django_db
@pytest.mark.parametrize("raw", SPELLINGS_OF_MAIN)
def test_phone_field_stores_e164_whatever_the_format(raw):
    customer = services.customer_create(first_name="Ana", phone=raw)
    assert customer.phone == "+16025550100"
    assert Customer.objects.get(pk=customer.pk).phone == "+16025550100"


@pytest.mark.django_db
def test_other_phone_is_stored_in_e164(customer):
    assert list(CustomerPhone.objects.filter(customer=customer).values_list("number", flat=True)) == ["+14805550177"]


@pytest.mark.django_db
def test_same_number_in_another_spelling_is_a_duplicate(customer):
    from crm.errors import CustomerError

    with pytest.raises(CustomerError):
        services.customer_create(first_name="Copy", phone="602.555.0100")
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_customer_create_rejects_an_invalid_phone():
    from crm.errors import CustomerError

    with pytest.raises(CustomerError):
        services.customer_create(first_name="Nobody", phone="555-0100")
    assert not Customer.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", SPELLINGS_OF_MAIN)
def test_find_by_any_spelling_of_the_main_phone(customer, other_customer, raw):
    assert customer_find_by_phone(raw) == customer


@pytest.mark.django_db
@pytest.mark.parametrize("raw", SPELLINGS_OF_OTHER)
def test_find_by_any_spelling_of_an_other_phone(customer, other_customer, raw):
    assert customer_find_by_phone(raw) == customer


@pytest.mark.django_db
def test_find_by_phone_tells_customers_apart(customer, other_customer):
    assert customer_find_by_phone("(602) 555-0101") == other_customer


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["(602) 555-0199", "+14805550178", "", "garbage", "123", "555-0100", "Maria Lopez"])
def test_find_by_phone_returns_none_for_unknown_or_garbage(customer, raw):
    assert customer_find_by_phone(raw) is None


@pytest.mark.django_db
def test_main_phone_cannot_also_be_an_other_phone(customer):
    from crm.errors import CustomerError

    # Customer.clean refuses a main phone that is among the customer's other phones; the reverse must hold too.
    with pytest.raises(CustomerError):
        services.customer_add_phone(customer=customer, number="602.555.0100")
    assert not CustomerPhone.objects.filter(number="+16025550100").exists()


@pytest.mark.django_db
def test_other_phone_cannot_be_another_customers_main_phone(customer, other_customer):
    from crm.errors import CustomerError

    with pytest.raises(CustomerError):
        services.customer_add_phone(customer=customer, number="(602) 555-0101")
    with pytest.raises(CustomerError):
        services.customer_create(first_name="Copy", phone="+14805550177")  # the customer's other phone
