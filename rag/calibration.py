"""The answer decision: a logistic map from the answer model's logit and the signals it cannot see to
P(the answer is right), and the threshold below which the composer abstains (`calibration.json`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .answer_model import MODEL_DIR
from .errors import ModelError


@dataclass(frozen=True)
class Calibration:
    """Logistic map from the model's logit and the signals it cannot see to P(the answer is right)."""

    weights: tuple[tuple[str, float], ...]
    threshold: float
    # The choice among the sentences read: the model's logit plus this times the cheap scorer's score. The
    # model alone picks the answer sentence less often than both (fitted by eval/fit_choice_weight.py).
    choice_weight: float = 0.0

    def probability(self, features: dict[str, float]) -> float:
        z = sum(w * features.get(name, 0.0) for name, w in self.weights)
        z = max(-30.0, min(30.0, z))
        return float(1.0 / (1.0 + np.exp(-z)))


CALIBRATION_FILE = "calibration.json"


def load_calibration(folder: Path = MODEL_DIR) -> Calibration:
    path = folder / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(
            tuple((str(k), float(v)) for k, v in data["weights"]),
            float(data["threshold"]),
            float(data.get("choice_weight", 0.0)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Before calibration has been fitted: the raw logit, threshold at even odds.
        if path.exists():
            raise ModelError(f"answer model calibration unreadable: {path}: {exc}") from exc
        return Calibration((("model_logit", 1.0),), 0.5)
