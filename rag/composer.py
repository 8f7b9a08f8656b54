"""The extractive answer: pick the sentence(s) that answer, cite them, or say the documents don't.

One `Composer` per index: it owns the sentence table and the answer model. Every question is handled
as a compound question of one or more parts ("Which X …, and who Y …?" has two); each part gets its
best sentence, and the answer's confidence is the weakest part's.

With the answer model (the default), the cheap scorer (rag/sentence_scoring.py) shortlists
`Settings.rerank_candidates` sentences, and the model reads them with the question: the first
`Settings.rerank_first`, then the rest only if none of those is answered. A calibrated logistic map over
the model's best score, how sure its span head is, and the signals it cannot see (question words the
corpus never uses, a number the sentence lacks, a name its document never uses, whether the sentence
holds the asked-for kind of phrase) gives P(right). Below
`Settings.answer_threshold` the answer abstains. With `Settings(answer_model=None)` the hand-set
baseline decides instead (kept for comparison in `rag eval --compare`). A window reader (an answer model of
format "window", rag/answer_reader.py) reads each shortlisted sentence among `Settings.reader_neighbours` body
sentences either side, and the sentence its best span lies in takes the shortlisted one's place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .abstention import missing_reason
from .answer_model import AnswerScorer, PairScore
from .answer_reader import ReaderScorer
from .calibration import Calibration
from .chunking import Sentence
from .corpus import Document
from .question import Question, main_script, script_language
from .sentence_scoring import (
    Candidate,
    SentenceTable,
    answer_signals,
    asks_about_document,
    confidence_from,
    field_affinity,
    missing_number,
    question_terms,
    score_candidates,
    unseen_name,
)
from .settings import Settings
from .short_answer import short_answer_span
from .stores.base import PassageStore
from .types import NOT_ANSWERED, Answer, Citation, Passage, ShortAnswer

# A sentence that opens like this leans on the one before it.
_DEPENDENT_START = re.compile(
    r"""^["“]?(?:He|She|It|They|This|That|These|Those|His|Her|Its|Their|Them|There|Such|But|However|Also|
    Meanwhile|Still|Yet|Instead|Moreover|Furthermore|In\ addition|As\ a\ result|Then|The\ two|Both)\b""",
    re.VERBOSE,
)
# Kinds of question whose answer is one fact: one sentence is enough.
_ONE_FACT = {"when", "where", "who", "how-many", "yes-no"}


@dataclass(frozen=True)
class QuestionPart:
    """One thing a question asks, with its own search vector."""

    question: Question
    vector: np.ndarray


@dataclass
class _PartResult:
    picked: list[Candidate]
    ranked: list[Candidate]
    confidence: float
    signals: dict[str, float]
    short: ShortAnswer | None = None


def choice_order(logits: Sequence[float], cheap_scores: Sequence[float], weight: float) -> list[int]:
    """The sentences read, best first: by the model's logit plus `weight` times the cheap scorer's score
    (ties to the cheap scorer's order). The two see different things: the model reads the words, the cheap
    scorer how close the whole sentence is to the question and its place in the passage."""
    return sorted(range(len(logits)), key=lambda i: (-(logits[i] + weight * cheap_scores[i]), i))


class Composer:
    def __init__(
        self,
        store: PassageStore,
        documents: Mapping[str, Document],
        settings: Settings,
        scorer: AnswerScorer | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.store = store
        self.documents = documents
        self.settings = settings
        self.table = SentenceTable(store, documents)
        self.scorer = scorer
        self.calibration = calibration
        self.corpus_script = main_script(" ".join(d.text[:2000] for d in documents.values()))
        self._searchable: dict[str, str] = {}

    @property
    def answer_threshold(self) -> float:
        """Confidence below which the answer abstains: the setting, else the calibrated (or baseline) one."""
        if self.scorer is None:
            return self.settings.abstain_threshold
        if self.settings.answer_threshold is not None:
            return self.settings.answer_threshold
        return self.calibration.threshold if self.calibration else 0.5

    @property
    def choice_weight(self) -> float:
        """How much the cheap scorer's score adds to the model's logit in the choice: the setting, else the
        calibrated one."""
        if self.settings.choice_weight is not None:
            return self.settings.choice_weight
        return self.calibration.choice_weight if self.calibration else 0.0

    # ---- the one entry point -------------------------------------------------------------------
    def compose(
        self, question: Question, parts: Sequence[QuestionPart], passages: list[Passage], shown: int | None = None
    ) -> Answer:
        """Weigh the sentences of all `passages` for every part; the Answer lists the first `shown` passages."""
        shown_passages = passages[:shown] if shown else passages
        foreign = self._foreign_script(question)
        if foreign:
            return Answer(
                question.text, NOT_ANSWERED, False, 0.0, [], shown_passages, [], question.kind, abstain_reason=foreign
            )
        per_part = max(1, self.settings.max_answer_sentences // max(1, len(parts)))
        results = [self._answer_part(p, passages, per_part, single=len(parts) == 1) for p in parts]
        weakest = min(results, key=lambda r: r.confidence)
        chosen: dict[tuple[str, int], Candidate] = {}
        for r in results:
            for c in r.picked:
                chosen.setdefault((c.sentence.doc_id, c.sentence.index), c)
        picked = sorted(chosen.values(), key=lambda c: (c.sentence.doc_id, c.sentence.index))
        # each part's own order (the model's, or the baseline's); scores of the two scorers don't mix
        ranked = [c for r in results for c in r.ranked]
        short = results[0].short if len(results) == 1 else None
        return self._finish(question, picked, ranked, weakest.confidence, shown_passages, weakest.signals, short)

    # ---- per part --------------------------------------------------------------------------------
    def _answer_part(self, part: QuestionPart, passages: list[Passage], limit: int, single: bool) -> _PartResult:
        q = part.question
        q_terms = question_terms(q)
        cands, missing_rare = score_candidates(q, part.vector, passages, self.store, self.table, self.settings, q_terms)
        signals = answer_signals(q, cands, self.table, missing_rare, self.settings, q_terms)
        if not cands:
            return _PartResult([], [], 0.0, signals)
        if self.scorer is None:
            confidence = confidence_from(signals, self.settings.confidence_weights)
            return _PartResult(self._select_baseline(cands, limit), cands, confidence, signals)
        return self._answer_with_model(q, cands, signals, limit, single)

    def _answer_with_model(
        self, q: Question, cands: list[Candidate], signals: dict[str, float], limit: int, single: bool
    ) -> _PartResult:
        """Read the cheap scorer's best sentence(s) first; read the rest of the shortlist only if none answers.

        Most answered questions stop after one sentence: the model's cost is per sentence read.
        """
        assert self.scorer is not None
        about_document = asks_about_document(q, self.table)
        shortlist = [c for c in cands if c.sentence.kind != "metadata" or about_document]
        shortlist = shortlist[: self.settings.rerank_candidates] or cands[:1]
        calibration = self.calibration or Calibration((("model_logit", 1.0),), 0.5)
        threshold = self.answer_threshold
        scores: list[PairScore] = []
        covered: dict[tuple[str, int], int] = {}  # sentence -> the shortlisted one whose window read it
        cheap = [c.score for c in shortlist]  # before the model's logit takes the candidates' score
        weight = self.choice_weight
        read = min(self.settings.rerank_first, len(shortlist))
        while True:
            scores += self._read(q, shortlist, cheap, scores, read, cands, covered)
            order = choice_order([s.logit for s in scores], cheap, weight)
            features = self._features(q, shortlist[order[0]], scores[order[0]], scores, order, signals)
            confidence = calibration.probability(features)
            if confidence >= threshold or read >= len(shortlist):
                break
            read = len(shortlist)
        if shortlist[order[0]].sentence.kind == "metadata":
            # The model was trained on prose, never on header fields: it says whether the header answers;
            # which field answers is the field the question names or its question word asks for, and
            # failing those the cheap scorer's first.
            fields = [i for i, c in enumerate(shortlist) if c.sentence.kind == "metadata"]
            field_i = max(fields, key=lambda i: (field_affinity(q, shortlist[i].sentence), -i))
            if field_i >= read:  # not read yet: read it now
                shortlist.insert(read, shortlist.pop(field_i))
                scores += self._score(q, [shortlist[read]])
                field_i, read = read, read + 1
            order = [field_i] + [i for i in order if i != field_i]
        shortlist = shortlist[:read]  # unread candidates are not offered
        best_i = order[0]
        best, best_score = shortlist[best_i], scores[best_i]
        ranked = [shortlist[i] for i in order]  # the model's order
        for i in order:
            shortlist[i].score = round(scores[i].logit, 4)
        picked = [best]
        # A second sentence only when the question asks for more than one fact and the model is nearly
        # as sure of it.
        if len(order) > 1 and limit > 1 and q.kind not in _ONE_FACT:
            second_i = order[1]
            if (
                scores[second_i].logit
                >= max(self.settings.second_sentence_logit, best_score.logit - self.settings.second_sentence_margin)
                and shortlist[second_i].sentence.kind == best.sentence.kind
            ):
                picked.append(shortlist[second_i])
        picked = self._with_antecedents(picked, limit)
        short = None
        if single and best.sentence.kind == "body" and q.kind != "yes-no":
            short = self._short_answer(q, best, best_score, picked, shortlist, scores)
        signals = {**signals, **features, "confidence": confidence, "sentences_read": float(read)}
        return _PartResult(picked, ranked, confidence, signals, short)

    def _short_answer(
        self,
        q: Question,
        best: Candidate,
        best_score: PairScore,
        picked: list[Candidate],
        read: list[Candidate],
        scores: list[PairScore],
    ) -> ShortAnswer | None:
        """The model's span in the chosen sentence, of the kind asked. When the chosen sentence leans on the one
        before it ("This meeting discussed …") and both are cited, the model read the chosen one with that one
        as its context, so the answer may be there ("Where was it held?"): the span of the one the model says
        answers better."""
        options = [(best.sentence, best_score)]
        leaned_on = picked[0]  # _with_antecedents puts the sentence the chosen one leans on before it
        if leaned_on is not best:
            key = _key(leaned_on)
            score = next((sc for c, sc in zip(read, scores) if _key(c) == key), None)
            options.append((leaned_on.sentence, score or self._score(q, [leaned_on])[0]))
        found = []
        for s, score in options:
            own = not getattr(score, "part", 0)  # a window reader's span may lie in a neighbour
            span = short_answer_span(s.text, score.span, q) if score.span and own else None
            if span is not None and (span[1] - span[0]) < len(s.text) * 0.9:
                found.append((score.logit, s, span))
        if not found:
            return None
        _, s, span = max(found, key=lambda f: f[0])
        start, end = s.start + span[0], s.start + span[1]
        return ShortAnswer(s.doc_id, start, end, self.documents[s.doc_id].text[start:end])

    def _read(
        self,
        q: Question,
        shortlist: list[Candidate],
        cheap: list[float],
        scores: Sequence[PairScore],
        last: int,
        cands: list[Candidate],
        covered: dict[tuple[str, int], int],
    ) -> list[PairScore]:
        """Score shortlist[len(scores):last]. When the window reader finds its best span in a neighbour of the
        sentence it was given, that neighbour takes the sentence's place (with its own cheap score). With
        `Settings.reader_skip_covered`, a sentence that an earlier window already held is not read again: it
        takes that window's result (`covered` remembers which window held what)."""
        first = len(scores)
        fresh, copies = list(range(first, last)), {}
        if isinstance(self.scorer, ReaderScorer) and self.settings.reader_skip_covered:
            fresh = []
            for k in range(first, last):
                if _key(shortlist[k]) in covered:
                    copies[k] = covered[_key(shortlist[k])]
                    continue
                fresh.append(k)
                before, after = self._body_neighbours(shortlist[k].sentence, self.settings.reader_neighbours)
                for member in [*before, shortlist[k].sentence, *after]:
                    covered.setdefault((member.doc_id, member.index), k)
        new = dict(zip(fresh, self._score(q, [shortlist[k] for k in fresh])))
        by_key: dict[tuple[str, int], Candidate] | None = None
        for k, score in new.items():
            part = getattr(score, "part", 0)
            if not part:
                continue
            s = shortlist[k].sentence
            neighbour = self.store.sentences.get((s.doc_id, s.index + part))
            if neighbour is None:  # cannot happen: the window held it
                continue
            if by_key is None:
                by_key = {_key(c): c for c in cands}
            found = by_key.get((neighbour.doc_id, neighbour.index))
            shortlist[k] = found or Candidate(neighbour, shortlist[k].chunk_id, 0.0, 0.0, 0.0, cheap[k])
            cheap[k] = shortlist[k].score if found else cheap[k]
        out = []
        for k in range(first, last):
            if k in new:
                out.append(new[k])
                continue
            j = copies[k]  # an earlier window's answer stands for this sentence too
            shortlist[k], cheap[k] = shortlist[j], cheap[j]
            out.append(new[j] if j in new else scores[j])
        return out

    def _score(self, q: Question, cands: Sequence[Candidate]) -> list[PairScore]:
        assert self.scorer is not None
        titles = [self.documents[c.sentence.doc_id].title for c in cands]
        texts = [c.sentence.scored_text for c in cands]
        if isinstance(self.scorer, ReaderScorer):
            windows, focuses = [], []
            for c, text in zip(cands, texts):
                before, after = self._body_neighbours(c.sentence, self.settings.reader_neighbours)
                windows.append([n.text for n in before] + [text] + [n.text for n in after])
                focuses.append(len(before))
            return list(self.scorer.read(q.query, windows, focuses))
        contexts = None
        if self.scorer.context_words:
            contexts = [prev.text if (prev := self._body_sentence_before(c.sentence)) else "" for c in cands]
        return self.scorer.score(q.query, titles, texts, contexts)

    def _searchable_text(self, doc_id: str) -> str:
        """The document lower-cased with whitespace collapsed, once per document: what names are looked up in."""
        text = self._searchable.get(doc_id)
        if text is None:
            text = self._searchable[doc_id] = " ".join(self.documents[doc_id].text.lower().split())
        return text

    def _window_texts(self, s: Sentence) -> list[str]:
        """The sentence as the model read it, with the body sentence before it (where "in 2019" may be)."""
        prev = self._body_sentence_before(s)
        return [s.scored_text] + ([prev.text] if prev else [])

    def _body_sentence_before(self, s: Sentence) -> Sentence | None:
        """The body sentence before a body sentence: who "he" or "it" is."""
        if s.kind != "body":
            return None
        prev = self.store.sentences.get((s.doc_id, s.index - 1))
        return prev if prev is not None and prev.kind == "body" else None

    def _body_neighbours(self, s: Sentence, n: int) -> tuple[list[Sentence], list[Sentence]]:
        """Up to `n` body sentences either side of a body sentence, nearest last/first: the passage the window
        reader reads it in (a heading or a metadata line ends the run)."""
        if s.kind != "body" or n <= 0:
            return [], []
        runs: list[list[Sentence]] = []
        for step in (-1, 1):
            run = []
            for k in range(1, n + 1):
                other = self.store.sentences.get((s.doc_id, s.index + step * k))
                if other is None or other.kind != "body":
                    break
                run.append(other)
            runs.append(run[::-1] if step < 0 else run)
        return runs[0], runs[1]

    def _features(
        self,
        q: Question,
        best: Candidate,
        best_score: PairScore,
        scores: list[PairScore],
        order: list[int],
        signals: dict[str, float],
    ) -> dict[str, float]:
        second = scores[order[1]].logit if len(order) > 1 else best_score.logit - 10.0
        return {
            "bias": 1.0,
            "model_logit": best_score.logit,
            "model_margin": min(10.0, best_score.logit - second),
            "missing_rare": signals["missing_rare"],
            "type_match": best.type_match,
            "cosine": best.cosine,
            "coverage": best.coverage,
            "document_match": signals["document_match"],
            "span_prob": best_score.span_prob,
            "missing_number": missing_number(q.text, self._window_texts(best.sentence)),
            "unseen_name": unseen_name(q.text, self._searchable_text(best.sentence.doc_id)),
        }

    # ---- sentence selection ----------------------------------------------------------------------
    def _with_antecedents(self, picked: list[Candidate], limit: int) -> list[Candidate]:
        """Add the sentence a chosen one leans on ("He said …"), within the sentence limit."""
        chosen: dict[tuple[str, int], Candidate] = {}
        for c in picked:
            group = [c]
            s = c.sentence
            prev = self._body_sentence_before(s)
            if prev is not None and _DEPENDENT_START.match(s.text):
                group.insert(0, Candidate(prev, c.chunk_id, 0.0, 0.0, 0.0))
            group = [g for g in group if (g.sentence.doc_id, g.sentence.index) not in chosen]
            if chosen and len(chosen) + len(group) > max(limit, 2):
                break
            for g in group:
                chosen[(g.sentence.doc_id, g.sentence.index)] = g
        return list(chosen.values())

    def _select_baseline(self, cands: list[Candidate], limit: int) -> list[Candidate]:
        """The baseline's choice: the best sentence, near-ties of the same kind, and what they lean on."""
        best = cands[0]
        # A metadata answer is one field, or two that say the same (author and byline), never the whole header.
        is_meta = best.sentence.kind == "metadata"
        limit = min(2, limit) if is_meta else limit
        margin = self.settings.extra_sentence_margin / (2 if is_meta else 1)
        close = [c for c in cands[1:] if c.score >= best.score - margin and c.sentence.kind == best.sentence.kind]
        chosen: dict[tuple[str, int], Candidate] = {}
        by_key = {(c.sentence.doc_id, c.sentence.index): c for c in cands}
        for c in [best, *close]:
            group = [c]
            s = c.sentence
            prev = self._body_sentence_before(s)
            if prev is not None and _DEPENDENT_START.match(s.text):
                group.insert(0, by_key.get((prev.doc_id, prev.index)) or Candidate(prev, c.chunk_id, 0.0, 0.0, 0.0))
            group = [g for g in group if (g.sentence.doc_id, g.sentence.index) not in chosen]
            if chosen and len(chosen) + len(group) > limit:
                break
            for g in group[-limit:] if not chosen else group:
                chosen[(g.sentence.doc_id, g.sentence.index)] = g
        return sorted(chosen.values(), key=lambda c: (c.sentence.doc_id, c.sentence.index))

    # ---- the Answer ---------------------------------------------------------------------------------
    def _foreign_script(self, question: Question) -> str | None:
        """A reason to abstain when the question is in a script the documents are not written in."""
        script = main_script(question.text)
        if script is None or self.corpus_script is None or script == self.corpus_script:
            return None
        return (
            f"The question is in {script_language(script)} text, but the documents are in "
            f"{script_language(self.corpus_script)} text; ask in the documents' language."
        )

    def _citation(self, number: int, c: Candidate) -> Citation:
        s = c.sentence
        doc = self.documents[s.doc_id]
        return Citation(
            number,
            s.doc_id,
            doc.title,
            c.chunk_id,
            s.start,
            s.end,
            doc.text[s.start : s.end],
            f"{s.doc_id}#char={s.start},{s.end}",
            s.kind,
            round(c.score, 4),
        )

    def _finish(
        self,
        question: Question,
        picked: list[Candidate],
        ranked: list[Candidate],
        confidence: float,
        passages: list[Passage],
        signals: dict[str, float],
        short: ShortAnswer | None,
    ) -> Answer:
        if not picked or confidence < self.answer_threshold:
            seen: set[tuple[str, int]] = set()
            related: list[Citation] = []
            for c in ranked:
                key = (c.sentence.doc_id, c.sentence.index)
                if key not in seen:
                    seen.add(key)
                    related.append(self._citation(len(related) + 1, c))
                if len(related) == 3:
                    break
            reason = missing_reason(question, related[0].quote if related else None)
            return Answer(
                question.text,
                NOT_ANSWERED,
                False,
                confidence,
                [],
                passages,
                related,
                question.kind,
                signals=signals,
                abstain_reason=reason,
            )
        citations = [self._citation(i + 1, c) for i, c in enumerate(picked)]
        text = " ".join(f"{c.quote} [{c.number}]" for c in citations)
        return Answer(
            question.text,
            text,
            True,
            confidence,
            citations,
            passages,
            [],
            question.kind,
            signals=signals,
            short_answer=short,
        )


def _key(c: Candidate) -> tuple[str, int]:
    return (c.sentence.doc_id, c.sentence.index)
