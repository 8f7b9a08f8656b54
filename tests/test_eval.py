"""The evaluation harness: metric functions on hand-made cases, the runner, --check and SQuAD mode."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from rag.evaluation import check as C
from rag.evaluation import metrics as M
from rag.evaluation.runner import METRIC_KEYS
from rag.evaluation.squad import score_row

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DOCS = ROOT / "tests" / "fixtures" / "docs"


# ---- metrics --------------------------------------------------------------------------------------
def test_squad_normalisation():
    assert M.normalize_answer("The  Quick, Brown-Fox!") == "quick brownfox"
    assert M.normalize_answer("An apple a day") == "apple day"
    assert M.normalize_answer("  Theatre  ") == "theatre"  # 'the' only as a whole word
    assert M.normalize_answer("$2.4 million") == "24 million"


def test_token_f1():
    assert M.f1_score("the cat sat on the mat", "a cat on a mat") == pytest.approx(6 / 7)
    assert M.f1_score("Boston", "boston!") == 1.0
    assert M.f1_score("Seoul", "Boston") == 0.0
    assert M.f1_score("the", "a") == 1.0  # both normalise to nothing
    assert M.f1_score("the", "Boston") == 0.0
    assert M.max_f1("in April 2023", ["May", "April"]) == pytest.approx(0.5)  # P 1/3, R 1
    assert M.max_f1("anything", []) == 0.0


def test_containment_is_normalised_substring_without_citation_marks():
    assert M.contains_answer("He visited Boston in April. [1]", ["april"])
    assert M.contains_answer("He visited the Boston hub. [1]", ["a Boston hub"])
    assert M.contains_answer("Edgar's sister Margaret [2]", ["Edgar"])
    assert M.contains_answer("Dyrrachium—one of the bases", ["Dyrrachium"])
    assert not M.contains_answer("He visited Boston. [1]", ["Seoul"])
    assert not M.contains_answer("He visited Boston. [1]", ["1"])
    assert not M.contains_answer("anything", [])


def test_evidence_matching():
    quotes = ["A b c.  D e.", "F g."]
    assert M.quotes_evidence("A b c.\n\nD e.", "c. D e.")
    assert M.evidence_quoted(quotes, ["D e."])
    assert M.evidence_quoted(quotes, ["A b c.", "X."])
    assert not M.evidence_quoted(quotes, ["A b c.", "X."], need_all=True)
    assert M.evidence_quoted(quotes, ["A b c.", "F g."], need_all=True)
    assert not M.evidence_quoted(quotes, [])
    assert M.first_hit_rank(["foo", "bar baz.\n\nqux"], ["baz. qux"]) == 2
    assert M.first_hit_rank(["foo"], ["bar"]) is None


def test_hit_at_k_and_mrr():
    ranks = [1, 3, None, 2]
    assert M.hit_at_k(ranks, 1) == 0.25
    assert M.hit_at_k(ranks, 3) == 0.75
    assert M.hit_at_k(ranks, 5) == 0.75
    assert M.mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert M.hit_at_k([], 3) == 0.0 and M.mean_reciprocal_rank([]) == 0.0


def test_abstention_precision_recall():
    s = M.abstention_scores([True, True, False, False, False], [False, True, True, True, False])
    assert s == {
        "abstain_precision": pytest.approx(2 / 3),
        "abstain_recall": pytest.approx(2 / 3),
        "wrongly_refused": 0.5,
    }
    s = M.abstention_scores([True, False], [False, False])
    assert s["abstain_precision"] is None and s["abstain_recall"] == 0.0 and s["wrongly_refused"] == 0.0


def test_percentile():
    assert M.percentile([4, 1, 3, 2], 50) == 2.5
    assert M.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert M.percentile([], 50) is None


def test_squad_score_rows():
    answerable = [True, True, False, False]
    assert score_row(answerable, [True] * 4, [False] * 4) == {
        "answer_precision": None,  # nothing answered
        "answerable_accuracy": 0.0,
        "abstain_precision": 0.5,
        "abstain_recall": 1.0,
        "overall_accuracy": 0.5,
        "wrongly_refused": 1.0,
    }
    row = score_row(answerable, [False, True, True, False], [True, True, False, False])
    assert row["answerable_accuracy"] == 0.5  # the refused one does not count even if it 'contains'
    assert row["abstain_precision"] == 0.5 and row["abstain_recall"] == 0.5
    assert row["overall_accuracy"] == 0.5
    assert row["answer_precision"] == 0.5  # two answered: one right, one an answer to an unanswerable question


def test_set_summary_precision_counts_an_answered_unanswerable_as_wrong_and_ignores_refusals():
    from rag.evaluation.runner import summarise

    def record(answerable: bool, answered: bool, evidence_ok: bool) -> dict:
        return {
            "answerable": answerable,
            "answered": answered,
            "evidence_ok": evidence_ok,
            "evidence_strict_ok": evidence_ok,
            "contains": evidence_ok,
            "f1": 0.0,
            "rank": 1,
            "verbatim_ok": 1,
            "verbatim_total": 1,
            "latency_ms": 10.0,
            "confidence": 0.5,
            "tags": [],
        }

    records = [record(True, True, True), record(True, True, False), record(False, True, False)]
    records += [record(True, False, False), record(False, False, False)]  # refusals: not in the precision
    assert summarise(records)["answer_precision"] == round(1 / 3, 4)
    assert summarise([record(True, False, False)])["answer_precision"] is None


def test_check_compare_policy():
    base = {"article": {"hit_at_3": 1.0, "exact_quote_rate": 1.0, "latency_p50_ms": 10.0, "wrongly_refused": 0.1}}
    ok = {"article": {"hit_at_3": 0.985, "exact_quote_rate": 1.0, "latency_p50_ms": 30.0, "wrongly_refused": 0.11}}
    assert C.compare(ok, base) == ([], [])
    bad = {"article": {"hit_at_3": 0.95, "exact_quote_rate": 0.99, "latency_p50_ms": 40.0, "wrongly_refused": 0.2}}
    failures, _ = C.compare(bad, base)
    text = "\n".join(failures)
    for name in ("article.hit_at_3", "article.exact_quote_rate", "article.latency_p50_ms", "article.wrongly_refused"):
        assert name in text
    assert "by 0.0500" in text
    failures, notes = C.compare({}, base)
    assert failures == [] and notes == ["article: not run, not checked"]


# ---- the runner and the CLI -------------------------------------------------------------------------
def _args(argv: list[str]) -> argparse.Namespace:
    from rag.evaluation.cli import add_arguments

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--settings", type=Path, default=None)
    add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory):
    """`rag eval --sets fixture --json ...` once for the module (the fixture set in a temporary index)."""
    from rag.evaluation.cli import run

    out = tmp_path_factory.mktemp("eval") / "report.json"
    assert run(_args(["--sets", "fixture", "--json", str(out)])) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_fixture_run_quotes_are_verbatim(fixture_report):
    fixture = fixture_report["sets"]["fixture"]
    assert fixture["metrics"]["exact_quote_rate"] == 1.0
    assert fixture["counts"]["citations_not_verbatim"] == 0
    assert fixture["counts"]["citations_checked"] > 0


def test_report_json_has_every_key(fixture_report):
    for key in ("generated", "version", "commit", "settings", "model_load_seconds", "sets"):
        assert key in fixture_report
    fixture = fixture_report["sets"]["fixture"]
    assert set(METRIC_KEYS) <= set(fixture["metrics"])
    for key in ("name", "corpus", "index", "metrics", "counts", "by_tag", "items"):
        assert key in fixture
    assert fixture["by_tag"]["unanswerable-absent"]["items"] > 0
    for key in ("items", "answerable", "unanswerable", "answered", "citations_checked", "with_problems"):
        assert key in fixture["counts"]
    assert fixture["counts"]["items"] == len(fixture["items"]) >= 20
    item = fixture["items"][0]
    for key in (
        "id",
        "question",
        "answerable",
        "answered",
        "confidence",
        "answer",
        "quotes",
        "rank",
        "evidence_ok",
        "contains",
        "f1",
        "latency_ms",
        "problems",
    ):
        assert key in item
    for key in (
        "hit_at_1",
        "hit_at_3",
        "hit_at_5",
        "mrr",
        "evidence_accuracy",
        "answer_containment",
        "token_f1",
        "abstain_precision",
        "abstain_recall",
        "wrongly_refused",
    ):
        value = fixture["metrics"][key]
        assert value is None or 0.0 <= value <= 1.0, key
    assert fixture["metrics"]["latency_p50_ms"] <= fixture["metrics"]["latency_p95_ms"]


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """Three lighthouse questions over a one-document corpus: enough to exercise --check quickly."""
    tmp = tmp_path_factory.mktemp("tiny")
    corpus = tmp / "docs"
    corpus.mkdir()
    shutil.copy(FIXTURE_DOCS / "lighthouse.md", corpus / "lighthouse.md")
    lines = [
        line
        for line in (ROOT / "eval" / "fixture_qa.jsonl").read_text(encoding="utf-8").splitlines()
        if '"lighthouse.md"' in line
    ][:3]
    assert len(lines) == 3
    (tmp / "tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp


def test_check_fails_naming_the_metric(tiny_set, capsys):
    from rag.evaluation.cli import run

    baseline = tiny_set / "baseline.json"
    baseline.write_text(json.dumps({"sets": {"fixture": {"hit_at_1": 2.0, "exact_quote_rate": 1.0}}}))
    argv = [
        "--sets",
        "fixture",
        "--fixture-set",
        str(tiny_set / "tiny.jsonl"),
        "--fixture-corpus",
        str(tiny_set / "docs"),
        "--baseline",
        str(baseline),
    ]
    assert run(_args(argv + ["--check"])) == 1
    err = capsys.readouterr().err
    assert "fixture.hit_at_1 fell from 2.0000" in err
    assert "exact_quote_rate" not in err

    # a freshly written baseline passes its own check, and keeps sets that were not run
    baseline.write_text(json.dumps({"sets": {"squad": {"overall_accuracy": 0.5}}}))
    assert run(_args(argv + ["--write-baseline"])) == 0
    written = json.loads(baseline.read_text())
    assert set(written["sets"]) == {"fixture", "squad"} and "tolerance" in written
    assert set(written["sets"]["fixture"]) <= set(C.POLICY)
    written["sets"]["fixture"].pop("latency_p50_ms")  # quality is deterministic; latency is not
    baseline.write_text(json.dumps(written))
    assert run(_args(argv + ["--check"])) == 0


def test_readme_blocks_are_replaced_between_markers(fixture_report, tmp_path):
    from rag.evaluation.report import update_readme

    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- eval:sets -->\nOLD-TEXT\n<!-- /eval:sets -->\n<!-- eval:squad -->\nkeep\n"
        "<!-- /eval:squad -->\n<!-- eval:risk -->\n<!-- /eval:risk -->\nend\n",
        encoding="utf-8",
    )
    assert update_readme(readme, fixture_report) == ["sets", "risk"]
    text = readme.read_text(encoding="utf-8")
    assert "OLD-TEXT" not in text and "| exact-quote rate | 1.000 |" in text
    assert "<!-- eval:risk -->\n| set |" in text and "_\n<!-- /eval:risk -->" in text  # an empty block filled
    assert "keep" in text and text.startswith("intro\n") and text.endswith("end\n")


# ---- SQuAD format ---------------------------------------------------------------------------------
TINY_SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Zorvian_Canal",
            "paragraphs": [
                {
                    "context": "The Zorvian Canal was completed in 1887 by the engineer Ada Whitcombe. It links the "
                    "port of Talmouth with the inland city of Brenn. The canal is 42 kilometres long.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Which engineer completed the Zorvian Canal?",
                            "is_impossible": False,
                            "answers": [{"text": "Ada Whitcombe", "answer_start": 56}],
                        },
                        {
                            "id": "q2",
                            "question": "Who was the first lock keeper of the Zorvian Canal?",
                            "is_impossible": True,
                            "answers": [],
                            "plausible_answers": [{"text": "Ada Whitcombe", "answer_start": 56}],
                        },
                    ],
                },
                {
                    "context": "Barges on the canal mostly carry coal and timber. In 1923 a flood closed the canal "
                    "for six months. Tolls were abolished in 1961.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "For how long did the 1923 flood close the canal?",
                            "is_impossible": False,
                            "answers": [
                                {"text": "six months", "answer_start": 83},
                                {"text": "six months", "answer_start": 83},
                            ],
                        },
                        {
                            "id": "q4",
                            "question": "How many barges use the canal every year?",
                            "is_impossible": True,
                            "answers": [],
                            "plausible_answers": [{"text": "coal and timber", "answer_start": 33}],
                        },
                    ],
                },
            ],
        }
    ],
}


def test_squad_mode_on_a_tiny_inline_file(tmp_path):
    from rag.evaluation.datasets import load_squad
    from rag.evaluation.squad import run_squad

    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(TINY_SQUAD), encoding="utf-8")
    articles = load_squad(path)
    assert len(articles) == 1 and len(articles[0].paragraphs) == 2
    assert articles[0].text.count("\n\n") == 1
    assert [q.answers for q in articles[0].questions] == [("Ada Whitcombe",), (), ("six months",), ()]

    result = run_squad(path)
    counts = dict(result["counts"])
    assert counts.pop("answered") == sum(1 for i in result["items"] if i["answered"])
    assert counts == {"articles": 1, "paragraphs": 2, "questions": 4, "answerable": 2, "unanswerable": 2}
    rows = result["rows"]
    assert rows["always_abstain"] == {
        "answer_precision": None,
        "answerable_accuracy": 0.0,
        "abstain_precision": 0.5,
        "abstain_recall": 1.0,
        "overall_accuracy": 0.5,
        "wrongly_refused": 1.0,
    }
    # the closest sentence by cosine holds both answers; never abstaining gets the unanswerable ones wrong
    assert rows["top1_cosine"]["answerable_accuracy"] == 1.0
    assert rows["top1_cosine"]["abstain_recall"] == 0.0 and rows["top1_cosine"]["abstain_precision"] is None
    assert rows["top1_cosine"]["overall_accuracy"] == 0.5
    engine = rows["engine"]
    assert engine["exact_quote_rate"] == 1.0
    items = result["items"]
    expected_overall = (
        sum((i["answerable"] and i["correct"]) or (not i["answerable"] and not i["answered"]) for i in items) / 4
    )
    assert engine["overall_accuracy"] == expected_overall
    assert engine["answerable_accuracy"] == sum(i["correct"] for i in items if i["answerable"]) / 2
    assert result["metrics"] is engine or result["metrics"] == engine


def test_compare_puts_other_answer_models_beside_the_shipped_one():
    from rag import Settings
    from rag.evaluation.compare import ablations

    rows = ablations(Settings(answer_threshold=0.7), models=["/models/stage-16"])
    labels = [label for label, _ in rows]
    assert labels[0].startswith("default") and labels[1] == "answer model /models/stage-16"
    other = rows[1][1]
    assert other.answer_model == "/models/stage-16" and other.answer_threshold is None  # its own calibration
    assert rows[0][1].answer_model == "answer-minilm"


def test_risk_coverage_answers_fewer_and_better_as_the_threshold_rises():
    from rag.evaluation import metrics as M

    curve = M.risk_coverage([0.9, 0.8, 0.6, 0.4, 0.2], [True, True, False, True, False], [0.1, 0.5, 0.7, 0.95])
    assert curve == [
        {"threshold": 0.1, "coverage": 1.0, "precision": 0.6},
        {"threshold": 0.5, "coverage": 0.6, "precision": 0.6667},
        {"threshold": 0.7, "coverage": 0.4, "precision": 1.0},
        {"threshold": 0.95, "coverage": 0.0, "precision": None},
    ]


@pytest.mark.parametrize(
    "span, exact, holds",
    [
        ("the Boston hub", True, True),  # SQuAD normalisation: articles, case
        ("Boston", False, False),  # shorter than every gold answer
        ("Boston hub in Massachusetts", False, True),
        ("Seoul", False, False),
    ],
)
def test_a_short_answer_is_scored_by_exact_match_and_by_holding_a_gold_answer(span, exact, holds):
    from rag.evaluation import metrics as M

    golds = ["Boston hub", "the biotech hub in Boston"]
    assert M.exact_match(span, golds) is exact
    assert M.contains_answer(span, golds) is holds


def test_short_answer_scores_count_only_answered_questions_with_a_span():
    from rag.evaluation import metrics as M

    records = [
        {"answered": True, "short_answer": "Boston hub", "short_exact": True, "short_contains": True},
        {"answered": True, "short_answer": "the hub in Boston", "short_exact": False, "short_contains": True},
        {"answered": True, "short_answer": "Seoul", "short_exact": False, "short_contains": False},
        {"answered": True, "short_answer": None, "short_exact": False, "short_contains": False},
        {"answered": False, "short_answer": "Boston hub", "short_exact": True, "short_contains": True},
    ]
    scores = M.short_answer_scores(records)
    assert scores == {"short_answer_exact": 1 / 3, "short_answer_contains": 2 / 3, "short_answer_given": 3 / 4}
    assert M.short_answer_scores([]) == dict.fromkeys(scores)


def test_each_set_reports_its_risk_coverage_curve_and_the_report_tabulates_it(fixture_report):
    from rag.evaluation.report import RISK_COVERAGE_STEPS, markdown

    fixture = fixture_report["sets"]["fixture"]
    curve = fixture["risk_coverage"]
    coverage = [p["coverage"] for p in curve]
    assert coverage == sorted(coverage, reverse=True) and 0.0 <= coverage[-1] <= coverage[0] <= 1.0
    items = fixture["items"]
    # the coverage at a threshold is the share of questions whose confidence clears it
    point = next(p for p in curve if p["threshold"] == 0.5)
    assert point["coverage"] == round(sum(i["confidence"] >= 0.5 for i in items) / len(items), 4)
    for key in ("short_answer_exact", "short_answer_contains", "short_answer_given"):
        value = fixture["metrics"][key]
        assert value is None or 0.0 <= value <= 1.0, key
    text = markdown(fixture_report)
    assert "### Risk–coverage" in text
    rows = [line for line in text.splitlines() if line.startswith("| fixture | coverage")]
    assert len(rows) == 1 and rows[0].count("|") == len(RISK_COVERAGE_STEPS) + 3


def test_the_bootstrap_restates_each_metric_as_the_report_computes_it(fixture_report):
    """significance.PARTS defines the metrics a second time, as ratios of sums: on a real run they must agree."""
    from rag.evaluation.significance import PARTS

    fixture = fixture_report["sets"]["fixture"]
    checked = 0
    for name, parts in PARTS.items():
        if fixture["metrics"].get(name) is None:
            continue
        num, den = map(sum, zip(*(parts(r) for r in fixture["items"])))
        assert round(num / den, 4) == pytest.approx(fixture["metrics"][name], abs=1e-4), name
        checked += 1
    assert checked >= 6
