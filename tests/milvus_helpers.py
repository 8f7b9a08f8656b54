"""A model-free embedder for the Milvus tests (fast, deterministic), importable by their subprocesses too."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from rag.text_analysis import terms


class HashEmbedder:
    """Bag of stemmed words hashed into 64 dimensions, unit length: similar texts get similar vectors."""

    model_name = "hash-embedder-test"
    dimension = 64

    def encode(self, texts: Sequence[str] | str, show_progress: bool = False) -> np.ndarray:
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        out = np.zeros((len(items), self.dimension), np.float32)
        for row, text in enumerate(items):
            for t in terms(str(text)) or ["\x00"]:
                out[row, zlib.crc32(t.encode()) % self.dimension] += 1.0
            low = str(text).lower()
            for i in range(len(low) - 2):  # character trigrams: no two texts tie at cosine 0
                out[row, zlib.crc32(low[i : i + 3].encode()) % self.dimension] += 0.05
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out[0] if single else out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
