"""Passages for a question: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank."""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from .chunking import Chunk
from .corpus import Document
from .lexical import BM25Index
from .settings import Settings
from .store import IndexStore
from .types import Passage


def query_text(question: str, history: list[str] | None, turns: int) -> str:
    """The text to search with: a follow-up carries the earlier turns it may refer to."""
    if not history or turns <= 0:
        return question
    return " ".join([*history[-turns:], question])


Key = TypeVar("Key", bound=Hashable)


def fuse_rankings(rankings: Iterable[tuple[Mapping[Key, tuple[int, float]], float]], rrf_k: int) -> dict[Key, float]:
    """Weighted reciprocal-rank fusion of (ranking, weight) pairs, each ranking key -> (rank, score): the one
    passage score every store ranks by, so FAISS and Milvus (client-side fusion) agree to the last bit."""
    fused: dict[Key, float] = {}
    for ranking, weight in rankings:
        for key, (rank, _) in ranking.items():
            fused[key] = fused.get(key, 0.0) + weight / (rrf_k + rank + 1)
    return fused


def make_passages(
    ranked: Sequence[tuple[Key, Chunk]],
    documents: Mapping[str, Document],
    fused: Mapping[Key, float],
    dense: Mapping[Key, tuple[int, float]],
    lexical: Mapping[Key, tuple[int, float]],
) -> list[Passage]:
    """Passages in rank order, each with its fused score and (when it was in that list) its dense and BM25 score."""
    return [
        Passage(
            chunk.chunk_id,
            chunk.doc_id,
            documents[chunk.doc_id].title,
            chunk.start,
            chunk.end,
            chunk.text,
            fused[key],
            dense[key][1] if key in dense else None,
            lexical[key][1] if key in lexical else None,
            rank + 1,
            chunk.kind,
        )
        for rank, (key, chunk) in enumerate(ranked)
    ]


class Retriever:
    def __init__(self, store: IndexStore, documents: Mapping[str, Document], settings: Settings) -> None:
        self.store = store
        self.documents = documents
        self.settings = settings
        self.bm25 = BM25Index([c.embed_text for c in store.chunks])

    def search(
        self,
        query: str,
        query_vector: np.ndarray | None,
        top_k: int,
        mode: str | None = None,
        timings: dict | None = None,
    ) -> list[Passage]:
        mode = mode or self.settings.retrieval_mode
        n = len(self.store.chunks)
        if n == 0:
            return []
        k = min(max(self.settings.candidate_k, top_k), n)
        dense: dict[int, tuple[int, float]] = {}
        lexical: dict[int, tuple[int, float]] = {}
        t0 = time.perf_counter()
        if mode in ("hybrid", "dense") and query_vector is not None:
            scores, rows = self.store.faiss_index.search(query_vector.reshape(1, -1), k)
            dense = {int(r): (rank, float(s)) for rank, (r, s) in enumerate(zip(rows[0], scores[0])) if r >= 0}
        t1 = time.perf_counter()
        if mode in ("hybrid", "bm25"):
            lexical = {row: (rank, score) for rank, (row, score) in enumerate(self.bm25.search(query, k))}
        t2 = time.perf_counter()
        fused = fuse_rankings(
            ((dense, self.settings.dense_weight), (lexical, self.settings.bm25_weight)), self.settings.rrf_k
        )
        if not fused and mode == "bm25" and query_vector is not None:
            # No query word is in the corpus: fall back to dense so "closest passages" still exist.
            return self.search(query, query_vector, top_k, "dense", timings)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:top_k]
        passages = make_passages([(row, self.store.chunks[row]) for row in best], self.documents, fused, dense, lexical)
        if timings is not None:
            timings["dense_search"] = (t1 - t0) * 1000
            timings["bm25"] = (t2 - t1) * 1000
            timings["fusion"] = (time.perf_counter() - t2) * 1000
        return passages
