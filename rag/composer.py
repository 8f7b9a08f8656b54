"""The extractive answer: pick the sentences that answer, cite them, or abstain.

Each candidate sentence (from the retrieved passages) is scored by semantic similarity to the
question, IDF-weighted word coverage, and whether it holds the kind of phrase the question asks
for (a date for "when", a place for "where", ...). A logistic model over the best sentence's
features gives the confidence; below the threshold the answer abstains.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .chunking import Sentence
from .corpus import Document
from .question import Question, has_answer_type
from .settings import Settings
from .store import IndexStore
from .text_analysis import terms
from .types import NOT_ANSWERED, Answer, Citation, Passage

# A sentence that opens like this leans on the one before it.
_DEPENDENT_START = re.compile(
    r"^[\"“]?(?:He|She|It|They|This|That|These|Those|His|Her|Its|Their|Them|There|Such|But|However|Also|"
    r"Meanwhile|Still|Yet|Instead|Moreover|Furthermore|In addition|As a result|Then|The two|Both)\b")

OVERLAP_WEIGHT = 0.35
TYPE_WEIGHT = 0.12


class SentenceTable:
    """Per-sentence terms and corpus IDF, computed once per index."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        self.terms: dict[tuple[str, int], frozenset[str]] = {
            key: frozenset(terms(s.embed_text if s.kind == "metadata" else s.text)) for key, s in store.sentences.items()
        }
        df = Counter(t for ts in self.terms.values() for t in ts)
        self.n = max(1, len(self.terms))
        self.idf = {t: math.log((self.n + 1) / (c + 0.5)) for t, c in df.items()}
        self.unseen_idf = math.log((self.n + 1) / 0.5)

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen_idf)


@dataclass
class Candidate:
    sentence: Sentence
    chunk_id: str
    cosine: float
    coverage: float
    type_match: float
    score: float = 0.0


def _coverage(q_terms: list[str], table: SentenceTable, sentence: Sentence) -> float:
    if not q_terms:
        return 0.0
    own = table.terms.get((sentence.doc_id, sentence.index), frozenset())
    near = table.terms.get((sentence.doc_id, sentence.index - 1), frozenset()) | \
        table.terms.get((sentence.doc_id, sentence.index + 1), frozenset())
    total = sum(table.weight(t) for t in q_terms)
    got = sum(table.weight(t) * (1.0 if t in own else 0.4 if t in near else 0.0) for t in q_terms)
    return got / total if total else 0.0


def features_of(best: Candidate | None, missing_rare: float) -> dict[str, float]:
    if best is None:
        return {"bias": 1.0, "cosine": 0.0, "coverage": 0.0, "type_match": -1.0, "missing_rare": missing_rare}
    return {"bias": 1.0, "cosine": best.cosine, "coverage": best.coverage, "type_match": best.type_match,
            "missing_rare": missing_rare}


def confidence_from(features: dict[str, float], weights) -> float:
    z = sum(w * features.get(name, 0.0) for name, w in weights)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def score_candidates(question: Question, query_vector: np.ndarray, passages: list[Passage], store: IndexStore,
                     table: SentenceTable, settings: Settings) -> tuple[list[Candidate], float]:
    """Candidates best first, and the share of the question's IDF mass absent from the whole corpus."""
    q_terms = list(dict.fromkeys(terms(question.text)))
    total = sum(table.weight(t) for t in q_terms)
    missing = sum(table.weight(t) for t in q_terms if t not in table.idf)
    missing_rare = missing / total if total else 0.0
    chunk_by_id = {c.chunk_id: c for c in store.chunks}
    seen: set[tuple[str, int]] = set()
    cands: list[Candidate] = []
    keys, owners = [], []
    for p in passages:
        chunk = chunk_by_id[p.chunk_id]
        for idx in range(chunk.first_sentence, chunk.last_sentence + 1):
            key = (chunk.doc_id, idx)
            if key in seen:
                continue
            seen.add(key)
            keys.append(key)
            owners.append(p.chunk_id)
    if not keys:
        return [], missing_rare
    rows = np.concatenate([store.sentence_vector_rows(d, [i]) for d, i in keys])
    cosines = store.sentence_vectors[rows] @ query_vector
    use_types = settings.use_answer_type_cues and question.expected_type is not None
    for key, owner, cos in zip(keys, owners, cosines):
        s = store.sentences[key]
        if use_types:
            type_match = 1.0 if has_answer_type(s.text, question.text, question.expected_type) else -1.0
        else:
            type_match = 0.0
        c = Candidate(s, owner, float(cos), _coverage(q_terms, table, s), type_match)
        c.score = c.cosine + OVERLAP_WEIGHT * c.coverage + TYPE_WEIGHT * c.type_match
        cands.append(c)
    cands.sort(key=lambda c: (-c.score, c.sentence.doc_id, c.sentence.index))
    return cands, missing_rare


def _select(cands: list[Candidate], store: IndexStore, settings: Settings) -> list[Candidate]:
    """The best sentence, near-ties of the same kind, and the sentence any of them leans on."""
    best = cands[0]
    limit = settings.max_answer_sentences
    close = [c for c in cands[1:] if c.score >= best.score - settings.extra_sentence_margin
             and c.sentence.kind == best.sentence.kind]
    by_key = {(c.sentence.doc_id, c.sentence.index): c for c in cands}
    chosen: dict[tuple[str, int], Candidate] = {}
    for c in [best, *close]:
        group = [c]
        s = c.sentence
        prev = store.sentences.get((s.doc_id, s.index - 1))
        if s.kind == "body" and prev is not None and prev.kind == "body" and _DEPENDENT_START.match(s.text):
            group.insert(0, by_key.get((prev.doc_id, prev.index)) or Candidate(prev, c.chunk_id, 0.0, 0.0, 0.0))
        group = [g for g in group if (g.sentence.doc_id, g.sentence.index) not in chosen]
        if chosen and len(chosen) + len(group) > limit:
            break
        for g in group[-limit:] if not chosen else group:
            chosen[(g.sentence.doc_id, g.sentence.index)] = g
    return sorted(chosen.values(), key=lambda c: (c.sentence.doc_id, c.sentence.index))


def _citation(number: int, c: Candidate, documents: Mapping[str, Document]) -> Citation:
    s = c.sentence
    return Citation(number, s.doc_id, documents[s.doc_id].title, c.chunk_id, s.start, s.end,
                    documents[s.doc_id].text[s.start:s.end], f"{s.doc_id}#char={s.start},{s.end}", s.kind,
                    round(c.score, 4))


def compose(question: Question, query_vector: np.ndarray, passages: list[Passage], store: IndexStore,
            table: SentenceTable, documents: Mapping[str, Document], settings: Settings) -> Answer:
    cands, missing_rare = score_candidates(question, query_vector, passages, store, table, settings)
    feats = features_of(cands[0] if cands else None, missing_rare)
    confidence = confidence_from(feats, settings.confidence_weights)
    if not cands or confidence < settings.abstain_threshold:
        related = [_citation(i + 1, c, documents) for i, c in enumerate(cands[:3])]
        return Answer(question.text, NOT_ANSWERED + " The closest passages are shown as related, not as an answer.",
                      False, confidence, [], passages, related, question.kind)
    chosen = _select(cands, store, settings)
    citations = [_citation(i + 1, c, documents) for i, c in enumerate(chosen)]
    text = " ".join(f"{c.quote} [{c.number}]" for c in citations)
    return Answer(question.text, text, True, confidence, citations, passages, [], question.kind)
