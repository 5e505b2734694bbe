"""Question embeddings, cached in Redis under the normalized question, so a repeated question costs no API call."""

import hashlib
import logging
from array import array

from django.conf import settings
from django.core.cache import cache

from knowledge.embeddings import Embedder

logger = logging.getLogger(__name__)


def cache_key(embedder: Embedder, normalized_question: str) -> str:
    digest = hashlib.sha256(normalized_question.encode()).hexdigest()
    return f"knowledge:question-vector:{embedder.model_name}:{embedder.dimensions}:{digest}"


def embed_question(embedder: Embedder, normalized_question: str) -> list[float]:
    """The question's vector, from the cache or the provider. Raises EmbeddingError."""
    key = cache_key(embedder, normalized_question)
    try:
        packed = cache.get(key)
    except Exception:  # a Redis outage costs an embedding, never the search
        logger.warning("question-vector cache unavailable", exc_info=True)
        packed = None
    if packed is not None:
        return array("f", packed).tolist()
    vector = embedder.embed([normalized_question])[0]
    try:
        cache.set(key, array("f", vector).tobytes(), timeout=settings.KNOWLEDGE_QUERY_CACHE_SECONDS)
    except Exception:
        logger.warning("question-vector cache unavailable", exc_info=True)
    return vector
