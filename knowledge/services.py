"""Every write to the knowledge base: entries, their passages, and passage embeddings.

Saving an entry rewrites its passages in the same transaction and, once that
commits, queues a Celery task that embeds whatever changed. Embedding never
happens inside the transaction of an edit: a slow or failing provider cannot hold
up an advisor.
"""

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from crm.errors import ServiceError
from knowledge.chunking import split_document
from knowledge.embeddings import EmbeddingError, get_embedder
from knowledge.lexeme_stats import schedule_refresh
from knowledge.models import Category, Document, Faq, Passage
from knowledge.selectors import passages_needing_embedding
from knowledge.vector_index import drop_unused_vector_indexes, ensure_vector_index

logger = logging.getLogger(__name__)


class KnowledgeError(ServiceError):
    """A knowledge-base write that cannot be done."""


class NoEmbeddingProvider(KnowledgeError):
    def __init__(self):
        super().__init__("No embedding provider is configured.", code="no_embedding_provider")


# --------------------------------------------------------------------------- entries


def category_get_or_create(*, name: str, slug: str = "") -> Category:
    """The category with this slug, or else this name (staff may have made it by hand), or a new one."""
    slug = slug or slugify(name)
    existing = Category.objects.filter(slug=slug).first() or Category.objects.filter(name__iexact=name).first()
    return existing or Category.objects.create(name=name, slug=slug)


@transaction.atomic
def faq_save(*, faq: Faq) -> Faq:
    """Validate and save an FAQ entry (new or edited), rewrite its passage, embed it after commit."""
    if not faq.slug:
        faq.slug = _unique_slug(Faq, faq.question)
    faq.full_clean()
    faq.save()
    passage = Passage.objects.filter(faq=faq).first() or Passage(faq=faq)
    passage.category_id = faq.category_id
    passage.active = faq.active
    passage.title = faq.question.strip()
    passage.extra = "\n".join([*faq.phrasing_list(), ", ".join(faq.keyword_list())]).strip()
    passage.text = faq.answer.strip()
    passage.content_hash = Passage.hash_of(passage.embedding_input())
    passage.save()
    _embed_after_commit([passage])
    schedule_refresh()
    return faq


def faq_create(*, question: str, answer: str, category: Category, phrasings: Iterable[str] = (),
               keywords: Iterable[str] = (), slug: str = "", active: bool = True) -> Faq:  # fmt: skip
    faq = Faq(question=question, answer=answer, category=category, phrasings="\n".join(phrasings),
              keywords=", ".join(keywords), slug=slug, active=active)  # fmt: skip
    return faq_save(faq=faq)


@transaction.atomic
def faq_set_active(*, faq: Faq, active: bool) -> Faq:
    faq.active = active
    faq.save(update_fields=["active", "updated_at"])
    Passage.objects.filter(faq=faq).update(active=active)
    schedule_refresh()
    return faq


@transaction.atomic
def document_save(*, document: Document) -> Document:
    """Validate and save a document, re-split it into passages, embed the changed ones after commit.

    A section whose text did not change keeps its passage and its vector.
    """
    if not document.slug:
        document.slug = _unique_slug(Document, document.title)
    document.full_clean()
    document.save()
    existing = {p.position: p for p in Passage.objects.filter(document=document)}
    changed = []
    chunks = split_document(document.body)
    for position, chunk in enumerate(chunks):
        passage = existing.pop(position, None) or Passage(document=document, position=position)
        passage.category_id = document.category_id
        passage.active = document.active
        passage.title = f"{document.title}: {chunk.heading}" if chunk.heading else document.title
        passage.extra = ""
        passage.text = chunk.text
        content_hash = Passage.hash_of(passage.embedding_input())
        if content_hash != passage.content_hash:
            passage.content_hash = content_hash
            changed.append(passage)
        passage.save()
    Passage.objects.filter(pk__in=[p.pk for p in existing.values()]).delete()
    _embed_after_commit(changed)
    schedule_refresh()
    return document


@transaction.atomic
def document_set_active(*, document: Document, active: bool) -> Document:
    document.active = active
    document.save(update_fields=["active", "updated_at"])
    Passage.objects.filter(document=document).update(active=active)
    schedule_refresh()
    return document


def _unique_slug(model, text: str) -> str:
    base = slugify(text)[:90] or "entry"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _embed_after_commit(passages: list[Passage]) -> None:
    ids = [p.pk for p in passages]
    if not ids:
        return

    def enqueue():
        from knowledge.tasks import embed_passages

        try:
            embed_passages.delay(ids)
        except Exception:  # a broker outage: the passages stay "missing"/"stale" for reindex_knowledge
            logger.exception("could not queue embedding of %d passages", len(ids))

    transaction.on_commit(enqueue)


# --------------------------------------------------------------------------- embeddings


def passages_reembed(*, passage_ids: Iterable[int]) -> int:
    """Embed these passages again even if fresh (after commit, in Celery). Returns how many were queued."""
    passages = list(Passage.objects.filter(pk__in=list(passage_ids)).only("id"))
    # Marked stale first: the task skips fresh passages, and the periodic sweep finishes them if the queue is down.
    Passage.objects.filter(pk__in=[p.pk for p in passages]).update(embedded_hash="")
    _embed_after_commit(passages)
    return len(passages)


# Passages embedded and written together; the provider splits their texts into requests of its own size.
PASSAGES_PER_BATCH = 32


@dataclass
class EmbedReport:
    embedded: int = 0
    failed: int = 0
    skipped: int = 0  # already fresh, deleted meanwhile, or edited while being embedded
    error: str = ""


def passages_embed(*, passage_ids: Iterable[int], force: bool = False) -> EmbedReport:
    """Embed these passages with the configured provider (only the ones not fresh, unless ``force``).

    A provider failure is written on each passage (state "failed") and reported, not raised.
    """
    embedder = get_embedder()
    if embedder is None:
        raise NoEmbeddingProvider()
    ids = list(passage_ids)
    candidates = Passage.objects.filter(pk__in=ids) if force else passages_needing_embedding(
        embedder.model_name, embedder.dimensions
    ).filter(pk__in=ids)
    passages = list(candidates.order_by("id"))
    report = EmbedReport(skipped=len(set(ids)) - len(passages))
    for start in range(0, len(passages), PASSAGES_PER_BATCH):
        _embed_batch(embedder, passages[start : start + PASSAGES_PER_BATCH], report)
    return report


def _embed_batch(embedder, batch: list[Passage], report: EmbedReport) -> None:
    texts = [p.embedding_texts() for p in batch]
    try:
        flat = embedder.embed([text for passage_texts in texts for text in passage_texts])
    except EmbeddingError as exc:
        Passage.objects.filter(pk__in=[p.pk for p in batch]).update(
            embedding_error=str(exc)[:2000], embedding_failed_at=timezone.now()
        )
        report.failed += len(batch)
        report.error = str(exc)
        logger.warning("embedding %d passages failed: %s", len(batch), exc)
        return
    vectors, start = [], 0
    for passage_texts in texts:
        vectors.append(_unit_mean(flat[start : start + len(passage_texts)]))
        start += len(passage_texts)
    ensure_vector_index(embedder.dimensions)
    now = timezone.now()
    with transaction.atomic():
        for passage, vector in zip(batch, vectors, strict=True):
            # Written only if the text is still the one embedded: an edit meanwhile queued its own task.
            written = Passage.objects.filter(pk=passage.pk, content_hash=passage.content_hash).update(
                embedding=vector,
                embedding_model=embedder.model_name,
                embedding_dimensions=embedder.dimensions,
                embedded_hash=passage.content_hash,
                embedded_at=now,
                embedding_error="",
                embedding_failed_at=None,
            )
            report.embedded += written
            report.skipped += 1 - written


def _unit_mean(vectors: list[list[float]]) -> list[float]:
    """The normalized mean: cosine distance to it weighs each text alike."""
    mean = [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]
    norm = math.sqrt(sum(x * x for x in mean)) or 1.0
    return [x / norm for x in mean]


@dataclass
class ReindexReport(EmbedReport):
    total: int = 0
    already_fresh: int = 0
    dropped_indexes: tuple[str, ...] = ()


def knowledge_reindex(*, batch_size: int = 64, everything: bool = False,
                      on_progress: Callable[[int, int], None] | None = None) -> ReindexReport:  # fmt: skip
    """Embed every passage that is not fresh for the configured model, batch by batch.

    Each batch commits on its own, so an interrupted run resumes where it stopped
    when started again; a failing provider stops the run at the batch that failed.
    ``everything`` first marks all passages stale, which a resumed run then
    finishes too. ``on_progress(done, todo)`` follows each batch.
    """
    embedder = get_embedder()
    if embedder is None:
        raise NoEmbeddingProvider()
    if everything:
        Passage.objects.update(embedded_hash="")
    ensure_vector_index(embedder.dimensions)
    todo_ids = list(passages_needing_embedding(embedder.model_name, embedder.dimensions).values_list("id", flat=True))
    report = ReindexReport(total=Passage.objects.count())
    report.already_fresh = report.total - len(todo_ids)
    done = 0
    if on_progress:
        on_progress(0, len(todo_ids))
    for start in range(0, len(todo_ids), batch_size):
        chunk = todo_ids[start : start + batch_size]
        part = passages_embed(passage_ids=chunk)
        report.embedded += part.embedded
        report.failed += part.failed
        report.skipped += part.skipped
        report.error = part.error or report.error
        done += len(chunk)
        if on_progress:
            on_progress(done, len(todo_ids))
        if part.failed:  # the provider is failing: the next batches would too; a later run resumes here
            break
    if not report.failed:
        report.dropped_indexes = tuple(drop_unused_vector_indexes(keep=embedder.dimensions))
    return report
