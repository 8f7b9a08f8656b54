"""Fit the abstention model (Settings.confidence_weights, abstain_threshold) on the hand-written eval sets.

    python eval/tune_abstention.py            # prints the fitted weights, threshold and cross-validated scores

By default the threshold gets as close as it can to the targets of the eval issue (evidence accuracy
0.9, abstention precision and recall 0.85: the smallest total shortfall); `--objective utility` instead
scores +1 per right answer or right refusal and -0.5 per wrong quote.

Features are the `Answer.signals` the composer reports for every question. A logistic
regression separates answerable from unanswerable items; the threshold maximises accuracy of
the utility of the answer/abstain decision: +1 for an answer that quotes gold evidence or a
correct abstention, 0 for refusing an answerable question, -0.5 (--wrong-cost) for a wrong quote (answering an
unanswerable question, or quoting the wrong sentence): a wrong quote is worse than "don't know".
The SQuAD sample is deliberately not used here: it is the held-out check (`rag eval --squad`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FEATURES = ("cosine", "coverage", "type_match", "type_any", "missing_rare", "window_missing", "document_match")


def collect(assistant, items):
    rows = []
    for it in items:
        a = assistant.ask(it["question"], history=it.get("history") or None)
        quotes = [c.quote for c in a.citations] or [c.quote for c in a.related[:1]]
        hit = any(e in q or q in e for e in it["evidence"] for q in quotes)
        rows.append(([a.signals[f] for f in FEATURES], bool(it["answerable"]), hit))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument(
        "--wrong-cost",
        type=float,
        default=0.5,
        help="how much worse a wrong quote is than a refusal (0: only accuracy counts)",
    )
    parser.add_argument(
        "--objective",
        choices=("utility", "targets"),
        default="targets",
        help="utility: +1 right, -wrong_cost wrong; targets: smallest total shortfall from "
        "evidence accuracy 0.9 and abstention precision/recall 0.85 (issue targets)",
    )
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from rag import Assistant, Settings

    settings = Settings(abstain_threshold=0.0)  # answer everything so every item yields signals + a quote

    def read(path):
        return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]

    article = Assistant.load(corpus_dir=ROOT / "corpus", index_dir=ROOT / "index", settings=settings)
    rows = collect(article, read(ROOT / "eval" / "article_qa.jsonl"))
    with tempfile.TemporaryDirectory() as tmp:
        fixture = Assistant.load(
            corpus_dir=ROOT / "tests" / "fixtures" / "docs", index_dir=tmp, settings=settings, embedder=article.embedder
        )
        rows += collect(fixture, read(ROOT / "eval" / "fixture_qa.jsonl"))
    X = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    hit = np.array([r[2] for r in rows])

    def utility(p: np.ndarray, threshold: float, y=y, hit=hit) -> float:
        answered = p >= threshold
        good = np.where(y, answered & hit, ~answered)
        wrong = answered & ~(y & hit)
        return float(good.mean() - args.wrong_cost * wrong.mean())

    def shortfall(p: np.ndarray, threshold: float, y=y, hit=hit) -> float:
        answered = p >= threshold
        abstained = ~answered
        evidence = (answered & hit)[y].mean()
        precision = (abstained & ~y).sum() / max(1, abstained.sum())
        recall = (abstained & ~y).sum() / max(1, (~y).sum())
        return -float(max(0, 0.9 - evidence) + max(0, 0.85 - precision) + max(0, 0.85 - recall))

    objective = shortfall if args.objective == "targets" else utility

    def decision_accuracy(p: np.ndarray, threshold: float) -> float:
        answered = p >= threshold
        return float(np.where(y, answered & hit, ~answered).mean())

    grid = np.linspace(0.05, 0.95, 91)
    # cross-validated estimate of the whole procedure (fit + threshold choice)
    cv_scores = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        model = LogisticRegression(C=args.C, max_iter=5000).fit(X[train], y[train])
        p_train = model.predict_proba(X[train])[:, 1]
        t = max(grid, key=lambda t: objective(p_train, t, y[train], hit[train]))
        p_test = model.predict_proba(X[test])[:, 1]
        cv_scores.append(float(np.where(y[test], (p_test >= t) & hit[test], p_test < t).mean()))
    model = LogisticRegression(C=args.C, max_iter=5000).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    threshold = float(max(grid, key=lambda t: objective(p, t)))
    answered = p >= threshold
    abstained = ~answered
    precision = float((abstained & ~y).sum() / max(1, abstained.sum()))
    recall = float((abstained & ~y).sum() / max(1, (~y).sum()))
    weights = (("bias", round(float(model.intercept_[0]), 3)),) + tuple(
        (f, round(float(w), 3)) for f, w in zip(FEATURES, model.coef_[0])
    )
    print(
        json.dumps(
            {
                "items": int(len(y)),
                "unanswerable": int((~y).sum()),
                "always_abstain": round(float((~y).mean()), 3),
                "decision_accuracy_in_sample": round(decision_accuracy(p, threshold), 3),
                "utility_in_sample": round(utility(p, threshold), 3),
                "answered_with_gold_evidence": round(float((answered & hit)[y].mean()), 3),
                "wrong_quotes": round(float((answered & ~(y & hit)).mean()), 3),
                "decision_accuracy_5fold_cv": round(float(np.mean(cv_scores)), 3),
                "abstention_precision": round(precision, 3),
                "abstention_recall": round(recall, 3),
                "abstain_threshold": round(threshold, 3),
                "confidence_weights": weights,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
