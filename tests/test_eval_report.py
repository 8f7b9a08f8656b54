"""The eval report's tables say what their marks mean (rag/evaluation/report.py): no model, no eval run."""

from __future__ import annotations


def test_the_sets_table_says_what_a_cross_means_next_to_the_gate():
    """A ✗ (short of a target) beside a passing --check reads as a contradiction unless the table says why."""
    from rag.evaluation.registry import target
    from rag.evaluation.report import sets_table

    goal = target("evidence_accuracy", "article")
    assert goal and goal.startswith(">=")
    short = float(goal.split()[1]) - 0.1
    counts = {"items": 10, "answerable": 8, "unanswerable": 2}
    report = {"sets": {"article": {"metrics": {"evidence_accuracy": short}, "counts": counts}}}
    table = sets_table(report)
    assert f"{short:.3f} ✗" in table
    legend = table.split("\n\n")[-1]
    assert "✗" in legend and "short of the article target" in legend
    assert "--check" in legend and "baseline" in legend and "no metric falls below" in legend
    fixture_only = sets_table({"sets": {"fixture": {"metrics": {"evidence_accuracy": short}, "counts": counts}}})
    assert "✗" not in fixture_only  # no targets on the fixture set: no marks and no legend
