"""Which embedding provider is configured, built once per process.

``KNOWLEDGE_EMBEDDING_PROVIDER``:
- ``auto`` (default): OpenAI when ``OPENAI_API_KEY`` is set, else the local model when
  its extra is installed, else none;
- ``openai``, ``local``, ``none``;
- or a dotted path to a class with the ``Embedder`` interface, built with no arguments.
With none, search runs on full text and trigram similarity only.
"""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from knowledge.embeddings import local
from knowledge.embeddings.base import Embedder

NONE = "none"
_lock = threading.Lock()
_built: dict[tuple, Embedder | None] = {}


def provider_name() -> str:
    """The provider in effect: openai, local, none, or the configured dotted path."""
    chosen = settings.KNOWLEDGE_EMBEDDING_PROVIDER
    if chosen != "auto":
        return chosen
    if settings.OPENAI_API_KEY:
        return "openai"
    if local.is_installed():
        return "local"
    return NONE


def _config_key() -> tuple:
    return (
        provider_name(),
        settings.OPENAI_API_KEY,
        settings.OPENAI_BASE_URL,
        settings.OPENAI_EMBEDDING_MODEL,
        settings.OPENAI_EMBEDDING_DIMENSIONS,
        settings.KNOWLEDGE_LOCAL_MODEL_PATH,
    )


def get_embedder() -> Embedder | None:
    """The configured embedder, or None when search should run without vectors."""
    key = _config_key()
    with _lock:
        if key not in _built:
            _built[key] = _build(key[0])
        return _built[key]


def reset_embedder() -> None:
    with _lock:
        _built.clear()


def _build(name: str) -> Embedder | None:
    if name == NONE:
        return None
    if name == "openai":
        from knowledge.embeddings.openai import OpenAIEmbedder

        if not settings.OPENAI_API_KEY:
            raise ImproperlyConfigured("KNOWLEDGE_EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY")
        return OpenAIEmbedder(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            model=settings.OPENAI_EMBEDDING_MODEL,
            dimensions=settings.OPENAI_EMBEDDING_DIMENSIONS,
        )
    if name == "local":
        return local.LocalEmbedder(model_path=settings.KNOWLEDGE_LOCAL_MODEL_PATH)
    if "." in name:
        embedder = import_string(name)()
        if not isinstance(embedder, Embedder):
            raise ImproperlyConfigured(f"{name} does not offer model_name, dimensions, batch_size and embed()")
        return embedder
    raise ImproperlyConfigured(f"unknown KNOWLEDGE_EMBEDDING_PROVIDER {name!r}: use auto, openai, local or none")
