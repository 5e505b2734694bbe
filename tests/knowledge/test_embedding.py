"""Embedding lifecycle: after-commit embedding, states, failures, provider switching and reindex_knowledge."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from knowledge import services
from knowledge.models import Category, Document, EmbeddingState, Faq, Passage
from knowledge.selectors import embedding_coverage, knowledge_search
from knowledge.vector_index import index_name, vector_index_exists
from tests.knowledge.conftest import SMALL_HASHING
from tests.knowledge.embedder import HashingEmbedder

pytestmark = pytest.mark.django_db


def states():
    return {state: n for state, n in embedding_coverage().counts.items() if n}


def test_saving_an_entry_embeds_it_after_commit(categories, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        faq = services.faq_create(question="Do you wash the car?", answer="Yes, every visit.",
                                  category=categories["hours"], phrasings=["car wash"], keywords=["wash"])  # fmt: skip
        passage = Passage.objects.get(faq=faq)
        assert passage.embedding is None  # nothing is embedded inside the edit's transaction
        assert HashingEmbedder.calls == []
    assert len(callbacks) == 2  # embed the passage; recount the word statistics
    assert states() == {"missing": 1}
    callbacks[0]()  # the commit: Celery (inline in tests) embeds it
    passage.refresh_from_db()
    assert passage.embedding_model == "test-hashing-64" and passage.embedding_dimensions == 64
    assert passage.embedded_hash == passage.content_hash
    assert passage.title == "Do you wash the car?" and passage.extra == "car wash\nwash"
    assert states() == {"fresh": 1}
    assert faq.slug == "do-you-wash-the-car"


def test_an_edit_makes_the_entry_stale_until_embedded_again(faqs, django_capture_on_commit_callbacks):
    faq = faqs["oil"]
    faq.answer = "A synthetic oil change is $84.95."
    with django_capture_on_commit_callbacks() as callbacks:
        services.faq_save(faq=faq)
    assert states() == {"fresh": 4, "stale": 1}
    callbacks.pop()  # the word statistics
    callbacks[0]()
    assert states() == {"fresh": 5}
    assert knowledge_search("oil change price").best.text == "A synthetic oil change is $84.95."


def test_a_failing_provider_marks_the_passage_failed_and_a_retry_recovers(
    categories, django_capture_on_commit_callbacks
):
    HashingEmbedder.failing = True
    with django_capture_on_commit_callbacks() as callbacks:
        faq = services.faq_create(question="Do you do tire rotations?", answer="Yes.", category=categories["prices"])
    callbacks[0]()  # the task fails (and would be retried by the worker)
    passage = Passage.objects.get(faq=faq)
    assert passage.embedding_error == "the test provider is down"
    assert states() == {"failed": 1}
    HashingEmbedder.failing = False
    report = services.passages_embed(passage_ids=[passage.pk])
    assert (report.embedded, report.failed) == (1, 0)
    passage.refresh_from_db()
    assert passage.embedding_error == "" and passage.embedding_failed_at is None
    assert states() == {"fresh": 1}


def test_the_task_raises_for_a_retry_when_the_provider_fails(faqs):
    from knowledge.tasks import EmbeddingFailed, embed_passages

    HashingEmbedder.failing = True
    Passage.objects.update(embedded_hash="")
    with pytest.raises(EmbeddingFailed, match="the test provider is down"):
        embed_passages.run(list(Passage.objects.values_list("id", flat=True)))


def test_fresh_passages_are_skipped_so_a_task_can_run_twice(faqs):
    ids = list(Passage.objects.values_list("id", flat=True))
    HashingEmbedder.calls.clear()
    report = services.passages_embed(passage_ids=ids)
    assert (report.embedded, report.skipped) == (0, 5)
    assert HashingEmbedder.calls == []


def test_an_edit_during_embedding_is_not_overwritten(faqs):
    """The vector is written only if the text is still the text that was embedded."""
    passage = Passage.objects.get(faq=faqs["brakes"])
    Passage.objects.filter(pk=passage.pk).update(content_hash="edited-meanwhile", embedded_hash="")
    stale = Passage.objects.get(pk=passage.pk)
    stale.content_hash = passage.content_hash  # what the slow task had read before the edit
    report = services.EmbedReport()
    from knowledge.services import _embed_batch

    _embed_batch(HashingEmbedder(), [stale], report)
    assert (report.embedded, report.skipped) == (0, 1)
    assert Passage.objects.get(pk=passage.pk).embedded_hash == ""


def test_reembed_redoes_fresh_passages(faqs, django_capture_on_commit_callbacks):
    ids = list(Passage.objects.filter(faq__in=[faqs["oil"], faqs["loaner"]]).values_list("id", flat=True))
    HashingEmbedder.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.passages_reembed(passage_ids=ids) == 2
    # Each FAQ's vector is the mean of its question's, phrasings', answer's and whole text's vectors.
    assert [len(call) for call in HashingEmbedder.calls] == [5 + 5]
    assert states() == {"fresh": 5}


def test_deactivating_hides_and_reactivating_shows(faqs):
    services.faq_set_active(faq=faqs["loaner"], active=False)
    assert Passage.objects.get(faq=faqs["loaner"]).active is False


def test_documents_are_split_and_unchanged_sections_keep_their_vectors(categories, django_capture_on_commit_callbacks):
    body = "Intro paragraph about loaners.\n\n## Who qualifies\nRepairs over three hours.\n\n## What to bring\n" \
           "A license and proof of insurance."  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_save(
            document=Document(title="Loaner policy", category=categories["loaners"], body=body)
        )
    passages = list(document.passages.order_by("position"))
    assert [p.title for p in passages] == ["Loaner policy", "Loaner policy: Who qualifies", "Loaner policy: What to bring"]
    assert passages[2].text == "A license and proof of insurance."
    embedded_at = {p.position: p.embedded_at for p in passages}

    document.body = body.replace("three hours", "two hours").replace("\n\n## What to bring\nA license and proof of insurance.", "")
    with django_capture_on_commit_callbacks(execute=True):
        services.document_save(document=document)
    after = {p.position: p for p in document.passages.all()}
    assert sorted(after) == [0, 1]
    assert after[0].embedded_at == embedded_at[0]  # untouched section: same vector
    assert after[1].embedded_at > embedded_at[1] and "two hours" in after[1].text
    assert states() == {"fresh": 2}
    assert knowledge_search("what do I need to bring for a loaner", category="loaners").hits


def test_long_sections_are_cut_between_sentences(categories):
    sentence = "Loaner cars are available for warranty repairs that take more than one day. "
    document = services.document_save(
        document=Document(title="Long", category=categories["loaners"], body=sentence * 30)
    )
    texts = [p.text for p in document.passages.all()]
    assert len(texts) > 1
    assert all(len(text) <= 700 and text.endswith("day.") for text in texts)
    assert "".join(texts).count("Loaner cars") == 30


def test_invalid_entries_are_refused_by_validation(categories):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.faq_create(question="", answer="x", category=categories["hours"])
    assert not Faq.objects.exists() and not Passage.objects.exists()


# ------------------------------------------------------------------ switching provider and reindexing


@pytest.mark.django_db(transaction=True)
def test_switching_model_is_detected_and_reindex_rebuilds(use_provider, django_capture_on_commit_callbacks):
    hours = Category.objects.create(name="Hours", slug="hours")
    for n in range(10):
        services.faq_create(question=f"Question number {n}?", answer=f"Answer {n}.", category=hours)
    assert states() == {"fresh": 10}
    assert vector_index_exists(64)

    use_provider(SMALL_HASHING)
    assert states() == {"stale": 10}
    assert knowledge_search("question number 3").mode == "hybrid"  # text still finds it meanwhile

    out, err = StringIO(), StringIO()
    call_command("reindex_knowledge", "--batch-size", "4", stdout=out, stderr=err)
    assert "Embedding with test-hashing-32 (32 dimensions)" in out.getvalue()
    assert "10 passages: 0 already fresh, 10 embedded, 0 failed" in out.getvalue()
    assert "[" + "#" * 30 + "] 10/10" in err.getvalue()
    assert err.getvalue().count("/10") == 4  # 0, 4, 8, 10
    assert states() == {"fresh": 10}
    assert set(Passage.objects.values_list("embedding_dimensions", flat=True)) == {32}
    assert vector_index_exists(32)
    assert not vector_index_exists(64), "the index of a size no longer used is dropped"
    assert f"Dropped {index_name(64)}" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index_name(32)])
        assert "hnsw" in cursor.fetchone()[0]

    out = StringIO()
    call_command("reindex_knowledge", stdout=out, stderr=StringIO())
    assert "10 passages: 10 already fresh, 0 embedded" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_reindex_stops_on_a_failing_provider_and_resumes(use_provider):
    hours = Category.objects.create(name="Hours", slug="hours")
    use_provider("none")
    for n in range(9):
        services.faq_create(question=f"Question number {n}?", answer=f"Answer {n}.", category=hours)
    use_provider("tests.knowledge.embedder.HashingEmbedder")
    assert states() == {"missing": 9}

    real_embed = HashingEmbedder.embed
    batches = []

    def fail_on_second_batch(self, texts):
        batches.append(texts)
        if len(batches) == 2:
            raise __import__("knowledge.embeddings", fromlist=["EmbeddingError"]).EmbeddingError("timed out")
        return real_embed(self, texts)

    HashingEmbedder.embed = fail_on_second_batch
    try:
        with pytest.raises(CommandError, match="timed out. Run the command again to resume"):
            call_command("reindex_knowledge", "--batch-size", "4", stdout=StringIO(), stderr=StringIO())
    finally:
        HashingEmbedder.embed = real_embed
    assert len(batches) == 2, "a failing provider stops the run"
    assert states() == {"fresh": 4, "failed": 4, "missing": 1}

    out = StringIO()
    call_command("reindex_knowledge", "--batch-size", "4", stdout=out, stderr=StringIO())
    assert "9 passages: 4 already fresh, 5 embedded, 0 failed" in out.getvalue()
    assert states() == {"fresh": 9}


@pytest.mark.django_db(transaction=True)
def test_reindex_all_redoes_everything():
    hours = Category.objects.create(name="Hours", slug="hours")
    services.faq_create(question="Open late?", answer="Until six.", category=hours)
    out = StringIO()
    call_command("reindex_knowledge", "--all", stdout=out, stderr=StringIO())
    assert "1 passages: 0 already fresh, 1 embedded" in out.getvalue()


def test_reindex_without_a_provider_says_so(use_provider):
    use_provider("none")
    with pytest.raises(CommandError, match="No embedding provider is configured"):
        call_command("reindex_knowledge", stdout=StringIO(), stderr=StringIO())


def test_embed_pending_sweep_catches_up(faqs, use_provider):
    from knowledge.tasks import embed_pending

    use_provider(SMALL_HASHING)
    assert "embedded 5" in embed_pending()
    assert states() == {"fresh": 5}
    use_provider("none")
    assert embed_pending() == "No embedding provider is configured."


def test_embedding_states_are_the_documented_four():
    assert set(EmbeddingState.values) == {"fresh", "stale", "missing", "failed"}


def test_a_category_made_by_hand_is_reused_by_name(db):
    by_hand = Category.objects.create(name="Hours and location", slug="hours-and-location")
    assert services.category_get_or_create(name="Hours and Location", slug="hours-location") == by_hand
    assert Category.objects.count() == 1
