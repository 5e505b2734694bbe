"""Deterministic embedding vectors for the fake OpenAI.

A hashed bag of lowercase words plus character trigrams, L2-normalised: texts
that share words get a high cosine similarity, identical texts get identical
vectors in every process (blake2b, not Python's randomised hash()), so search
and ranking code can be tested with meaningful expectations.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct

_WORD = re.compile(r"\w+", re.UNICODE)
WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.5


def _features(text: str) -> list[tuple[str, float]]:
    lowered = text.lower()
    words = _WORD.findall(lowered)
    features = [("w:" + word, WORD_WEIGHT) for word in words]
    for word in words:
        padded = f" {word} "
        features.extend(("t:" + padded[i : i + 3], TRIGRAM_WEIGHT) for i in range(len(padded) - 2))
    return features


def embed(text: str, dimensions: int) -> list[float]:
    """A unit vector of `dimensions` floats for `text` (a fixed unit axis if it has no words)."""
    vector = [0.0] * dimensions
    for feature, weight in _features(text):
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        vector[index] += weight if digest[4] & 1 else -weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def to_base64(vector: list[float]) -> str:
    """encoding_format=base64: little-endian float32 bytes, base64-encoded (what the SDK decodes)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))
