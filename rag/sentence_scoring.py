"""Cheap sentence scoring: which sentences of the retrieved passages are worth a closer look.

Each candidate sentence is scored by cosine similarity to the question, IDF-weighted word coverage,
and whether it holds the kind of phrase the question asks for (a date for "when", a place for
"where", ...). The answer model re-ranks the best few (rag/composer.py); without it (the baseline,
`Settings(answer_model=None)`) a hand-fitted logistic model over these signals gives the confidence.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .chunking import Sentence
from .corpus import Document
from .question import Question, has_answer_type
from .settings import Settings
from .stores.base import PassageStore
from .text_analysis import terms
from .types import Passage

OVERLAP_WEIGHT = 0.5
TYPE_WEIGHT = 0.12
# Titles, datelines and metadata lines answer questions about the document itself, rarely others.
DOCUMENT_QUESTION = re.compile(
    r"\b(?:article|story|piece|document|report|write|wrote|written|writer|author|reporter|journalist|byline|"
    r"publish\w*|publication|outlet|newspaper|paper|headline|title|link|url|web ?address|section|e-?mail|updated?|"
    r"posted|source|date[ds]?)\b",
    re.I,
)
# Parts of a piece other than its text. "Who took the photos for this article?" is about the document, but
# when the documents never mention photos, its byline does not answer it.
DOCUMENT_PART = re.compile(
    r"\b(?:photo\w*|picture\w*|image\w*|illustrat\w*|caption\w*|video\w*|graphic\w*|chart\w*|"
    r"edit(?:s|ed|or|ors|ing)?|translat\w*|interview\w*|podcast\w*|audio|comments?)\b",
    re.I,
)
TITLE_TERM_FACTOR = 0.3
# Which metadata field answers a question about the document, by question kind.
METADATA_FOR_KIND = {
    "who": ("author", "byline"),
    "when": ("published", "updated", "date"),
    "where": ("publisher", "url", "section"),
    "what": ("title",),
}
METADATA_AFFINITY = 0.15
# A question that names a field ("who is the publisher?") asks for that field, whatever its question word.
METADATA_NAMED = {
    "author": re.compile(r"\b(?:author|writer)\b", re.I),
    "publisher": re.compile(r"\b(?:publisher|outlet|newspaper)\b", re.I),
    "section": re.compile(r"\bsection\b", re.I),
    "url": re.compile(r"\b(?:url|web ?address)\b", re.I),  # not "link": "the link between …"
    "title": re.compile(r"\b(?:title|headline)\b", re.I),
    "updated": re.compile(r"\b(?:updated|last update)\b", re.I),
}
KIND_PENALTY = {"heading": 0.15, "metadata": 0.2}


class SentenceTable:
    """Per-sentence terms, corpus IDF and each document's title terms, computed once per index."""

    def __init__(self, store: PassageStore, documents: Mapping[str, Document]) -> None:
        # Title words name the document, not a sentence in it: they count less when picking sentences.
        self.title_terms = {d: frozenset(terms(doc.title)) for d, doc in documents.items()}
        self.terms: Mapping[tuple[str, int], frozenset[str]]
        stream = getattr(store, "iter_sentences", None)
        if stream is not None:  # a store too big to hold (Milvus): count once, streamed; terms when read
            df: Counter[str] = Counter()
            count = 0
            for s in stream():
                df.update(_sentence_terms(s))
                count += 1
            self.terms = _TermsOnDemand(store)
            self.n = max(1, count)
        else:
            self.terms = {key: _sentence_terms(s) for key, s in store.sentences.items()}
            df = Counter(t for ts in self.terms.values() for t in ts)
            self.n = max(1, len(self.terms))
        self.idf = {t: math.log((self.n + 1) / (c + 0.5)) for t, c in df.items()}
        self.unseen_idf = math.log((self.n + 1) / 0.5)
        self.max_idf = max(self.idf.values(), default=1.0) or 1.0

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen_idf)


def _sentence_terms(s: Sentence) -> frozenset[str]:
    return frozenset(terms(s.scored_text))


class _TermsOnDemand(Mapping[tuple[str, int], frozenset[str]]):
    """A sentence's terms, computed from the store's (cached) sentence when first asked for."""

    def __init__(self, store: PassageStore) -> None:
        self._sentences = store.sentences
        self._cache: dict[tuple[str, int], frozenset[str]] = {}

    def __getitem__(self, key: tuple[str, int]) -> frozenset[str]:
        if key not in self._cache:
            s = self._sentences.get(key)
            if s is None:
                raise KeyError(key)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = _sentence_terms(s)
        return self._cache[key]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)


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
    near = table.terms.get((sentence.doc_id, sentence.index - 1), frozenset()) | table.terms.get(
        (sentence.doc_id, sentence.index + 1), frozenset()
    )
    title = table.title_terms.get(sentence.doc_id, frozenset())
    weights = [table.weight(t) * (TITLE_TERM_FACTOR if t in title else 1.0) for t in q_terms]
    total = sum(weights)
    got = sum(w * (1.0 if t in own else 0.4 if t in near else 0.0) for t, w in zip(q_terms, weights))
    return got / total if total else 0.0


def _window_terms(table: SentenceTable, s: Sentence) -> frozenset[str]:
    get = table.terms.get
    return (
        get((s.doc_id, s.index), frozenset())
        | get((s.doc_id, s.index - 1), frozenset())
        | get((s.doc_id, s.index + 1), frozenset())
    )


def answer_signals(
    question: Question,
    cands: list[Candidate],
    table: SentenceTable,
    missing_rare: float,
    settings: Settings,
    q_terms: list[str],
) -> dict[str, float]:
    """What the confidence model sees: how well the best sentence matches, and what the corpus lacks."""
    if not cands:
        return {
            "bias": 1.0,
            "cosine": 0.0,
            "coverage": 0.0,
            "type_match": -1.0,
            "type_any": -1.0,
            "missing_rare": missing_rare,
            "window_missing": 1.0,
            "document_match": 0.0,
        }
    best = cands[0]
    typed = settings.use_answer_type_cues and question.expected_type is not None
    window = _window_terms(table, best.sentence)
    # Corpus words of the question that the best sentence's neighbourhood lacks (unseen words are missing_rare's).
    absent = [table.weight(t) for t in q_terms if t in table.idf and t not in window]
    return {
        "bias": 1.0,
        "cosine": best.cosine,
        "coverage": best.coverage,
        "type_match": best.type_match,
        "type_any": (1.0 if any(c.type_match > 0 for c in cands[:3]) else -1.0) if typed else 0.0,
        "missing_rare": missing_rare,
        "window_missing": max(absent, default=0.0) / table.max_idf,
        # a question about the document itself, answered by its metadata or title lines
        "document_match": 1.0 if asks_about_document(question, table) and best.sentence.kind != "body" else 0.0,
    }


def asks_about_document(question: Question, table: SentenceTable) -> bool:
    """A question about the document itself (its author, date, title …), which its metadata lines answer,
    unless it asks for a part of the piece ("the photos") that the documents never mention."""
    if not DOCUMENT_QUESTION.search(question.query):
        return False
    parts = DOCUMENT_PART.finditer(question.query)
    return all(any(t in table.idf for t in terms(m.group(0))) for m in parts)


def field_affinity(question: Question, field: Sentence) -> int:
    """How plainly a header field answers a question about the document: 2 if the question names the field
    ("who is the publisher?"), 1 if the field is what its question word asks for (a "when" question and the
    publication date), else 0."""
    name = field.text.split(":", 1)[0]
    if name in METADATA_NAMED and METADATA_NAMED[name].search(question.query):
        return 2
    return 1 if name in METADATA_FOR_KIND.get(question.kind, ()) else 0


_NUMBER_TOKEN = re.compile(r"\d+(?:[.,]\d+)*")


def missing_number(question: str, texts: Sequence[str]) -> float:
    """1.0 when the question holds a number none of `texts` holds ("grossed $929.3 million" against a
    sentence with $879.3 million; "MI66" against "MI6"), else 0.0. Questions copy the numbers of the text
    that answers them; a changed one is how many unanswerable questions are written."""
    asked = {m.group(0).replace(",", "") for m in _NUMBER_TOKEN.finditer(question)}
    if not asked:
        return 0.0
    held = {m.group(0).replace(",", "") for t in texts for m in _NUMBER_TOKEN.finditer(t)}
    return 1.0 if asked - held else 0.0


_NAME = re.compile(r"[A-Z][\w'’&.-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’&.-]*)+")
_POSSESSIVE = re.compile(r"['’]s?$")
# Words that start a question with a capital without starting a name ("Has MIT …", "Name the …").
_QUESTION_WORDS = frozenset(
    """what who whom whose which when where why how in on at the a an of for to from by with as after before
    during since until is was are were be been do does did has have had can could will would shall should may
    might must name list describe give tell explain identify according""".split()
)


def unseen_name(question: str, document_text: str) -> float:
    """1.0 when the question holds a name of two or more capitalised words that the document never uses
    ("Radar Princess" in a document about "Twilight Princess"; "The Boston Observer" where it says "The
    Charlotte Observer"), else 0.0. `document_text` is lower-cased with whitespace collapsed. A question
    copies the names of its document; a changed one asks about something the document does not hold."""
    for m in _NAME.finditer(question):
        words = m.group(0).split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        if len(words) < 2:
            continue
        phrase = " ".join(_POSSESSIVE.sub("", w.rstrip(".")) for w in words).lower()
        if phrase not in document_text:
            return 1.0
    return 0.0


def confidence_from(features: dict[str, float], weights: Sequence[tuple[str, float]]) -> float:
    z = sum(w * features.get(name, 0.0) for name, w in weights)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def question_terms(question: Question) -> list[str]:
    return list(dict.fromkeys(terms(question.query)))


def score_candidates(
    question: Question,
    query_vector: np.ndarray,
    passages: list[Passage],
    store: PassageStore,
    table: SentenceTable,
    settings: Settings,
    q_terms: list[str],
) -> tuple[list[Candidate], float]:
    """Candidates best first, and the share of the question's IDF mass absent from the whole corpus."""
    total = sum(table.weight(t) for t in q_terms)
    missing = sum(table.weight(t) for t in q_terms if t not in table.idf)
    missing_rare = missing / total if total else 0.0
    seen: set[tuple[str, int]] = set()
    cands: list[Candidate] = []
    keys, owners = [], []
    for p in passages:
        chunk = store.chunk_by_id[p.chunk_id]
        for idx in range(chunk.first_sentence, chunk.last_sentence + 1):
            key = (chunk.doc_id, idx)
            if key in seen:
                continue
            seen.add(key)
            keys.append(key)
            owners.append(p.chunk_id)
    if not keys:
        return [], missing_rare
    cosines = store.sentence_vectors_for(keys) @ query_vector
    use_types = settings.use_answer_type_cues and question.expected_type is not None
    about_document = asks_about_document(question, table)
    for key, owner, cos in zip(keys, owners, cosines):
        s = store.sentences[key]
        if use_types:
            type_match = 1.0 if has_answer_type(s.text, question.query, question.expected_type) else -1.0
        else:
            type_match = 0.0
        c = Candidate(s, owner, float(cos), _coverage(q_terms, table, s), type_match)
        c.score = c.cosine + OVERLAP_WEIGHT * c.coverage + TYPE_WEIGHT * c.type_match
        if not about_document:
            c.score -= KIND_PENALTY.get(s.kind, 0.0)
        elif s.kind == "metadata":
            c.score += METADATA_AFFINITY * field_affinity(question, s)
        cands.append(c)
    cands.sort(key=lambda c: (-c.score, c.sentence.doc_id, c.sentence.index))
    return cands, missing_rare
