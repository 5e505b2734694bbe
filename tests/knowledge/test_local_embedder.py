"""The local (CPU, offline) provider: its size is read from the model's files; embedding needs the extra."""

import json

import pytest

from knowledge.embeddings import EmbeddingError
from knowledge.embeddings.local import LocalEmbedder, _declared_dimensions, is_installed


def write_model(path, modules):
    (path / "modules.json").write_text(json.dumps(modules))
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 384}))


def test_the_size_is_read_without_loading_the_model(tmp_path):
    write_model(tmp_path, [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])  # fmt: skip
    assert _declared_dimensions(str(tmp_path)) == 384


def test_a_layer_that_may_change_the_size_means_asking_the_model(tmp_path):
    write_model(tmp_path, [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ])  # fmt: skip
    assert _declared_dimensions(str(tmp_path)) is None
    assert _declared_dimensions(str(tmp_path / "missing")) is None


def test_a_broken_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingError, match="could not be loaded"):
        LocalEmbedder(model_path=str(tmp_path))


@pytest.mark.skipif(not is_installed(), reason="the local-embeddings extra is not installed")
def test_the_bundled_model_embeds_offline():
    embedder = LocalEmbedder()
    assert (embedder.model_name, embedder.dimensions) == ("all-MiniLM-L6-v2", 384)
    loaner, courtesy, oil = embedder.embed(["Do you have loaner cars?", "courtesy car while mine is fixed",
                                            "price of a synthetic oil change"])  # fmt: skip
    assert abs(sum(x * x for x in loaner) - 1) < 1e-4

    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b))

    assert cosine(loaner, courtesy) > cosine(loaner, oil)
