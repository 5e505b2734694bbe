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
