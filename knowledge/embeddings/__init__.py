"""Embedding providers behind one small interface; ``get_embedder()`` returns the configured one."""

from knowledge.embeddings.base import Embedder, EmbeddingError
from knowledge.embeddings.registry import get_embedder, provider_name, reset_embedder

__all__ = ["Embedder", "EmbeddingError", "get_embedder", "provider_name", "reset_embedder"]
