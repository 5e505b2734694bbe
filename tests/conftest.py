import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model


def _xdist_worker_number() -> int | None:
    """0, 1, ... in a pytest-xdist worker ("gw0", "gw1"...), None in a serial run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return int(worker.removeprefix("gw")) if worker else None


def pytest_configure(config):
    """Each pytest-xdist worker gets Redis databases of its own (2 and 3 for the first, 4 and 5 for the next...).

    The embedded servers are shared by every worker and pytest-django gives each its own test database; this
    does the same for Redis, so one worker's cache.clear() or channel messages never reach another's tests.
    Django opens caches and channel layers on first use, which comes after this.
    """
    number = _xdist_worker_number()
    if number is None:
        return
    from dealership.settings import redis_url_with_db

    cache_db, channels_db = 2 + 2 * number, 3 + 2 * number
    if channels_db > 15:
        raise pytest.UsageError("at most 7 test workers: Redis has 16 databases")
    settings.CACHES["default"]["LOCATION"] = redis_url_with_db(settings.REDIS_URL, cache_db)
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [redis_url_with_db(settings.REDIS_URL, channels_db)]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """TEST_DATABASE_NAME gives a test run its own database, so two runs on one server do not collide.

    pytest-django has already named a worker's database after it (test_dealership_gw0...); a name given here
    keeps that suffix.
    """
    name = os.environ.get("TEST_DATABASE_NAME")
    if name:
        number = _xdist_worker_number()
        suffix = "" if number is None else f"_gw{number}"
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = name + suffix


@pytest.fixture
def staff_user(db):
    """A superuser who is staff, for admin pages."""
    return get_user_model().objects.create_superuser("advisor", "advisor@example.com", "correct-horse-battery")


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture(autouse=True)
def celery_runs_tasks_inline():
    """Tasks enqueued by services run in the test process instead of going to Redis."""
    from dealership.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def no_embedding_provider_unless_asked(settings):
    """Tests do not depend on which embedding extras this machine has; knowledge tests pick their own."""
    from knowledge.embeddings import reset_embedder

    settings.KNOWLEDGE_EMBEDDING_PROVIDER = "none"
    reset_embedder()
    yield
    reset_embedder()
