"""The OpenAI embedding provider against the loopback OpenAI stand-in (real SDK, real HTTP)."""

import pytest

from knowledge.embeddings import EmbeddingError, get_embedder, reset_embedder
from knowledge.embeddings.openai import OpenAIEmbedder
from knowledge.selectors import knowledge_search
from tests.standins.fixtures import fake_openai  # noqa: F401


@pytest.fixture
def openai_settings(settings, fake_openai):  # noqa: F811
    settings.KNOWLEDGE_EMBEDDING_PROVIDER = "openai"
    settings.OPENAI_API_KEY = fake_openai.api_key
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
    settings.OPENAI_EMBEDDING_DIMENSIONS = 256
    reset_embedder()
    return settings


def embedder(fake, **overrides) -> OpenAIEmbedder:
    options = {"api_key": fake.api_key, "base_url": fake.base_url, "model": "text-embedding-3-small",
               "dimensions": 256, "max_retries": 2}  # fmt: skip
    return OpenAIEmbedder(**{**options, **overrides})


def test_texts_are_sent_in_batches_with_the_configured_dimensions(fake_openai):  # noqa: F811
    texts = [f"question {n}" for n in range(300)]
    vectors = embedder(fake_openai).embed(texts)
    assert len(vectors) == 300 and {len(v) for v in vectors} == {256}
    assert [r.batch_size for r in fake_openai.embedding_requests] == [128, 128, 44]
    assert {r.dimensions for r in fake_openai.embedding_requests} == {256}
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-3


def test_a_server_error_is_retried(fake_openai):  # noqa: F811
    fake_openai.fail_next(1, 500, endpoint="embeddings", retry_after_ms=10)
    assert len(embedder(fake_openai).embed(["hello"])) == 1
    assert [r.status for r in fake_openai.embedding_requests] == [500, 200]


def test_an_outage_becomes_an_embedding_error(fake_openai):  # noqa: F811
    fake_openai.fail_next(5, 503, endpoint="embeddings", retry_after_ms=10)
    with pytest.raises(EmbeddingError, match="answered 503"):
        embedder(fake_openai, max_retries=1).embed(["hello"])


def test_a_bad_key_is_a_clear_error(fake_openai):  # noqa: F811
    with pytest.raises(EmbeddingError, match="answered 401"):
        embedder(fake_openai, api_key="sk-wrong").embed(["hello"])


def test_an_unreachable_endpoint_is_a_clear_error():
    dead = OpenAIEmbedder(api_key="sk-x", base_url="http://127.0.0.1:9/v1", model="text-embedding-3-small",
                          dimensions=8, max_retries=0, timeout=2)  # fmt: skip
    with pytest.raises(EmbeddingError, match="could not be reached"):
        dead.embed(["hello"])


def test_a_model_that_cannot_be_shortened_must_match_the_configured_size(fake_openai):  # noqa: F811
    other = embedder(fake_openai, model="nomic-embed-text", dimensions=256)  # no `dimensions` is sent
    with pytest.raises(EmbeddingError, match="set OPENAI_EMBEDDING_DIMENSIONS=1536"):
        other.embed(["hello"])
    assert fake_openai.embedding_requests[0].body.get("dimensions") is None


@pytest.mark.django_db
def test_search_through_openai_embeds_a_repeated_question_once(openai_settings, add_faq, fake_openai):  # noqa: F811
    add_faq("loaner", "Do you have loaner cars?", "Yes, for long repairs.", category="loaners")
    assert get_embedder().model_name == "text-embedding-3-small"
    before = len(fake_openai.embedding_requests)
    first = knowledge_search("Do you have loaner cars?")
    second = knowledge_search("do you have LOANER cars?")
    assert first.mode == second.mode == "hybrid"
    assert first.best.title == "Do you have loaner cars?"
    assert len(fake_openai.embedding_requests) == before + 1


@pytest.mark.django_db
def test_search_survives_an_openai_outage(openai_settings, add_faq, fake_openai):  # noqa: F811
    add_faq("loaner", "Do you have loaner cars?", "Yes, for long repairs.", category="loaners")
    fake_openai.fail_next(10, 503, endpoint="embeddings", retry_after_ms=10)
    result = knowledge_search("courtesy car while mine is in the shop")
    assert result.mode == "text"
    assert "failed" in result.notes[0]
