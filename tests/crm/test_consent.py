from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.errors import CustomerError
from crm.models import ConsentChange, ConsentKind, ConsentSource, Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return services.customer_create(first_name="Maria", last_name="Lopez", phone="(602) 555-0100")


def _history(customer, kind=None):
    rows = ConsentChange.objects.filter(customer=customer)
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows.order_by("changed_at", "id").values_list("kind", "value", "source"))


def test_new_customer_has_no_consent_and_no_history(customer):
    for kind in ConsentKind.values:
        assert getattr(customer, kind) is False
        assert getattr(customer, f"{kind}_changed_at") is None
        assert getattr(customer, f"{kind}_source") == ""
    assert _history(customer) == []


def test_set_consent_records_a_change(customer, staff_user):
    at = timezone.now() - timedelta(hours=2)
    services.customer_set_consent(
        customer=customer, kind="reminder_calls", value=True, source="inbound_call", by=staff_user, note="said yes", at=at
    )
    change = ConsentChange.objects.get(customer=customer)
    assert (change.kind, change.value, change.source) == ("reminder_calls", True, "inbound_call")
    assert change.changed_by == staff_user
    assert change.changed_at == at
    assert change.note == "said yes"

    customer.refresh_from_db()
    assert customer.reminder_calls is True
    assert customer.reminder_calls_changed_at == at
    assert customer.reminder_calls_source == "inbound_call"
    # The other flags are untouched.
    assert (customer.recording, customer.sms, customer.do_not_call) == (False, False, False)
    assert customer.recording_changed_at is None and customer.recording_source == ""


def test_set_consent_defaults_to_now(customer):
    before = timezone.now()
    returned = services.customer_set_consent(customer=customer, kind="sms", value=True, source="written")
    after = timezone.now()
    change = ConsentChange.objects.get(customer=customer)
    assert before <= change.changed_at <= after
    assert change.changed_by is None
    assert returned.sms is True and returned.sms_changed_at == change.changed_at


def test_setting_the_same_value_again_records_nothing(customer):
    first_at = timezone.now() - timedelta(days=1)
    services.customer_set_consent(customer=customer, kind="recording", value=True, source="staff", at=first_at)
    services.customer_set_consent(customer=customer, kind="recording", value=True, source="inbound_call")
    assert _history(customer) == [("recording", True, "staff")]
    customer.refresh_from_db()
    assert customer.recording_changed_at == first_at
    assert customer.recording_source == "staff"


def test_setting_the_default_value_records_nothing(customer):
    services.customer_set_consent(customer=customer, kind="do_not_call", value=False, source="staff")
    assert _history(customer) == []


def test_withdraw_then_give_again_keeps_the_history_in_order(customer, staff_user):
    start = timezone.now() - timedelta(days=3)
    services.customer_set_consent(customer=customer, kind="reminder_calls", value=True, source="written", at=start)
    services.customer_set_consent(
        customer=customer, kind="reminder_calls", value=False, source="reminder_call", at=start + timedelta(days=1)
    )
    services.customer_set_consent(
        customer=customer, kind="reminder_calls", value=True, source="staff", by=staff_user, at=start + timedelta(days=2)
    )
    assert _history(customer) == [
        ("reminder_calls", True, "written"),
        ("reminder_calls", False, "reminder_call"),
        ("reminder_calls", True, "staff"),
    ]
    # The model's default ordering is newest first.
    assert [c.source for c in customer.consent_changes.all()] == ["staff", "reminder_call", "written"]
    customer.refresh_from_db()
    assert customer.reminder_calls is True
    assert customer.reminder_calls_source == "staff"
    assert customer.reminder_calls_changed_at == start + timedelta(days=2)


def test_history_without_explicit_times_is_in_call_order(customer):
    for value in (True, False, True, False):
        services.customer_set_consent(customer=customer, kind="sms", value=value, source="inbound_call")
    assert [v for _, v, _ in _history(customer)] == [True, False, True, False]
    assert [c.value for c in customer.consent_changes.all()] == [False, True, False, True]


def test_unknown_kind_is_refused(customer):
    with pytest.raises(CustomerError) as excinfo:
        services.customer_set_consent(customer=customer, kind="marketing_emails", value=True, source="staff")
    assert excinfo.value.code == "unknown_consent"
    assert _history(customer) == []


def test_unknown_source_is_refused(customer):
    with pytest.raises(CustomerError) as excinfo:
        services.customer_set_consent(customer=customer, kind="sms", value=True, source="carrier_pigeon")
    assert excinfo.value.code == "unknown_source"
    customer.refresh_from_db()
    assert customer.sms is False
    assert _history(customer) == []


def test_long_note_is_cut_to_fit(customer):
    services.customer_set_consent(customer=customer, kind="sms", value=True, source="staff", note="x" * 400)
    assert len(ConsentChange.objects.get(customer=customer).note) == 255


def test_customer_create_records_consents(staff_user):
    customer = services.customer_create(
        first_name="Ana",
        phone="480-555-0177",
        consents={"reminder_calls": True, "recording": True, "sms": False},
        consent_source=ConsentSource.INBOUND_CALL,
        by=staff_user,
    )
    assert _history(customer, "reminder_calls") == [("reminder_calls", True, "inbound_call")]
    assert _history(customer, "recording") == [("recording", True, "inbound_call")]
    assert _history(customer, "sms") == []  # False is what it already was
    assert set(ConsentChange.objects.filter(customer=customer).values_list("changed_by", flat=True)) == {staff_user.pk}
    customer.refresh_from_db()
    assert (customer.reminder_calls, customer.recording, customer.sms) == (True, True, False)
    assert customer.recording_source == "inbound_call"
    assert customer.recording_changed_at is not None


def test_customer_create_with_an_unknown_consent_creates_nothing():
    with pytest.raises(CustomerError):
        services.customer_create(first_name="Ana", phone="480-555-0177", consents={"telepathy": True})
    assert not Customer.objects.exists()
    assert not ConsentChange.objects.exists()


# --------------------------------------------------------------------------- admin


def _change_url(customer):
    return reverse("admin:crm_customer_change", args=[customer.pk])


def test_admin_change_form_has_the_expected_inline_prefixes(admin_client, customer):
    response = admin_client.get(_change_url(customer))
    assert response.status_code == 200
    prefixes = [inline.formset.prefix for inline in response.context["inline_admin_formsets"]]
    assert prefixes == ["other_phones", "vehicles", "consent_changes"]
    html = response.content.decode()
    for prefix in prefixes:
        assert f'name="{prefix}-TOTAL_FORMS"' in html


def test_admin_consent_changes_are_recorded_as_staff_with_the_user(admin_client, staff_user, customer, admin_form_data):
    url = _change_url(customer)
    data = admin_form_data(admin_client.get(url))
    assert "reminder_calls" not in data and "do_not_call" not in data  # both off as rendered
    data["reminder_calls"] = "on"
    data["do_not_call"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""

    rows = ConsentChange.objects.filter(customer=customer).order_by("kind")
    assert [(r.kind, r.value, r.source, r.changed_by) for r in rows] == [
        ("do_not_call", True, "staff", staff_user),
        ("reminder_calls", True, "staff", staff_user),
    ]
    customer.refresh_from_db()
    assert customer.reminder_calls is True and customer.do_not_call is True
    assert customer.reminder_calls_source == "staff" and customer.reminder_calls_changed_at is not None

    # Withdrawing one of them through the form adds one row; the unchanged one adds none.
    data = admin_form_data(admin_client.get(url))
    assert data["reminder_calls"] == "on" and data["do_not_call"] == "on"
    del data["reminder_calls"]
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert _history(customer, "reminder_calls") == [("reminder_calls", True, "staff"), ("reminder_calls", False, "staff")]
    assert _history(customer, "do_not_call") == [("do_not_call", True, "staff")]
    customer.refresh_from_db()
    assert customer.reminder_calls is False and customer.do_not_call is True


def test_admin_save_without_consent_changes_records_nothing(admin_client, customer, admin_form_data):
    services.customer_set_consent(customer=customer, kind="sms", value=True, source="written")
    url = _change_url(customer)
    data = admin_form_data(admin_client.get(url))
    data["notes"] = "Prefers mornings."
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert _history(customer) == [("sms", True, "written")]
    customer.refresh_from_db()
    assert customer.notes == "Prefers mornings."
    assert customer.sms is True and customer.sms_source == "written"


def test_admin_add_form_records_consents(admin_client, staff_user, admin_form_data):
    url = reverse("admin:crm_customer_add")
    data = admin_form_data(admin_client.get(url))
    data.update(first_name="Ana", last_name="Diaz", phone="480.555.0177", recording="on")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    customer = Customer.objects.get()
    assert customer.phone == "+14805550177"
    assert customer.recording is True and customer.reminder_calls is False
    assert [(r.kind, r.value, r.source, r.changed_by) for r in customer.consent_changes.all()] == [
        ("recording", True, "staff", staff_user)
    ]


def test_admin_shows_the_consent_history(admin_client, customer):
    services.customer_set_consent(customer=customer, kind="do_not_call", value=True, source="reminder_call")
    response = admin_client.get(_change_url(customer))
    consent_inline = response.context["inline_admin_formsets"][2]
    assert consent_inline.formset.prefix == "consent_changes"
    assert len(consent_inline.formset.forms) == 1
    assert "Reminder call" in response.content.decode()
