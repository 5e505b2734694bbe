"""Embeddings from OpenAI, or any endpoint that speaks its embeddings API (``OPENAI_BASE_URL``)."""

import logging

import openai

from knowledge.embeddings.base import EmbeddingError

logger = logging.getLogger(__name__)

# Models that accept a ``dimensions`` argument (they are trained to be shortened).
_SHORTENABLE_PREFIX = "text-embedding-3"
# Far below the 8,192-token input limit; passages and questions are short, this only guards odd input.
MAX_INPUT_CHARS = 8000


class OpenAIEmbedder:
    batch_size = 128

    def __init__(self, *, api_key: str, model: str, dimensions: int, base_url: str | None = None,
                 timeout: float = 20.0, max_retries: int = 3):  # fmt: skip
        self.model_name = model
        self.dimensions = dimensions
        # The SDK retries connection errors, 408/409/429 and 5xx with exponential backoff.
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout,
                                     max_retries=max_retries)  # fmt: skip

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self._embed_batch(texts[start : start + self.batch_size]))
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        extra = {"dimensions": self.dimensions} if self.model_name.startswith(_SHORTENABLE_PREFIX) else {}
        try:
            response = self._client.embeddings.create(
                model=self.model_name, input=[text[:MAX_INPUT_CHARS] or " " for text in texts], **extra
            )
        except openai.APIStatusError as exc:
            raise EmbeddingError(f"the embeddings endpoint answered {exc.status_code}: {exc.message}") from exc
        except openai.APIError as exc:  # connection errors and timeouts, after the SDK's retries
            raise EmbeddingError(f"the embeddings endpoint could not be reached: {exc}") from exc
        ordered = sorted(response.data, key=lambda item: item.index)
        if len(ordered) != len(texts):
            raise EmbeddingError(f"asked for {len(texts)} embeddings, got {len(ordered)}")
        for item in ordered:
            if len(item.embedding) != self.dimensions:
                raise EmbeddingError(
                    f"{self.model_name} returned {len(item.embedding)} dimensions, {self.dimensions} are configured "
                    f"(set OPENAI_EMBEDDING_DIMENSIONS={len(item.embedding)})"
                )
        return [list(item.embedding) for item in ordered]
