"""The hybrid search: fusion order, filters, text-only mode, the question cache and odd input."""

import pytest
from django.core.cache import cache

from knowledge import search
from knowledge.models import Passage
from knowledge.query_embeddings import cache_key
from knowledge.selectors import HYBRID, TEXT_ONLY, knowledge_search
from knowledge.services import faq_set_active
from tests.knowledge.embedder import HashingEmbedder

pytestmark = pytest.mark.django_db


def _unit(*weights: float, dims: int = 64) -> list[float]:
    vector = list(weights) + [0.0] * (dims - len(weights))
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


def _place(faq, vector):
    """Give a passage a known vector, so the vector ranking is decided by the test."""
    Passage.objects.filter(faq=faq).update(embedding=vector, embedding_model=HashingEmbedder.model_name,
                                           embedding_dimensions=len(vector))  # fmt: skip


def test_reciprocal_rank_fusion_orders_by_summed_reciprocal_ranks(add_faq):
    only_vector = add_faq("a", "Unrelated wording", "Nothing in common.")
    both_second = add_faq("c", "Something else", "It mentions alpha once.")
    text_first = add_faq("b", "Alpha beta", "Alpha beta, all about alpha beta.")
    query = _unit(1)
    _place(only_vector, _unit(1))  # vector rank 1
    _place(both_second, _unit(1, 1))  # vector rank 2, full-text rank 2
    _place(text_first, _unit(0, 1))  # vector rank 3, full-text rank 1

    hits = search.run("alpha beta", vector=query, model_name=HashingEmbedder.model_name, k=3,
                      methods={search.VECTOR: 1.0, search.FULLTEXT: 1.0})  # fmt: skip

    assert [hit.faq_id for hit in hits] == [text_first.pk, both_second.pk, only_vector.pk]
    assert hits[0].ranks == {"vector": 3, "fulltext": 1}
    assert hits[0].score == pytest.approx(1 / 63 + 1 / 61)
    assert hits[1].ranks == {"vector": 2, "fulltext": 2}
    assert hits[1].score == pytest.approx(2 / 62)
    assert hits[2].ranks == {"vector": 1}
    assert hits[2].score == pytest.approx(1 / 61)
    assert hits[2].scores["vector"] == pytest.approx(1.0)


def test_fusion_weights_scale_each_list(add_faq):
    only_vector = add_faq("a", "Unrelated wording", "Nothing in common.")
    both_second = add_faq("c", "Something else", "It mentions alpha once.")
    text_first = add_faq("b", "Alpha beta", "Alpha beta, all about alpha beta.")
    _place(only_vector, _unit(1))
    _place(both_second, _unit(1, 1))
    _place(text_first, _unit(0, 1))

    hits = search.run("alpha beta", vector=_unit(1), model_name=HashingEmbedder.model_name, k=3,
                      methods={search.VECTOR: 1.0, search.FULLTEXT: 0.5})  # fmt: skip

    assert [hit.faq_id for hit in hits] == [both_second.pk, text_first.pk, only_vector.pk]
    assert hits[0].score == pytest.approx(1 / 62 + 0.5 / 62)
    assert hits[1].score == pytest.approx(1 / 63 + 0.5 / 61)


def test_vectors_of_another_model_are_not_compared(add_faq):
    faq = add_faq("a", "Unrelated wording", "Nothing in common.")
    Passage.objects.filter(faq=faq).update(embedding=_unit(1), embedding_model="another-model",
                                           embedding_dimensions=64)  # fmt: skip
    hits = search.run("zzz", vector=_unit(1), model_name=HashingEmbedder.model_name,
                      methods={search.VECTOR: 1.0})  # fmt: skip
    assert hits == []


def test_hybrid_search_finds_the_entry_and_says_how(faqs):
    result = knowledge_search("how much is an oil change for my car", k=3)
    assert result.mode == HYBRID
    assert result.model == HashingEmbedder.model_name
    assert result.best.faq_id == faqs["oil"].pk
    assert set(result.best.methods) == {"vector", "fulltext"}
    assert result.best.text == "A synthetic oil change is $79.95."
    assert [hit.score for hit in result.hits] == sorted((hit.score for hit in result.hits), reverse=True)


def test_inactive_entries_are_never_found(faqs):
    faq_set_active(faq=faqs["oil"], active=False)
    result = knowledge_search("how much is an oil change", k=5)
    assert faqs["oil"].pk not in [hit.faq_id for hit in result.hits]
    faq_set_active(faq=faqs["oil"], active=True)
    assert knowledge_search("how much is an oil change", k=5).best.faq_id == faqs["oil"].pk


def test_category_filter(faqs):
    result = knowledge_search("are you open on saturdays", k=5, category="prices")
    assert result.hits
    assert {hit.category for hit in result.hits} == {"prices"}
    assert knowledge_search("saturday", category="no-such-category").hits == []


def test_without_a_provider_search_runs_on_text_and_says_so(faqs, use_provider):
    use_provider("none")
    result = knowledge_search("do you have a courtesy car")
    assert result.mode == TEXT_ONLY
    assert "No embedding provider" in result.notes[0]
    assert result.best.faq_id == faqs["loaner"].pk
    assert "vector" not in result.best.methods


def test_trigram_similarity_survives_typos(faqs, use_provider):
    use_provider("none")
    result = knowledge_search("saterday hours")
    assert result.best.faq_id == faqs["saturday"].pk
    assert "trigram" in result.best.methods
    assert "fulltext" in result.best.methods  # "hours" is spelt right


def test_a_provider_outage_falls_back_to_text(faqs):
    HashingEmbedder.failing = True
    result = knowledge_search("do you have loaner cars")
    assert result.mode == TEXT_ONLY
    assert "failed" in result.notes[0]
    assert result.best.faq_id == faqs["loaner"].pk


def test_a_repeated_question_is_embedded_once(faqs):
    HashingEmbedder.calls.clear()
    knowledge_search("Do you have loaner cars?")
    knowledge_search("  do you HAVE   loaner cars?  ")
    assert HashingEmbedder.calls == [["do you have loaner cars?"]]
    assert cache.get(cache_key(HashingEmbedder(), "do you have loaner cars?")) is not None
    knowledge_search("do you have a shuttle")
    assert len(HashingEmbedder.calls) == 2


def test_the_cache_is_per_model(faqs, use_provider):
    knowledge_search("do you have loaner cars")
    use_provider("tests.knowledge.embedder.SmallHashingEmbedder")
    HashingEmbedder.calls.clear()
    knowledge_search("do you have loaner cars")
    assert len(HashingEmbedder.calls) == 1  # a 32-dimension vector is not a 64-dimension one


def test_a_cached_search_is_one_round_trip(faqs, django_assert_num_queries):
    knowledge_search("do you have loaner cars")
    with django_assert_num_queries(1):
        knowledge_search("do you have loaner cars")


ODD_QUESTIONS = [
    "",
    "   ",
    "x" * 5000,
    "oil " * 1500,
    "'; DROP TABLE knowledge_passage; --",
    'how much "oil change" -brakes OR (loaner & !shuttle) <-> :*',
    "\\' \\\" %s %(k)s {} $$",
    "🚗🔧💸??",
    "¿Están abiertos el sábado? 土曜日は営業していますか",
    "a\x00b oil",
    "the and of to a",
]


@pytest.mark.parametrize("question", ODD_QUESTIONS, ids=range(len(ODD_QUESTIONS)))
@pytest.mark.parametrize("provider", ["tests.knowledge.embedder.HashingEmbedder", "none"])
def test_odd_questions_never_error(faqs, use_provider, question, provider):
    use_provider(provider)
    result = knowledge_search(question, k=3)
    assert len(result.hits) <= 3
    assert all(hit.title for hit in result.hits)
    if not question.strip():
        assert result.hits == [] and result.notes == ["The question is empty."]


def test_k_is_bounded(faqs):
    assert len(knowledge_search("oil", k=0).hits) == 1
    assert len(knowledge_search("are you open", k=1000).hits) <= 20
