import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """TEST_DATABASE_NAME gives a test run its own database, so two runs on one server do not collide."""
    name = os.environ.get("TEST_DATABASE_NAME")
    if name:
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = name


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
