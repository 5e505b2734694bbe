"""Admin logins are throttled per username and address (django-axes), and a service manager clears a lockout."""

from __future__ import annotations

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from axes.models import AccessAttempt
from crm.roles import SERVICE_ADVISOR, SERVICE_MANAGER

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/?next=/admin/"
PASSWORD = "correct-horse-battery"
HOME = "203.0.113.10"
ELSEWHERE = "198.51.100.20"
ATTEMPTS_URL = "/admin/axes/accessattempt/"


@pytest.fixture
def jo(db):
    user = get_user_model().objects.create_user("jo-advisor", "jo@example.com", PASSWORD)
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=SERVICE_ADVISOR))
    return user


def _staff(username: str, group: str):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=group))
    return user


def _staff_without_a_group(username: str):
    return get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)


def _log_in(client, password: str, address: str = HOME, username: str = "jo-advisor", **headers):
    return client.post(
        LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address, **headers
    )


def _logged_in(client) -> bool:
    return SESSION_KEY in client.session


def _fail(client, times: int, address: str = HOME, **headers) -> None:
    for _ in range(times):
        response = _log_in(client, "wrong-password", address, **headers)
        assert not _logged_in(client)
        assert response.status_code in (200, 429)


def _assert_locked_out(response) -> None:
    assert response.status_code == 429
    text = response.content.decode()
    assert "Account locked" in text
    assert f"{settings.AXES_COOLOFF_MINUTES} minutes" in text


def _assert_logged_in(client, response) -> None:
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/admin/"
    assert _logged_in(client)


def test_the_limit_and_cool_off_come_from_the_settings():
    # The defaults the README gives; the tests below count with whatever the settings say.
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_MINUTES == 15
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_a_wrong_password_shows_the_login_form_again(client, jo):
    response = _log_in(client, "wrong-password")
    assert response.status_code == 200
    assert "Please enter the correct username and password" in response.content.decode()
    assert not _logged_in(client)


def test_after_the_limit_even_the_right_password_is_refused(client, jo):
    _fail(client, settings.AXES_FAILURE_LIMIT)
    response = _log_in(client, PASSWORD)
    _assert_locked_out(response)
    assert "jo-advisor" in response.content.decode()
    assert not _logged_in(client)


def test_one_failure_less_than_the_limit_still_logs_in(client, jo):
    _fail(client, settings.AXES_FAILURE_LIMIT - 1)
    _assert_logged_in(client, _log_in(client, PASSWORD))


def test_the_same_user_from_another_address_is_not_locked(client, jo):
    _fail(client, settings.AXES_FAILURE_LIMIT, address=HOME)
    _assert_locked_out(_log_in(client, PASSWORD, address=HOME))
    _assert_logged_in(client, _log_in(client, PASSWORD, address=ELSEWHERE))


def test_another_user_from_the_same_address_is_not_locked(client, jo):
    _staff("kim-advisor", SERVICE_ADVISOR)
    _fail(client, settings.AXES_FAILURE_LIMIT, address=HOME)
    _assert_logged_in(client, _log_in(client, PASSWORD, address=HOME, username="kim-advisor"))


def test_a_successful_login_resets_the_count(client, jo):
    _fail(client, settings.AXES_FAILURE_LIMIT - 1)
    _assert_logged_in(client, _log_in(client, PASSWORD))
    client.logout()
    # Without the reset this would make 2 x (limit - 1) failures in a row: past the limit.
    _fail(client, settings.AXES_FAILURE_LIMIT - 1)
    _assert_logged_in(client, _log_in(client, PASSWORD))


# --------------------------------------------------------------------------- clearing a lockout


def test_a_manager_sees_the_lockout_and_deleting_it_lets_the_user_in(client, jo):
    _fail(client, settings.AXES_FAILURE_LIMIT)
    _assert_locked_out(_log_in(client, PASSWORD))
    attempt = AccessAttempt.objects.get(username="jo-advisor", ip_address=HOME)

    manager = _staff("pat-manager", SERVICE_MANAGER)
    client.force_login(manager)
    listing = client.get(ATTEMPTS_URL)
    assert listing.status_code == 200
    assert "jo-advisor" in listing.content.decode()
    assert list(listing.context["cl"].result_list) == [attempt]
    assert client.get(ATTEMPTS_URL, {"locked_out": "yes"}).context["cl"].result_count == 1
    assert client.get(f"{ATTEMPTS_URL}{attempt.pk}/change/").status_code == 200
    assert client.get("/admin/axes/accesslog/").status_code == 200
    assert client.get("/admin/axes/accessfailurelog/").status_code == 200

    confirm = client.post(ATTEMPTS_URL, {"action": "delete_selected", "_selected_action": [attempt.pk]})
    assert confirm.status_code == 200  # "are you sure?"
    done = client.post(ATTEMPTS_URL, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})
    assert done.status_code == 302
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()
    client.logout()

    _assert_logged_in(client, _log_in(client, PASSWORD))


def test_a_manager_may_also_delete_one_lockout_from_its_page(client, jo):
    _fail(client, settings.AXES_FAILURE_LIMIT)
    attempt = AccessAttempt.objects.get(username="jo-advisor")
    client.force_login(_staff("pat-manager", SERVICE_MANAGER))
    assert client.post(f"{ATTEMPTS_URL}{attempt.pk}/delete/", {"post": "yes"}).status_code == 302
    client.logout()
    _assert_logged_in(client, _log_in(client, PASSWORD))


def test_a_manager_cannot_edit_or_add_attempts(client, jo):
    _fail(client, 1)
    attempt = AccessAttempt.objects.get(username="jo-advisor")
    client.force_login(_staff("pat-manager", SERVICE_MANAGER))
    page = client.get(f"{ATTEMPTS_URL}{attempt.pk}/change/")
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert client.get(f"{ATTEMPTS_URL}add/").status_code == 403


def test_an_advisor_does_not_see_lockouts(client, jo):
    _fail(client, settings.AXES_FAILURE_LIMIT)
    client.force_login(_staff("sam-advisor", SERVICE_ADVISOR))
    assert client.get(ATTEMPTS_URL).status_code == 403
    assert client.get("/admin/axes/accesslog/").status_code == 403


# --------------------------------------------------------------------------- the address behind proxies


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, jo, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    _fail(client, settings.AXES_FAILURE_LIMIT, HTTP_X_FORWARDED_FOR="192.0.2.1")
    # A client that makes up another forwarded address is still the same connection's address.
    _assert_locked_out(_log_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_behind_one_proxy_the_address_it_appended_counts(client, jo, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.5"
    _fail(client, settings.AXES_FAILURE_LIMIT, address=proxy, HTTP_X_FORWARDED_FOR=HOME)
    assert AccessAttempt.objects.get(username="jo-advisor").ip_address == HOME
    # A made-up entry in front of the proxy's own changes nothing: still locked.
    _assert_locked_out(_log_in(client, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.99, {HOME}"))
    # Another client through the same proxy is not locked.
    _assert_logged_in(client, _log_in(client, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE))


def test_a_request_that_bypassed_the_proxies_counts_under_its_own_address(client, jo, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    _fail(client, settings.AXES_FAILURE_LIMIT, HTTP_X_FORWARDED_FOR="192.0.2.1")  # one entry: too short for 2
    assert AccessAttempt.objects.get(username="jo-advisor").ip_address == HOME
    _assert_locked_out(_log_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.2"))


# --------------------------------------------------------------------------- through the ASGI handler


@pytest.fixture
def shared_database_thread_closed():
    """The ASGI handler runs the login view in asgiref's one shared thread, whose database connection stays open:
    closed after the test, so that the test database can be dropped."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


@pytest.mark.django_db(transaction=True)
async def test_the_lockout_page_through_the_asgi_handler(async_client, shared_database_thread_closed):
    """Daphne serves the admin: the lockout answers the same through Django's ASGI handler."""
    # No group: a transactional test starts from an emptied database, without the groups migrations made.
    await sync_to_async(_staff_without_a_group)("jo-advisor")
    data = {"username": "jo-advisor", "password": "wrong-password", "next": "/admin/"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        await async_client.post(LOGIN_URL, data)
    response = await async_client.post(LOGIN_URL, {**data, "password": PASSWORD})
    _assert_locked_out(response)
    assert "jo-advisor" in response.content.decode()
    assert SESSION_KEY not in await sync_to_async(lambda: dict(async_client.session))()
