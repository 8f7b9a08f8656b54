"""The answer model's calibration fit (eval/calibrate_answer_model.py) on inline rows: with `--signed`, no
signal that a question word, number or name is missing may count for an answer."""

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
    plain = dict(C.fitted_calibration(rows, FEATURES).weights)
    assert plain["missing_rare"] > 0  # what the plain fit learns
    signed = dict(C.fitted_calibration(rows, FEATURES, signed=True).weights)
    assert "missing_rare" not in signed and signed["model_logit"] > 0
    assert signed == dict(C.to_calibration(C.fit(rows, FEATURES[:2]), 0.5, FEATURES[:2]).weights)


def test_a_missing_word_signal_that_counts_against_an_answer_is_kept():
    rows = _rows(missing_rare_when_right=0.0, missing_rare_when_wrong=1.0)
    signed = dict(C.fitted_calibration(rows, FEATURES, signed=True).weights)
    assert signed["missing_rare"] < 0 and signed["model_logit"] > 0
