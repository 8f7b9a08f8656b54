"""Passages from Milvus: dense and BM25 search, fused by Milvus's own ranker.

Today's fusion (rag/retrieval.py) is weighted reciprocal rank: dense_weight/(k+rank) + bm25_weight/(k+rank).
Milvus's RRFRanker has no weights, so `Settings.milvus_ranker="rrf"` (the default) sends each ranking as
many times as its weight's share (0.5 : 1 → the dense request once, the BM25 request twice): the fused
score is then today's times a constant, so the order is the same. "weighted" uses WeightedRanker
(normalised scores, not ranks: a different order); "client" runs the two searches and fuses here,
keeping each list's own score for display.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from ..corpus import Document
from ..retrieval import fuse_rankings, make_passages
from ..settings import Settings
from ..types import Passage
from .milvus_store import CHUNK_FIELDS, MilvusStore, bm25_text


def request_multiplicity(dense_weight: float, bm25_weight: float) -> tuple[int, int, float]:
    """(dense copies, bm25 copies, scale): small integers in the weights' ratio; fused / scale = today's score."""
    if dense_weight <= 0 or bm25_weight <= 0:
        return (1 if dense_weight > 0 else 0), (1 if bm25_weight > 0 else 0), 1.0
    ratio = Fraction(dense_weight / bm25_weight).limit_denominator(8)
    a, b = ratio.numerator, ratio.denominator
    return a, b, a / dense_weight


class MilvusRetriever:
    """Same contract as `rag.retrieval.Retriever.search`, answered by Milvus."""

    def __init__(self, store: MilvusStore, documents: Mapping[str, Document], settings: Settings) -> None:
        self.store = store
        self.documents = documents
        self.settings = settings

    def _request(self, query: str, vector: np.ndarray | None, field: str, k: int):
        from pymilvus import AnnSearchRequest

        if field == "vector":
            assert vector is not None
            return AnnSearchRequest([vector.tolist()], "vector", {"params": self.store.search_params}, k)
        return AnnSearchRequest([query], "sparse", {}, k)

    def _hits(self, query: str, vector: np.ndarray | None, field: str, k: int) -> list[dict]:
        data = [vector.tolist()] if field == "vector" and vector is not None else [query]
        params = {"params": self.store.search_params} if field == "vector" else {}
        res = self.store.client.search(
            self.store.names["chunks"],
            data=data,
            anns_field=field,
            limit=k,
            search_params=params,
            output_fields=CHUNK_FIELDS,
        )
        return list(res[0]) if res else []

    def search(
        self,
        query: str,
        query_vector: np.ndarray | None,
        top_k: int,
        mode: str | None = None,
        timings: dict | None = None,
    ) -> list[Passage]:
        mode = mode or self.settings.retrieval_mode
        n = int(self.store.manifest.get("counts", {}).get("chunks", 0))
        if n == 0:
            return []
        k = min(max(self.settings.candidate_k, top_k), n)
        lexical_query = bm25_text(query)
        use_dense = mode in ("hybrid", "dense") and query_vector is not None
        use_bm25 = mode in ("hybrid", "bm25") and bool(lexical_query)
        t0 = time.perf_counter()
        dense: dict[str, tuple[int, float]] = {}
        lexical: dict[str, tuple[int, float]] = {}
        fused: dict[str, float] = {}
        rows: dict[str, dict] = {}
        ranker = self.settings.milvus_ranker
        if use_dense and use_bm25 and ranker != "client":
            fused = self._hybrid(lexical_query, query_vector, k, ranker, rows)
        else:
            for on, field, ranking in ((use_dense, "vector", dense), (use_bm25, "sparse", lexical)):
                if not on:
                    continue
                for rank, hit in enumerate(self._hits(lexical_query, query_vector, field, k)):
                    rows[hit["pk"]] = hit["entity"]
                    ranking[hit["pk"]] = (rank, abs(float(hit["distance"])))
            fused = fuse_rankings(
                ((dense, self.settings.dense_weight), (lexical, self.settings.bm25_weight)), self.settings.rrf_k
            )
        t1 = time.perf_counter()
        if not fused and mode == "bm25" and query_vector is not None:
            # No query word is in the corpus: fall back to dense so "closest passages" still exist.
            return self.search(query, query_vector, top_k, "dense", timings)
        # ties in the order the FAISS store breaks them: document order, then chunk order
        best = sorted(fused, key=lambda p: (-round(fused[p], 7), rows[p]["doc_id"], int(rows[p]["seq"])))[:top_k]
        chunks = [self.store.chunk_from_row({**rows[p], "pk": p}) for p in best]
        self.store.remember_chunks(chunks)
        # the composer reads each chunk's sentences and their neighbours: one round trip for all of them
        keys = [(ch.doc_id, i) for ch in chunks for i in range(ch.first_sentence, ch.last_sentence + 1)]
        self.store.fetch_sentences(keys, around=1)
        passages = make_passages(list(zip(best, chunks)), self.documents, fused, dense, lexical)
        if timings is not None:
            timings["dense_search"] = (t1 - t0) * 1000  # one hybrid round trip covers both
            timings["bm25"] = 0.0
            timings["fusion"] = (time.perf_counter() - t1) * 1000
        return passages

    def _hybrid(self, query: str, vector: np.ndarray | None, k: int, ranker: str, rows: dict) -> dict[str, float]:
        """One hybrid_search round trip ranked by Milvus; scores rescaled to today's fused scale."""
        from pymilvus import RRFRanker, WeightedRanker

        if ranker == "weighted":
            reqs = [self._request(query, vector, "vector", k), self._request(query, vector, "sparse", k)]
            rank_by = WeightedRanker(self.settings.dense_weight, self.settings.bm25_weight)
            scale = 1.0
        else:
            a, b, scale = request_multiplicity(self.settings.dense_weight, self.settings.bm25_weight)
            reqs = [self._request(query, vector, "vector", k) for _ in range(a)]
            reqs += [self._request(query, vector, "sparse", k) for _ in range(b)]
            rank_by = RRFRanker(self.settings.rrf_k)
        res = self.store.client.hybrid_search(
            self.store.names["chunks"], reqs, rank_by, limit=k, output_fields=CHUNK_FIELDS
        )
        fused: dict[str, float] = {}
        for hit in res[0] if res else []:
            rows[hit["pk"]] = hit["entity"]
            fused[hit["pk"]] = float(hit["distance"]) / scale
        return fused
