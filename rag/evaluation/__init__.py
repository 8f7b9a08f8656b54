"""The evaluation harness behind `rag eval`: eval sets, metrics, runners, reports, ablations and the CI gate.

    from rag.evaluation import evaluate_default_sets
    report = evaluate_default_sets()          # article + fixture sets, like `rag eval`
    print(report["sets"]["article"]["metrics"]["hit_at_3"])

Modules: `datasets` (JSONL and SQuAD loading), `metrics` (pure functions), `runner` (one set through
`Assistant.ask`), `squad` (SQuAD v2 mode with reference rows), `compare` (ablations), `check`
(baseline gate), `report` (Markdown, JSON, PNG), `registry` (every metric's label, direction, tolerance
and target, read by the others) and `cli` (`rag eval`). Heavy imports stay inside functions so
`rag eval --help` is fast; `rag` itself imports this package only for `rag eval`.
"""

from __future__ import annotations

__all__ = ["evaluate_default_sets"]


def evaluate_default_sets(*args, **kwargs):
    from .runner import evaluate_default_sets as _run

    return _run(*args, **kwargs)
