"""Every metric `rag eval` reports, in one table: its key, label, better direction, gate tolerance and target.

The runner (`METRIC_KEYS`), the gate (`check`: tolerances, policy text, which metrics of which set are
gated), the report (row and column labels, targets, best-value marking) and the CLI (set names) all read
`METRICS`; the order here is the order of the rows in the eval-sets table.

Gate policy (also written into the baseline file and eval/README.md):
- rates and MRR (higher is better): fail when current < baseline - 0.02 (absolute). With ~70 answerable
  article questions one question is ~0.015, so a single flip passes and two fail.
- exact_quote_rate and topic_switch_same: no tolerance (must never drop).
- wrongly_refused and calibration_ece (lower is better): fail when current > baseline + 0.02.
- confidence_gap: fail when it shrinks by more than 0.05 (it moves with a handful of confident answers).
- latency p50 (lower is better): fail only when current > 3 x baseline and more than 10 ms slower
  (machines differ; this catches order-of-magnitude regressions, not noise). p95 and load time are
  reported, never gated: on a shared 2-core machine they swing by 5x from run to run.
"""

from __future__ import annotations

from dataclasses import dataclass

SET_NAMES = ("article", "fixture", "squad")
PLAIN_SETS = ("article", "fixture")  # JSONL eval sets run through `Assistant.ask` (rag.evaluation.runner)
RATE_TOLERANCE = 0.02


@dataclass(frozen=True)
class LatencyRule:
    """Fail only when current > factor x baseline and current - baseline > slack_ms."""

    factor: float = 3.0
    slack_ms: float = 10.0


LATENCY_RULE = LatencyRule()


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # row label (eval-sets table), column label (SQuAD table)
    direction: str | None  # "higher" or "lower" is better; None: neither
    tolerance: float | LatencyRule | None  # gate: allowed absolute change for the worse, the latency rule, or None
    target: str | None = None  # "OP NUMBER" (>=, =, <) on target_set, shown beside that set's value
    sets: tuple[str, ...] = PLAIN_SETS  # the sets that report it (and are gated on it)
    short: str | None = None  # column label in the ablation table and the plots
    target_set: str = "article"

    @property
    def gated(self) -> bool:
        return self.tolerance is not None and self.direction is not None

    def rule(self) -> str:
        """The gate as a sentence (written into the baseline file)."""
        tol = self.tolerance
        if isinstance(tol, LatencyRule):
            return f"fail if > {tol.factor:g}x baseline and > baseline + {tol.slack_ms:g} ms"
        if not self.gated:
            return "reported, not gated"
        return f"fail if < baseline - {tol:g}" if self.direction == "higher" else f"fail if > baseline + {tol:g}"


METRICS: tuple[Metric, ...] = (
    Metric("hit_at_1", "retrieval hit@1", "higher", RATE_TOLERANCE, short="hit@1"),
    Metric("hit_at_3", "retrieval hit@3", "higher", RATE_TOLERANCE, ">= 1.0", short="hit@3"),
    Metric("hit_at_5", "retrieval hit@5", "higher", RATE_TOLERANCE),
    Metric("mrr", "retrieval MRR", "higher", RATE_TOLERANCE, short="MRR"),
    Metric("evidence_accuracy", "evidence accuracy", "higher", RATE_TOLERANCE, ">= 0.92", short="evidence"),
    Metric("evidence_accuracy_strict", "evidence accuracy, all sentences quoted", "higher", RATE_TOLERANCE),
    Metric("answer_containment", "answer holds a gold answer", "higher", RATE_TOLERANCE, ">= 0.9", short="contains"),
    Metric("token_f1", "token F1 (quotes vs gold)", "higher", RATE_TOLERANCE, short="F1"),
    Metric("exact_quote_rate", "exact-quote rate", "higher", 0.0, "= 1.0", SET_NAMES, short="exact quote"),
    Metric("abstain_precision", "abstention precision", "higher", RATE_TOLERANCE, ">= 0.9", SET_NAMES, short="abst P"),
    Metric("abstain_recall", "abstention recall", "higher", RATE_TOLERANCE, ">= 0.85", SET_NAMES, short="abst R"),
    Metric(
        "wrongly_refused", "answerable wrongly refused", "lower", RATE_TOLERANCE, sets=SET_NAMES, short="refused ans."
    ),
    Metric(
        "answerable_accuracy",
        "answerable sentence accuracy",
        "higher",
        RATE_TOLERANCE,
        ">= 0.70",
        ("squad",),
        short="answerable acc.",
        target_set="squad",
    ),
    Metric(
        "overall_accuracy",
        "overall accuracy",
        "higher",
        RATE_TOLERANCE,
        ">= 0.72",
        ("squad",),
        short="overall acc.",
        target_set="squad",
    ),
    Metric(
        "answer_precision",
        "precision of answers given",
        "higher",
        RATE_TOLERANCE,
        ">= 0.80",
        SET_NAMES,
        short="answer P",
        target_set="squad",
    ),
    Metric("calibration_ece", "calibration error (ECE)", "lower", 0.02, sets=SET_NAMES),
    Metric("confidence_gap", "confidence gap (right minus wrong answers)", "higher", 0.05, sets=SET_NAMES),
    Metric("short_answer_f1", "short-answer token F1", "higher", 0.02),
    # of the answerable questions answered with a bold span: the span is a gold answer / holds one
    Metric("short_answer_exact", "short-answer exact match", "higher", RATE_TOLERANCE, sets=SET_NAMES, short="span EM"),
    Metric("short_answer_contains", "short answer holds a gold answer", "higher", RATE_TOLERANCE, sets=SET_NAMES),
    Metric("short_answer_given", "answers given a short answer", "higher", None, sets=SET_NAMES),
    Metric("topic_switch_same", "topic switch: same answer as without history", "higher", 0.0),
    Metric("latency_p50_ms", "latency p50 (ms)", "lower", LATENCY_RULE, "< 50", SET_NAMES, short="p50 ms"),
    Metric("latency_p95_ms", "latency p95 (ms)", "lower", None, "< 100"),
    Metric("load_seconds", "load time (s)", "lower", None),
)
BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}


def metric(key: str) -> Metric:
    return BY_KEY[key]


def for_set(set_name: str) -> tuple[Metric, ...]:
    """The metrics a set reports, in table order."""
    return tuple(m for m in METRICS if set_name in m.sets)


def gated(set_name: str | None = None) -> tuple[Metric, ...]:
    """The gated metrics (of one set, or of any set)."""
    return tuple(m for m in METRICS if m.gated and (set_name is None or set_name in m.sets))


def target(key: str, set_name: str) -> str | None:
    """The target of a metric on a set (None when that set has none)."""
    m = BY_KEY.get(key)
    return m.target if m is not None and m.target_set == set_name else None


def labels(keys, short: bool = False) -> tuple[tuple[str, str], ...]:
    """(key, label) pairs for table columns and plot ticks."""
    return tuple((k, (BY_KEY[k].short or BY_KEY[k].label) if short else BY_KEY[k].label) for k in keys)
