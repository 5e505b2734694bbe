"""Small deterministic embedders for tests (the real providers run in the benchmarks).

Vectors are hashed bags of words and word trigrams, so similar wording gives
similar vectors and the tests can reason about which passage is nearest.
"""

import hashlib
import math
import re

from knowledge.embeddings import EmbeddingError


class HashingEmbedder:
    model_name = "test-hashing-64"
    dimensions = 64
    batch_size = 4
    calls: list[list[str]] = []  # every embed() call, shared by the class so tests can count them
    failing = False  # set to make every call fail, like a provider outage

    def embed(self, texts: list[str]) -> list[list[float]]:
        type(self).calls.append(list(texts))
        if type(self).failing:
            raise EmbeddingError("the test provider is down")
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        words = re.findall(r"\w+", text.lower())
        features = words + [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        for feature in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % self.dimensions] += 1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]


class SmallHashingEmbedder(HashingEmbedder):
    """Another "model" with other dimensions, for switching providers."""

    model_name = "test-hashing-32"
    dimensions = 32
