import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def staff_user(db):
    """A superuser who is staff, for admin pages."""
    return get_user_model().objects.create_superuser("advisor", "advisor@example.com", "correct-horse-battery")


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client
