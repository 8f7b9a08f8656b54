"""The paired bootstrap behind `rag eval --compare`: hand-made question records with known differences."""

from __future__ import annotations

import pytest

from rag.evaluation.compare import add_differences
from rag.evaluation.report import compare_verdict
from rag.evaluation.significance import outcome_fields, paired_bootstrap


def plain(i: int, answerable: bool, answered: bool, ok: bool = True, rank: int | None = 1) -> dict:
    """One article-set record: answered with the right evidence (`ok`) or not."""
    return {
        "id": f"q{i}",
        "answerable": answerable,
        "answered": answered,
        "evidence_ok": ok,
        "contains": ok,
        "rank": rank,
    }


def test_the_same_answers_differ_by_nothing_and_not_clearly():
    records = [plain(i, True, i % 3 != 0) for i in range(60)]
    d = paired_bootstrap(records, records, "evidence_accuracy")
    assert d is not None
    assert (d.difference, d.low, d.high, d.questions, d.clear) == (0.0, 0.0, 0.0, 60, False)


def test_right_everywhere_against_wrong_everywhere_is_clear():
    base = [plain(i, True, False) for i in range(40)]
    other = [plain(i, True, True) for i in range(40)]
    d = paired_bootstrap(base, other, "evidence_accuracy")
    assert d is not None and d.difference == 1.0 and d.clear and d.low == 1.0


def test_one_question_of_a_hundred_is_not_clear():
    base = [plain(i, True, True) for i in range(100)]
    other = [plain(i, True, i != 7) for i in range(100)]
    d = paired_bootstrap(base, other, "evidence_accuracy")
    assert d is not None and d.difference == pytest.approx(-0.01)
    assert d.low < 0 <= d.high and not d.clear


def test_pairing_sees_what_two_separate_samples_would_not():
    """Ten questions of 200 turned right, none turned wrong: small beside the rate's own spread, yet the pairs
    agree on every other question, so the interval is narrow and clear of zero."""
    base = [plain(i, True, i % 2 == 0) for i in range(200)]
    other = [plain(i, True, i % 2 == 0 or i < 20) for i in range(200)]
    d = paired_bootstrap(base, other, "evidence_accuracy")
    assert d is not None and d.difference == pytest.approx(0.05) and d.clear and d.low > 0.02


def test_seeded_and_matched_by_id():
    base = [plain(i, i % 4 != 0, i % 5 != 0) for i in range(80)]
    other = list(reversed([plain(i, i % 4 != 0, i % 6 != 0) for i in range(80)]))
    first = paired_bootstrap(base, other, "abstain_recall", seed=3)
    assert first == paired_bootstrap(base, other, "abstain_recall", seed=3)
    extra = other + [plain(999, False, True)]  # a question only one side asked is left out
    assert paired_bootstrap(base, extra, "abstain_recall", seed=3) == first


def test_ratio_metrics_follow_their_own_denominators():
    # abstention precision: right refusals over refusals; base refuses 2 answerable and 2 unanswerable questions
    base = [plain(0, True, False), plain(1, True, False), plain(2, False, False), plain(3, False, False)]
    other = [plain(0, True, True), plain(1, True, False), plain(2, False, False), plain(3, False, False)]
    d = paired_bootstrap(base, other, "abstain_precision", resamples=500)
    assert d is not None and d.difference == pytest.approx(2 / 3 - 1 / 2)
    mrr = paired_bootstrap([plain(0, True, True, rank=1)], [plain(0, True, True, rank=4)], "mrr")
    assert mrr is not None and mrr.difference == pytest.approx(-0.75)


def test_undefined_metrics_give_none_and_bad_arguments_are_named():
    answerable_only = [plain(i, True, True) for i in range(5)]
    assert paired_bootstrap(answerable_only, answerable_only, "abstain_recall") is None
    assert paired_bootstrap(answerable_only, [plain(9, True, True)], "evidence_accuracy") is None
    with pytest.raises(ValueError, match="metric"):
        paired_bootstrap(answerable_only, answerable_only, "accuracy")
    with pytest.raises(ValueError, match="resamples"):
        paired_bootstrap(answerable_only, answerable_only, "mrr", resamples=0)


def test_squad_records_are_judged_by_their_gold_answer():
    def squad(i: int, answerable: bool, answered: bool, correct: bool) -> dict:
        return {"id": str(i), "answerable": answerable, "answered": answered, "correct": correct, "question": "?"}

    base = [squad(i, i < 50, True, i < 25) for i in range(100)]  # answers all; right on half the answerable
    other = [squad(i, i < 50, i < 50, i < 25) for i in range(100)]  # refuses the 50 unanswerable
    d = paired_bootstrap(base, other, "overall_accuracy")
    assert d is not None and d.difference == pytest.approx(0.5) and d.clear
    kept = outcome_fields(base[0])
    assert kept == {"id": "0", "answerable": True, "answered": True, "correct": True}


def test_the_compare_verdict_gives_the_interval():
    base = [plain(i, True, i % 2 == 0) for i in range(200)]
    better = [plain(i, True, i % 2 == 0 or i < 20) for i in range(200)]
    worse = [plain(i, True, i % 2 == 0 and i >= 20) for i in range(200)]

    def row(label: str, records: list[dict]) -> dict:
        right = sum(r["answered"] and r["evidence_ok"] for r in records) / len(records)
        return {"label": label, "sets": {"article": {"metrics": {"evidence_accuracy": right}}}}

    rows = [row("default", base), row("new model", better), row("chunk_tokens 48", worse)]
    add_differences(rows, [{"article": base}, {"article": better}, {"article": worse}])
    assert "differences" not in rows[0]["sets"]["article"]
    assert rows[1]["sets"]["article"]["differences"]["evidence_accuracy"]["clear"] is True
    [line] = compare_verdict({"rows": rows})
    assert line.startswith("article: beats the defaults: new model on evidence_accuracy (0.550 vs 0.500, +0.050")
    assert "95% CI" in line and ", clear)" in line
    assert "; clearly worse: chunk_tokens 48 (evidence_accuracy -0.050 [" in line
