"""What every embedding provider offers."""

from typing import Protocol, runtime_checkable


class EmbeddingError(Exception):
    """The provider could not embed the texts (outage, bad key, bad response)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors of a fixed size.

    ``model_name`` and ``dimensions`` are stored with every passage vector, so a
    change of either marks old vectors stale.
    """

    model_name: str
    dimensions: int
    # How many texts one request carries; embed() splits longer lists itself.
    batch_size: int

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order. Raises EmbeddingError."""
        ...
