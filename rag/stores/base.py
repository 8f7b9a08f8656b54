"""The small interface the retriever and composer read the index through.

`rag.store.IndexStore` (FAISS + bm25s, in memory) and `rag.stores.milvus_store.MilvusStore` both
satisfy it; the composer needs only these lookups, never the whole table at once (except the
sentence-term statistics, see `SentenceTable`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from ..chunking import Chunk, Sentence


class PassageStore(Protocol):
    """Read side of an index: chunk and sentence lookups by id, and the sentences' vectors."""

    @property
    def manifest(self) -> dict:
        """What was built: store, model, settings fingerprint, counts, documents."""
        ...

    @property
    def chunk_by_id(self) -> Mapping[str, Chunk]:
        """Chunks by `chunk_id` (the retriever's passages name them)."""
        ...

    @property
    def sentences(self) -> Mapping[tuple[str, int], Sentence]:
        """Sentences by (doc_id, index); `.get` answers None for a missing neighbour."""
        ...

    def sentence_vectors_for(self, keys: Sequence[tuple[str, int]]) -> np.ndarray:
        """The embedding of each (doc_id, index), one row per key, in order."""
        ...
