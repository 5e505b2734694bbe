"""Reads of the knowledge base: the search the agent and the admin use, and embedding coverage."""

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Case, CharField, Count, F, Q, Value, When

from knowledge import search
from knowledge.embeddings import EmbeddingError, get_embedder, provider_name
from knowledge.models import EmbeddingState, Passage
from knowledge.query_embeddings import embed_question

logger = logging.getLogger(__name__)

HYBRID = "hybrid"  # vector + full text
TEXT_ONLY = "text"  # full text + trigram similarity, no vectors
# Weights in the fusion. Callers paraphrase more than they repeat an entry's words, so in
# hybrid mode meaning leads and full text adds a half vote (bench/knowledge_quality.py).
HYBRID_METHODS = {search.VECTOR: 1.0, search.FULLTEXT: 0.5}
TEXT_METHODS = {search.FULLTEXT: 1.0, search.TRIGRAM: 1.0}
MAX_K = 20


@dataclass(frozen=True)
class SearchResult:
    question: str
    mode: str  # HYBRID or TEXT_ONLY
    hits: list[search.Hit]
    model: str = ""  # the embedding model used for the question, if any
    notes: list[str] = field(default_factory=list)  # why the search ran as it did, in plain words

    @property
    def best(self) -> search.Hit | None:
        return self.hits[0] if self.hits else None


def knowledge_search(question: str, *, k: int = 3, category: str | None = None) -> SearchResult:
    """The ``k`` passages that best answer ``question``, active only, optionally of one category.

    Never raises on odd input: an empty or absurd question gives no hits. Without an
    embedding provider, or when it fails, the search runs on text alone and says so.
    """
    normalized = search.normalize_question(question)
    k = max(1, min(int(k), MAX_K))
    if not normalized:
        return SearchResult(question=question, mode=TEXT_ONLY, hits=[], notes=["The question is empty."])

    notes, vector, model = [], None, ""
    try:
        embedder = get_embedder()
    except (EmbeddingError, ImproperlyConfigured) as exc:
        embedder = None
        notes.append(f"The embedding provider is unavailable ({exc}); searched by text only.")
    if embedder is None and not notes:
        notes.append("No embedding provider is configured: searched by full text and trigram similarity only.")
    if embedder is not None:
        try:
            vector = embed_question(embedder, normalized)
            model = embedder.model_name
        except EmbeddingError as exc:
            logger.warning("question embedding failed, searching by text only: %s", exc)
            notes.append(f"The embedding provider failed ({exc}); searched by text only.")

    if vector is None:
        hits = search.run(normalized, vector=None, k=k, category=category, methods=TEXT_METHODS)
        return SearchResult(question=question, mode=TEXT_ONLY, hits=hits, notes=notes)
    hits = search.run(normalized, vector=vector, model_name=model, k=k, category=category, methods=HYBRID_METHODS)
    return SearchResult(question=question, mode=HYBRID, hits=hits, model=model, notes=notes)


def configured_model() -> tuple[str, int | None, str]:
    """(model name, dimensions, error) of the configured embedder; ("", None, ...) without one."""
    try:
        embedder = get_embedder()
    except (EmbeddingError, ImproperlyConfigured) as exc:
        return "", None, str(exc)
    if embedder is None:
        return "", None, ""
    return embedder.model_name, embedder.dimensions, ""


def embedding_state(model: str, dimensions: int | None, prefix: str = "") -> Case:
    """A passage's EmbeddingState against the configured model, as SQL (``prefix`` reaches it through a relation).

    fresh: embedded from its current text by this model at this size; failed: the last
    attempt failed; stale: embedded, but from older text or by another model; missing: never.
    """

    def field(name):
        return f"{prefix}{name}"

    fresh = Q(
        **{
            field("embedding__isnull"): False,
            field("embedding_model"): model,
            field("embedding_dimensions"): dimensions,
            field("embedded_hash"): F(field("content_hash")),
        }
    )
    return Case(
        When(fresh, then=Value(EmbeddingState.FRESH.value)),
        When(~Q(**{field("embedding_error"): ""}), then=Value(EmbeddingState.FAILED.value)),
        When(Q(**{field("embedding__isnull"): False}), then=Value(EmbeddingState.STALE.value)),
        default=Value(EmbeddingState.MISSING.value),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class EmbeddingCoverage:
    provider: str  # openai, local, none or a dotted path
    model: str  # empty without a provider
    dimensions: int | None
    counts: dict[str, int]  # EmbeddingState value -> number of passages
    error: str = ""  # why the provider could not be built

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def not_fresh(self) -> int:
        return self.total - self.counts[EmbeddingState.FRESH]


def embedding_coverage() -> EmbeddingCoverage:
    """How many passages are fresh, stale, missing or failed for the configured model."""
    model, dims, error = configured_model()
    counts = dict.fromkeys(EmbeddingState.values, 0)
    rows = Passage.objects.annotate(state=embedding_state(model, dims)).values("state").annotate(n=Count("id"))
    counts.update({row["state"]: row["n"] for row in rows})
    return EmbeddingCoverage(provider=provider_name(), model=model, dimensions=dims, counts=counts, error=error)


def passages_needing_embedding(model: str, dimensions: int):
    """Passages that are not fresh for ``model`` at ``dimensions``, oldest first."""
    return (
        Passage.objects.annotate(state=embedding_state(model, dimensions))
        .exclude(state=EmbeddingState.FRESH)
        .order_by("id")
    )
