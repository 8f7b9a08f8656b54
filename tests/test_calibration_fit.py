"""The answer model's calibration fit (eval/calibrate_answer_model.py) on inline rows: no signal keeps a weight
of the wrong sign, a signal that adds nothing is left out, and the threshold keeps the precision asked for."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))
import calibrate_answer_model as C  # noqa: E402

FEATURES = ("bias", "model_logit", "missing_rare")


def _rows(missing_rare_when_right: float, missing_rare_when_wrong: float) -> list[dict]:
    rows = []
    for i in range(40):
        right = i % 2 == 0
        logit = (1.0 if right else -1.0) + (i % 5) * 0.3 - 0.6
        rare = missing_rare_when_right if right else missing_rare_when_wrong
        rows.append(
            {
                "features": {"model_logit": logit, "missing_rare": rare if i % 3 else 0.0},
                "right": right,
                "answerable": right,
                "group": "pool",
                "weight": 1.0,
            }
        )
    return rows


def test_a_missing_word_signal_that_would_count_for_an_answer_is_left_out():
    rows = _rows(missing_rare_when_right=1.0, missing_rare_when_wrong=0.0)  # the groups' artefact
    plain = dict(C.fitted_calibration(rows, FEATURES, signed=False).weights)
    assert plain["missing_rare"] > 0  # what the plain fit learns
    signed = dict(C.fitted_calibration(rows, FEATURES, signed=True).weights)
    assert "missing_rare" not in signed and signed["model_logit"] > 0
    assert signed == dict(C.to_calibration(C.fit(rows, FEATURES[:2]), 0.5, FEATURES[:2]).weights)


def test_a_missing_word_signal_that_counts_against_an_answer_is_kept():
    rows = _rows(missing_rare_when_right=0.0, missing_rare_when_wrong=1.0)
    signed = dict(C.fitted_calibration(rows, FEATURES, signed=True).weights)
    assert signed["missing_rare"] < 0 and signed["model_logit"] > 0


def test_a_matching_answer_type_that_the_fit_would_count_against_an_answer_is_left_out():
    rows = _rows(0.0, 0.0)
    for i, r in enumerate(rows):
        r["features"]["type_match"] = 1.0 if not r["right"] and i % 3 else 0.0  # matches only on wrong answers
    cal = C.fitted_calibration(rows, ("bias", "model_logit", "type_match"))
    assert "type_match" not in dict(cal.weights) and not C.wrong_signed(cal)


def _graded_rows() -> list[dict]:
    """Confidence rises with the logit; of the 10 answerable questions the 8 with the highest logits are right."""
    rows = []
    for i in range(20):
        answerable = i >= 10
        rows.append(
            {
                "features": {"model_logit": (i - 10) / 2, "noise": float(i % 2)},
                "right": answerable and i >= 12,
                "answerable": answerable,
                "group": "pool",
                "weight": 1.0,
            }
        )
    return rows


def test_the_precision_threshold_is_the_lowest_that_keeps_the_answers_right_often_enough():
    rows = _graded_rows()
    cal = C.Calibration((("model_logit", 1.0),), 0.5)  # p = sigmoid(logit)
    t = C.precision_threshold(rows, cal, precision=0.8)
    p = C.probabilities(rows, cal)
    answered = [r for r, pr in zip(rows, p) if pr >= t]
    assert sum(r["right"] for r in answered) / len(answered) >= 0.8
    looser = max(x for x in C.THRESHOLDS if x < t)
    answered = [r for r, pr in zip(rows, p) if pr >= looser]
    assert sum(r["right"] for r in answered) / len(answered) < 0.8  # one step lower falls short
    curve = C.risk_coverage(rows, cal)["pool"]
    assert [c for _, c, _ in curve] == sorted((c for _, c, _ in curve), reverse=True)  # stricter, fewer answered


def test_a_signal_that_adds_no_accuracy_is_not_kept():
    rows = _graded_rows() * 3
    kept, steps = C.select_signals(rows, ("bias", "model_logit", "noise"), C.best_threshold)
    assert kept == ("bias", "model_logit") and steps[-1]["left_out"] == "noise"


def test_the_shipped_calibration_gives_every_signal_its_natural_sign():
    from rag.calibration import load_calibration

    cal = load_calibration()
    assert {name for name, _ in cal.weights} - {"bias"} <= set(C.NATURAL_SIGN)
    assert not C.wrong_signed(cal), cal.weights
