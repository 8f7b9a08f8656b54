"""BM25 over chunk texts, via bm25s (sparse-matrix scoring, no Python loop over documents)."""

from __future__ import annotations

import logging

import numpy as np

from .text_analysis import terms


class BM25Index:
    def __init__(self, texts: list[str]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        corpus_terms = [terms(t) or ["\x00empty"] for t in texts]
        self.vocabulary = {t for ts in corpus_terms for t in ts}
        if texts:
            self._bm25.index(corpus_terms, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(row, score) pairs, best first, score > 0 only."""
        q = [t for t in terms(query) if t in self.vocabulary]
        if not q or not self.size:
            return []
        scores = self._bm25.get_scores(q)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
