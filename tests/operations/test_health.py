"""The liveness and readiness probes, against the real database and Redis, and Redis servers that fail for real."""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from operations import draining


@pytest.fixture(autouse=True)
def serving():
    draining.reset()
    yield
    draining.reset()


def _readiness(client, **extra) -> tuple[int, dict]:
    response = client.get("/readyz", **extra)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def _cache_redis_at(url: str):
    """The settings' default cache, pointed at another Redis."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = url
    return override_settings(CACHES=caches)


@contextlib.contextmanager
def _closed_port():
    """A loopback port nothing listens on (bound, then closed: connecting is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


@contextlib.contextmanager
def _silent_server():
    """A loopback port that accepts connections and never answers: a Redis that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # the kernel completes the handshakes; nobody ever reads or writes
        yield sock.getsockname()[1]


# --------------------------------------------------------------------------- liveness


def test_healthz_answers_without_the_database(client):
    # No django_db mark: any database access here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Cache-Control"] == "no-store"


def test_healthz_takes_only_get_and_head(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


# --------------------------------------------------------------------------- readiness


@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_redis_answer(client):
    status, body = _readiness(client)
    assert (status, body) == (200, {"database": "ok", "redis": "ok", "draining": False})


def test_both_are_routed_too():
    assert reverse("readyz") == "/readyz"
    assert reverse("healthz") == "/healthz"


@pytest.mark.django_db
def test_a_draining_process_is_not_ready(client):
    draining.begin()
    status, body = _readiness(client)
    assert status == 503
    assert body == {"database": "ok", "redis": "ok", "draining": True}
    draining.reset()
    assert _readiness(client)[0] == 200


@pytest.mark.django_db
def test_readyz_names_redis_when_nothing_listens(client):
    with _closed_port() as port, _cache_redis_at(f"redis://127.0.0.1:{port}/0"):
        status, body = _readiness(client)
    assert status == 503
    assert body["redis"].startswith("error: ")
    assert body["database"] == "ok"
    assert body["draining"] is False
    # The body names the kind of failure, not the server's address.
    assert str(port) not in body["redis"]
    assert _readiness(client)[0] == 200  # the real Redis again


@pytest.mark.django_db
def test_readyz_gives_up_on_a_redis_that_never_answers(client):
    """A Redis that accepts the connection and then says nothing is "not ready", not a probe that hangs."""
    outcome = {}
    with _silent_server() as port, _cache_redis_at(f"redis://127.0.0.1:{port}/0"):

        def probe():
            outcome["result"] = _readiness(client)

        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        thread.join(timeout=60)  # a guard against hanging the suite, not a time budget
        assert not thread.is_alive(), "the readiness probe hung on a silent Redis"
    status, body = outcome["result"]
    assert status == 503
    assert body["redis"].startswith("error: ")
    assert body["database"] == "ok"


@pytest.mark.django_db
def test_readyz_takes_only_get_and_head(client):
    assert client.head("/readyz").status_code == 200
    assert client.post("/readyz").status_code == 405


# --------------------------------------------------------------------------- what a load balancer sees


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_on_a_host_that_is_not_allowed(client, path):
    """Load balancers probe by the server's IP address, which is not in ALLOWED_HOSTS."""
    host = "10.20.30.40:8000"
    assert host.split(":")[0] not in settings.ALLOWED_HOSTS
    assert client.get("/admin/login/", HTTP_HOST=host).status_code == 400  # the rest of the site refuses it
    assert client.get(path, HTTP_HOST=host).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_over_plain_http_are_not_redirected_to_https(client, path):
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/admin/login/").status_code == 301  # the rest of the site is redirected
        assert client.get(path).status_code == 200


@pytest.mark.django_db
def test_probes_set_no_cookies(client):
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert not response.cookies


@pytest.mark.django_db
async def test_probes_answer_through_the_asgi_handler(async_client):
    """Daphne serves the product: the same answers through Django's ASGI handler, on a host not allowed."""
    host = "10.20.30.40"
    assert (await async_client.get("/admin/login/", headers={"host": host})).status_code == 400
    assert (await async_client.get("/healthz", headers={"host": host})).status_code == 200
    response = await async_client.get("/readyz", headers={"host": host})
    assert response.status_code == 200
    assert json.loads(response.content) == {"database": "ok", "redis": "ok", "draining": False}
