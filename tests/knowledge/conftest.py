"""Knowledge-base fixtures: a deterministic embedder, categories and a few entries."""

import pytest
from django.core.cache import cache

from knowledge import services
from knowledge.embeddings import reset_embedder
from tests.knowledge.embedder import HashingEmbedder

HASHING = "tests.knowledge.embedder.HashingEmbedder"
SMALL_HASHING = "tests.knowledge.embedder.SmallHashingEmbedder"


@pytest.fixture(autouse=True)
def fresh_embedder_state(settings):
    """Each test starts with the hashing embedder, an empty call log and an empty question cache."""
    settings.KNOWLEDGE_EMBEDDING_PROVIDER = HASHING
    reset_embedder()
    HashingEmbedder.calls.clear()
    HashingEmbedder.failing = False
    cache.clear()
    yield
    reset_embedder()
    HashingEmbedder.failing = False


@pytest.fixture
def use_provider(settings):
    """Switch the configured provider mid-test."""

    def switch(name: str) -> None:
        settings.KNOWLEDGE_EMBEDDING_PROVIDER = name
        reset_embedder()

    return switch


@pytest.fixture
def categories(db):
    return {
        "hours": services.category_get_or_create(name="Hours and location", slug="hours"),
        "prices": services.category_get_or_create(name="Prices", slug="prices"),
        "loaners": services.category_get_or_create(name="Loaners and shuttle", slug="loaners"),
    }


@pytest.fixture
def add_faq(categories, django_capture_on_commit_callbacks):
    """Create an FAQ through the service and run its after-commit embedding (Celery runs inline)."""

    def add(slug, question, answer, category="hours", phrasings=(), keywords=(), active=True):
        with django_capture_on_commit_callbacks(execute=True):
            return services.faq_create(slug=slug, question=question, answer=answer, category=categories[category],
                                       phrasings=phrasings, keywords=keywords, active=active)  # fmt: skip

    return add


@pytest.fixture
def faqs(add_faq):
    return {
        "saturday": add_faq("saturday", "Are you open on Saturdays?", "Yes, on Saturdays we are open 8 to 2.",
                            phrasings=["weekend hours"], keywords=["saturday", "weekend"]),  # fmt: skip
        "sunday": add_faq("sunday", "Are you open on Sundays?", "No, the service department is closed on Sundays."),
        "oil": add_faq("oil", "How much is an oil change?", "A synthetic oil change is $79.95.", category="prices",
                       phrasings=["price of an oil service"], keywords=["lube", "oil"]),  # fmt: skip
        "brakes": add_faq("brakes", "How much do brakes cost?", "Front brake pads start at $249.", category="prices"),
        "loaner": add_faq("loaner", "Do you have loaner cars?", "Yes, for repairs over three hours, book ahead.",
                          category="loaners", phrasings=["courtesy car", "rental while my car is in"]),  # fmt: skip
    }


@pytest.fixture(scope="session", autouse=True)
def vector_indexes(django_db_setup, django_db_blocker):
    """The HNSW indexes of the test embedders, made once outside any test transaction (as a worker would)."""
    from knowledge.vector_index import ensure_vector_index

    with django_db_blocker.unblock():
        for dimensions in (HashingEmbedder.dimensions, 32):
            ensure_vector_index(dimensions)
