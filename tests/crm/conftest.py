import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER


def _bound_form_data(form) -> dict:
    """What a browser would post for this form as rendered: each field's current value."""
    data = {}
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        elif value is None:
            data[key] = ""
        elif isinstance(value, (list, tuple)):
            data[key] = [str(v) for v in value]
        else:
            data[key] = str(value)
    return data


def _admin_form_data(response) -> dict:
    """POST data for an admin add/change page from its GET response: the main form and every inline,
    management forms included, as they were rendered."""
    assert response.status_code == 200, response.status_code
    data = _bound_form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_bound_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_bound_form_data(form))
    return data


@pytest.fixture
def admin_form_data():
    return _admin_form_data


def _user_in_group(username: str, group_name: str):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "correct-horse-battery")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def advisor_user(db):
    return _user_in_group("sam-advisor", SERVICE_ADVISOR)


@pytest.fixture
def manager_user(db):
    return _user_in_group("pat-manager", SERVICE_MANAGER)
