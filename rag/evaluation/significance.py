"""Is a difference between two configurations more than the luck of which questions were asked?

`rag eval --compare` puts configurations side by side on the same questions. On 179 article questions or two
SQuAD articles, a difference of a few points can come from a handful of items. The paired bootstrap
(Efron & Tibshirani 1993, ch. 16; the usual test for NLP system comparisons, Berg-Kirkpatrick et al. 2012)
resamples the questions with replacement, the same draw for both configurations, and reads the 95% interval
of the difference off the resampled differences. Every metric here is a ratio of per-question sums
(right answers over answerable questions, right refusals over refusals, ...), so a resample is two sums.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Parts = Callable[[Mapping], tuple[float, float]]


def _answered_right(r: Mapping) -> bool:
    """Answered and right: the plain sets judge the quoted evidence, the SQuAD sample the gold answer."""
    if "evidence_ok" in r:
        return bool(r["answerable"] and r["answered"] and r["evidence_ok"])
    return bool(r["answerable"] and r["answered"] and r.get("correct"))


def _rank_within(r: Mapping, k: int) -> bool:
    return bool(r["answerable"] and r.get("rank") and r["rank"] <= k)


# metric -> (numerator, denominator) of one question's record; the metric is sum(numerators) / sum(denominators)
PARTS: dict[str, Parts] = {
    "evidence_accuracy": lambda r: (float(_answered_right(r)), float(r["answerable"])),
    "answerable_accuracy": lambda r: (float(_answered_right(r)), float(r["answerable"])),
    "answer_containment": lambda r: (
        float(r["answerable"] and r["answered"] and r.get("contains", r.get("correct", False))),
        float(r["answerable"]),
    ),
    "abstain_precision": lambda r: (float(not r["answerable"] and not r["answered"]), float(not r["answered"])),
    "abstain_recall": lambda r: (float(not r["answerable"] and not r["answered"]), float(not r["answerable"])),
    "answer_precision": lambda r: (float(_answered_right(r)), float(r["answered"])),
    "overall_accuracy": lambda r: (float(_answered_right(r) or (not r["answerable"] and not r["answered"])), 1.0),
    "hit_at_3": lambda r: (float(_rank_within(r, 3)), float(r["answerable"])),
    "mrr": lambda r: (1.0 / r["rank"] if r["answerable"] and r.get("rank") else 0.0, float(r["answerable"])),
}


@dataclass(frozen=True)
class Difference:
    """`other` minus `base` on one metric, with its paired-bootstrap 95% interval."""

    metric: str
    difference: float
    low: float
    high: float
    questions: int

    @property
    def clear(self) -> bool:
        """The interval leaves out zero: more than the luck of the questions drawn."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "difference": round(self.difference, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "questions": self.questions,
            "clear": self.clear,
        }


def _arrays(records: Sequence[Mapping], ids: Sequence[str], parts: Parts) -> tuple[np.ndarray, np.ndarray]:
    by_id = {r["id"]: r for r in records}
    pairs = np.array([parts(by_id[i]) for i in ids], dtype=float).reshape(len(ids), 2)
    return pairs[:, 0], pairs[:, 1]


def paired_bootstrap(
    base: Sequence[Mapping],
    other: Sequence[Mapping],
    metric: str,
    resamples: int = 2000,
    seed: int = 0,
) -> Difference | None:
    """The difference `other` − `base` on `metric` over the questions both answered (matched by `id`), and its
    95% percentile interval over `resamples` paired resamples; None when the metric is undefined for them
    (no unanswerable question, say). Seeded, so the same records give the same interval."""
    if metric not in PARTS:
        raise ValueError(f"metric must be one of {sorted(PARTS)}, got {metric!r}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    other_ids = {r["id"] for r in other}
    ids = [r["id"] for r in base if r["id"] in other_ids]
    if not ids:
        return None
    num_a, den_a = _arrays(base, ids, PARTS[metric])
    num_b, den_b = _arrays(other, ids, PARTS[metric])
    if not den_a.sum() or not den_b.sum():
        return None
    difference = num_b.sum() / den_b.sum() - num_a.sum() / den_a.sum()
    draws = np.random.default_rng(seed).integers(0, len(ids), size=(resamples, len(ids)))
    with np.errstate(invalid="ignore", divide="ignore"):
        diffs = num_b[draws].sum(1) / den_b[draws].sum(1) - num_a[draws].sum(1) / den_a[draws].sum(1)
    diffs = diffs[np.isfinite(diffs)]  # a resample with no refusal has no abstention precision
    if not len(diffs):
        return None
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Difference(metric, float(difference), float(low), float(high), len(ids))


def outcome_fields(record: Mapping) -> dict:
    """The fields of a question's record that `PARTS` reads: what `--compare` keeps of each question."""
    keep = ("id", "answerable", "answered", "evidence_ok", "contains", "correct", "rank")
    return {k: record[k] for k in keep if k in record}
