import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from crm import services
from crm.models import ConsentChange, Customer, CustomerPhone, DealershipProfile, Vehicle

# Every registered model, whichever app registered it: models added later are covered without editing this file.
REGISTERED_MODELS = [
    pytest.param(model, id=model._meta.label)
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label)
]

VIN_A = "1HGCM82633A004352"
VIN_B = "1M8GDM9AXKP042788"


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def maria(db):
    customer = services.customer_create(
        first_name="Maria",
        last_name="Lopez",
        phone="(602) 555-0100",
        email="maria@example.com",
        other_phones=["480.555.0177"],
        consents={"reminder_calls": True},
        consent_source="written",
    )
    services.vehicle_create(customer=customer, vin=VIN_A, year=2003, make="Honda", model="Accord", plate="abc-1234")
    services.vehicle_create(customer=customer, year=2019, make="Ford", model="F-150", plate="JKL 555")
    return customer


@pytest.fixture
def tom(db):
    customer = services.customer_create(first_name="Tom", last_name="Baker", phone="602-555-0101")
    services.vehicle_create(customer=customer, vin=VIN_B, year=2019, make="Toyota", model="Camry", plate="XYZ987")
    return customer


@pytest.fixture
def crm_data(maria, tom):
    services.dealership_profile_update(name="Saguaro Motors Service", main_phone="602-555-0199")
    return maria, tom


# --------------------------------------------------------------------------- every registered model


def test_the_parametrized_models_are_the_whole_registry():
    # The list above is built at collection time; it must not miss models registered later on.
    assert {p.values[0] for p in REGISTERED_MODELS} == set(admin.site._registry)


def test_the_crm_models_are_registered():
    labels = {model._meta.label for model in admin.site._registry}
    assert {"crm.Customer", "crm.Vehicle", "crm.ConsentChange", "crm.DealershipProfile"} <= labels


def _assert_changelist(admin_client, model, query: str = ""):
    url = _url(model, "changelist") + query
    response = admin_client.get(url)
    if model is DealershipProfile:
        # One row only: the list goes straight to it.
        assert response.status_code == 302
        change_url = _url(DealershipProfile, "change", DealershipProfile.SINGLETON_ID)
        assert response["Location"] == change_url
        response = admin_client.get(change_url)
    assert response.status_code == 200, url


@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED_MODELS)
def test_changelist_renders(admin_client, crm_data, model):
    _assert_changelist(admin_client, model)


@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED_MODELS)
def test_changelist_search_renders(admin_client, crm_data, model):
    _assert_changelist(admin_client, model, "?q=test")


@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED_MODELS)
def test_add_form_renders(admin_client, staff_user, crm_data, model):
    model_admin = admin.site._registry[model]
    response = admin_client.get(_url(model, "add"))
    if model_admin.has_add_permission(_request_as(staff_user)):
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED_MODELS)
def test_change_form_renders(admin_client, crm_data, model):
    instance = model._default_manager.order_by("pk").first()
    if instance is None:
        assert model._meta.app_label != "crm", f"the test data has no {model._meta.label}"
        pytest.skip(f"no {model._meta.label} to open")
    response = admin_client.get(_url(model, "change", instance.pk))
    assert response.status_code == 200
    assert response.context["original"] == instance


# --------------------------------------------------------------------------- search


def _customer_search(admin_client, term: str) -> list[Customer]:
    response = admin_client.get(_url(Customer, "changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["(602) 555-0100", "602.555.0100", "+16025550100", "602 555 0100", "555-0100"])
def test_search_customers_by_any_spelling_of_the_phone(admin_client, maria, tom, term):
    assert _customer_search(admin_client, term) == [maria]


@pytest.mark.django_db
def test_search_tells_neighbouring_numbers_apart(admin_client, maria, tom):
    assert _customer_search(admin_client, "(602) 555-0101") == [tom]


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["(480) 555-0177", "+14805550177"])
def test_search_customers_by_an_other_phone(admin_client, maria, tom, term):
    assert _customer_search(admin_client, term) == [maria]


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["004352", VIN_A, VIN_A.lower(), "ABC-1234", "abc 1234", "ABC1234", "JKL555"])
def test_search_customers_by_vin_or_plate(admin_client, maria, tom, term):
    assert _customer_search(admin_client, term) == [maria]


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["Maria", "lopez", "Maria Lopez", "maria@example.com"])
def test_search_customers_by_name(admin_client, maria, tom, term):
    assert _customer_search(admin_client, term) == [maria]


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["(602) 555-0199", "Nobody", "999999"])
def test_search_without_match_is_empty(admin_client, maria, tom, term):
    assert _customer_search(admin_client, term) == []


@pytest.mark.django_db
def test_search_keeps_the_vehicle_count_right(admin_client, maria, tom):
    # Matching through phones and vehicles must not multiply the annotated count.
    [found] = _customer_search(admin_client, "602.555.0100")
    assert found.vehicle_total == 2
    [found] = _customer_search(admin_client, "004352")
    assert found.vehicle_total == 2


@pytest.mark.django_db
def test_search_vehicles_and_consent_history_by_owner_phone(admin_client, maria, tom):
    response = admin_client.get(_url(Vehicle, "changelist"), {"q": "(602) 555-0101"})
    assert [v.vin for v in response.context["cl"].result_list] == [VIN_B]
    response = admin_client.get(_url(ConsentChange, "changelist"), {"q": "602.555.0100"})
    assert [c.customer for c in response.context["cl"].result_list] == [maria]


# --------------------------------------------------------------------------- add form errors


def _add_customer_data(admin_client, admin_form_data, **fields):
    data = admin_form_data(admin_client.get(_url(Customer, "add")))
    data.update(first_name="Ana", last_name="Diaz", phone="480-555-0123", preferred_language="en")
    data.update(fields)
    return data


def _add_vehicle_rows(data, *rows):
    data["vehicles-TOTAL_FORMS"] = str(len(rows))
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"vehicles-{index}-{name}"] = value


@pytest.mark.django_db
def test_add_customer_form_works(admin_client, admin_form_data):
    data = _add_customer_data(admin_client, admin_form_data)
    _add_vehicle_rows(data, {"vin": "1hg cm826 33a004352", "make": "Honda", "plate": "abc-1234"})
    response = admin_client.post(_url(Customer, "add"), data)
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.phone == "+14805550123"
    assert list(customer.vehicles.values_list("vin", "plate")) == [(VIN_A, "ABC1234")]


@pytest.mark.django_db
def test_add_customer_with_a_bad_phone_shows_an_error(admin_client, admin_form_data):
    admin_client.raise_request_exception = False
    data = _add_customer_data(admin_client, admin_form_data, phone="not a phone")
    response = admin_client.post(_url(Customer, "add"), data)
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert "not a phone" in str(response.context["adminform"].form.errors["phone"])
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_add_customer_with_a_bad_vin_shows_an_error(admin_client, admin_form_data):
    admin_client.raise_request_exception = False
    data = _add_customer_data(admin_client, admin_form_data)
    _add_vehicle_rows(data, {"vin": "1HGCM82643A004352", "make": "Honda"})
    response = admin_client.post(_url(Customer, "add"), data)
    assert response.status_code == 200
    vehicles = next(i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "vehicles")
    assert "vin" in vehicles.formset.errors[0]
    assert "check digit" in str(vehicles.formset.errors[0]["vin"])
    assert not Customer.objects.exists()
    assert not Vehicle.objects.exists()


@pytest.mark.django_db
def test_add_customer_with_a_known_vin_shows_an_error(admin_client, admin_form_data, tom):
    admin_client.raise_request_exception = False
    data = _add_customer_data(admin_client, admin_form_data)
    _add_vehicle_rows(data, {"vin": VIN_B.lower(), "make": "Toyota"})
    response = admin_client.post(_url(Customer, "add"), data)
    assert response.status_code == 200
    vehicles = next(i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "vehicles")
    assert vehicles.formset.errors[0] or vehicles.formset.non_form_errors()
    assert list(Customer.objects.all()) == [tom]


@pytest.mark.django_db
def test_add_customer_with_the_same_vin_twice_shows_an_error(admin_client, admin_form_data):
    admin_client.raise_request_exception = False
    data = _add_customer_data(admin_client, admin_form_data)
    _add_vehicle_rows(data, {"vin": VIN_A, "make": "Honda"}, {"vin": VIN_A.lower(), "make": "Honda"})
    response = admin_client.post(_url(Customer, "add"), data)
    assert response.status_code == 200  # a form error, never a 500
    assert not Customer.objects.exists()
    assert not Vehicle.objects.exists()


@pytest.mark.django_db
def test_add_customer_with_another_customers_phone_shows_an_error(admin_client, admin_form_data, maria):
    admin_client.raise_request_exception = False
    data = _add_customer_data(admin_client, admin_form_data, phone="480 555 0177")  # Maria's other phone
    response = admin_client.post(_url(Customer, "add"), data)
    assert response.status_code == 200
    assert "Maria Lopez" in str(response.context["adminform"].form.errors["phone"])
    assert list(Customer.objects.all()) == [maria]


# --------------------------------------------------------------------------- roles


def _login(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_advisor_can_view_and_change_customers(client, advisor_user, maria, admin_form_data):
    _login(client, advisor_user)
    assert client.get(_url(Customer, "changelist")).status_code == 200
    url = _url(Customer, "change", maria.pk)
    data = admin_form_data(client.get(url))
    data["notes"] = "Prefers Saturday appointments."
    data["sms"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302
    maria.refresh_from_db()
    assert maria.notes == "Prefers Saturday appointments."
    assert maria.sms is True
    change = ConsentChange.objects.get(customer=maria, kind="sms")
    assert (change.source, change.changed_by) == ("staff", advisor_user)


@pytest.mark.django_db
def test_advisor_cannot_delete_customers(client, advisor_user, maria):
    _login(client, advisor_user)
    url = _url(Customer, "delete", maria.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Customer.objects.filter(pk=maria.pk).exists()


@pytest.mark.django_db
def test_advisor_cannot_change_the_dealership_profile(client, advisor_user):
    _login(client, advisor_user)
    url = _url(DealershipProfile, "change", DealershipProfile.SINGLETON_ID)
    assert client.get(url).status_code == 200  # view only
    response = client.post(url, {"name": "Renamed", "timezone": "America/Phoenix", "greeting": "Hi"})
    assert response.status_code == 403
    assert DealershipProfile.objects.get().name != "Renamed"


@pytest.mark.django_db
def test_staff_without_a_group_gets_nothing(client):
    user = get_user_model().objects.create_user("nobody", "nobody@example.com", "correct-horse-battery")
    user.is_staff = True
    user.save()
    _login(client, user)
    assert client.get(_url(Customer, "changelist")).status_code == 403


@pytest.mark.django_db
def test_manager_can_delete_a_customer(client, manager_user, tom):
    _login(client, manager_user)
    url = _url(Customer, "delete", tom.pk)
    assert client.get(url).status_code == 200
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=tom.pk).exists()
    assert not Vehicle.objects.filter(vin=VIN_B).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_a_customer_with_consent_history_can_be_deleted(client, manager_user, staff_user, maria, who):
    # Maria has a consent history (like every customer who ever agreed to anything).
    assert ConsentChange.objects.filter(customer=maria).exists()
    _login(client, manager_user if who == "manager" else staff_user)
    url = _url(Customer, "delete", maria.pk)
    response = client.get(url)
    assert response.status_code == 200
    assert not response.context["perms_lacking"], response.context["perms_lacking"]
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=maria.pk).exists()
    assert not CustomerPhone.objects.filter(number="+14805550177").exists()
