"""Metric functions: pure, small and tested on hand-made cases (tests/test_eval.py).

SQuAD normalisation and token F1 follow the official SQuAD v2.0 evaluation script:
lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)
_CITATION_MARK = re.compile(r"\s*\[\d+\]")


def normalize_answer(s: str) -> str:
    """The SQuAD normalisation: lower, remove punctuation, remove articles, fix whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def strip_citation_marks(text: str) -> str:
    """'Quote one. [1] Quote two. [2]' -> 'Quote one. Quote two.' (markers would add stray numbers)."""
    return _CITATION_MARK.sub("", text)


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """Some SQuAD-normalised gold answer is a substring of the normalised text (citation marks removed).

    Plain substring, as in the team's reference figures: token boundaries would reject true matches such
    as "Edgar" in "Edgar's sister" or "Dyrrachium" before an em dash (not ASCII punctuation, so kept).
    """
    hay = normalize_answer(strip_citation_marks(text))
    return any(g and g in hay for g in (normalize_answer(gold) for gold in golds))


def exact_match(prediction: str, golds: Iterable[str]) -> bool:
    """SQuAD's exact match: the normalised prediction is some normalised gold answer."""
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(gold) for gold in golds)


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 between two strings after SQuAD normalisation (1.0 when both normalise to nothing)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def max_f1(prediction: str, golds: Iterable[str]) -> float:
    return max((f1_score(prediction, g) for g in golds), default=0.0)


# ---- evidence ---------------------------------------------------------------------------------
def squash(text: str) -> str:
    """Whitespace-insensitive form used to compare quotes, passages and evidence sentences."""
    return " ".join(text.split())


def quotes_evidence(quote: str, evidence: str) -> bool:
    """A citation quote counts for an evidence sentence when it equals or contains it."""
    e = squash(evidence)
    return bool(e) and e in squash(quote)


def evidence_quoted(quotes: Sequence[str], evidence: Sequence[str], need_all: bool = False) -> bool:
    """Some (or, with need_all, every) evidence sentence is quoted by some quote."""
    if not evidence:
        return False
    hits = [any(quotes_evidence(q, e) for q in quotes) for e in evidence]
    return all(hits) if need_all else any(hits)


def first_hit_rank(passage_texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage containing a gold evidence sentence, or None."""
    wanted = [squash(e) for e in evidence if e.strip()]
    for rank, text in enumerate(passage_texts, 1):
        t = squash(text)
        if any(e in t for e in wanted):
            return rank
    return None


def hit_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of items whose first relevant passage is in the top k (None = not retrieved)."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r) / len(ranks)


# ---- abstention -------------------------------------------------------------------------------
def abstention_scores(answerable: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of 'not answerable' (the positive class), and answerable questions wrongly refused.

    Precision is None when nothing was refused; recall is None when every question is answerable.
    """
    if len(answerable) != len(abstained):
        raise ValueError("answerable and abstained must have the same length")
    tp = sum(1 for a, r in zip(answerable, abstained) if not a and r)
    fp = sum(1 for a, r in zip(answerable, abstained) if a and r)
    fn = sum(1 for a, r in zip(answerable, abstained) if not a and not r)
    n_answerable = sum(1 for a in answerable if a)
    return {
        "abstain_precision": tp / (tp + fp) if tp + fp else None,
        "abstain_recall": tp / (tp + fn) if tp + fn else None,
        "wrongly_refused": fp / n_answerable if n_answerable else None,
    }


# ---- latency ------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def rate(flags: Iterable[bool]) -> float | None:
    flags = list(flags)
    return sum(1 for f in flags if f) / len(flags) if flags else None


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


# ---- calibration ----------------------------------------------------------------------------------
def reliability_table(confidences: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> list[dict]:
    """Per equal-width confidence bin: how many, mean confidence, and how often the answer was right."""
    if len(confidences) != len(outcomes):
        raise ValueError("confidences and outcomes must have the same length")
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if not idx:
            continue
        rows.append(
            {
                "bin": f"{lo:.1f}-{hi:.1f}",
                "n": len(idx),
                "confidence": sum(confidences[i] for i in idx) / len(idx),
                "accuracy": sum(1 for i in idx if outcomes[i]) / len(idx),
            }
        )
    return rows


def expected_calibration_error(confidences: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> float | None:
    """ECE: the bin-size-weighted gap between mean confidence and accuracy (10 equal-width bins)."""
    if not confidences:
        return None
    n = len(confidences)
    return sum(
        r["n"] / n * abs(r["confidence"] - r["accuracy"]) for r in reliability_table(confidences, outcomes, bins)
    )


def confidence_gap(confidences: Sequence[float], answered: Sequence[bool], right: Sequence[bool]) -> float | None:
    """Among answered questions: mean confidence of right answers minus that of wrong ones."""
    good = [c for c, a, r in zip(confidences, answered, right) if a and r]
    bad = [c for c, a, r in zip(confidences, answered, right) if a and not r]
    if not good or not bad:
        return None
    return sum(good) / len(good) - sum(bad) / len(bad)


def short_answer_scores(answerable_records: Iterable[dict]) -> dict[str, float | None]:
    """Of the answerable questions answered with a short answer (the bold span): the share whose span is a
    gold answer (SQuAD exact match) and the share whose span holds one; and the share of answered ones that
    got a span at all (a span is dropped rather than shown wrong: rag/short_answer.py)."""
    answered = [r for r in answerable_records if r["answered"]]
    spans = [r for r in answered if r.get("short_answer")]
    return {
        "short_answer_exact": rate(r["short_exact"] for r in spans),
        "short_answer_contains": rate(r["short_contains"] for r in spans),
        "short_answer_given": rate(bool(r.get("short_answer")) for r in answered),
    }


def risk_coverage(
    confidences: Sequence[float], right: Sequence[bool], thresholds: Sequence[float] | None = None
) -> list[dict]:
    """What each answer threshold would give: the share of questions answered (coverage) and the share of those
    answered right (precision). `right[i]`: the answer, if given, would be right (never for an unanswerable one)."""
    out = []
    for t in thresholds if thresholds is not None else [k / 20 for k in range(1, 20)]:
        answered = [r for c, r in zip(confidences, right) if c >= t]
        out.append(
            {
                "threshold": round(t, 4),
                "coverage": round(len(answered) / len(confidences), 4) if confidences else 0.0,
                "precision": round(sum(answered) / len(answered), 4) if answered else None,
            }
        )
    return out
