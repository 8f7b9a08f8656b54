"""Fit the answer model's calibration: P(the answer is right) from its score and the signals it cannot see.

    python eval/calibrate_answer_model.py            # writes rag/models/answer-minilm/calibration.json

    python eval/calibrate_answer_model.py --rows /tmp/rows.json   # keep the asked questions' features ...
    python eval/calibrate_answer_model.py --reuse /tmp/rows.json  # ... and refit without asking again

Fitted on questions the model was never trained on, in three groups:
- "pool": the pool's validation articles (answer_training.pool.is_validation), each article one document,
  asked through the real pipeline: answerable questions and, as many, SQuAD 2.0 train's real unanswerable
  questions on those articles (`validation_articles(with_unanswerable=True)`); `--perturbed N` adds N
  questions made unanswerable by the training script's perturbations, as the earlier fits had;
- "squad2-train": the pool's two held-out SQuAD 2.0 train articles, all their questions
  (answer_training.pool.real_unanswerable_articles);
- "dev": the `dev` items of eval/article_qa.jsonl and eval/fixture_qa.jsonl (weighted up: our domain).
The `test` items and the SQuAD 2.0 dev sample are never read. The answer model reads its whole shortlist
here (no early answer), so the map is from the best score it saw.

Every signal has a natural sign (`NATURAL_SIGN`: a missing word, number or name counts against an answer, a
matching answer type for it); a signal fitted with the other sign is left out and the map refitted, and a
signal whose removal does not lower the cross-validated decision accuracy is left out too (`select_signals`).
The threshold maximises the mean of the groups' decision accuracies (right answers plus right abstentions;
`best_threshold`). `--threshold-rule precision` takes instead the lowest threshold at which the answered
"pool" questions are right at least `--precision` (0.80) of the time (`precision_threshold`). Measured on
stage 18 (trained 2026-12-06, not shipped: the model card), that threshold is 0.70: it answers 18% of the
pool's questions and 23% of the dev items, and took the article set's evidence accuracy from 0.67 to 0.31,
so it is not the default;
the risk-coverage curves in calibration.json say what each threshold gives (`Settings.answer_threshold`).
The report gives each group's 5-fold cross-validated decision accuracy, precision and coverage, the ECE,
and the risk-coverage curve of each group.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

import numpy as np  # noqa: E402
from answer_training.perturbations import perturb  # noqa: E402
from answer_training.pool import real_unanswerable_articles, validation_articles, write_corpus  # noqa: E402

from rag.answer_model import MODEL_DIR  # noqa: E402
from rag.calibration import CALIBRATION_FILE, Calibration  # noqa: E402
from rag.evaluation import metrics as M  # noqa: E402
from rag.evaluation.datasets import default_paths, load_jsonl  # noqa: E402
from rag.sentences import split_sentences  # noqa: E402

FEATURES = (
    "bias",
    "model_logit",
    "missing_rare",
    "type_match",
    "document_match",
    "cosine",
    "span_prob",
    "missing_number",
    "unseen_name",
)
GROUPS = ("pool", "squad2-train", "dev")
# Signals that can only count against an answer: a question word, number or name the documents lack. In the
# calibration groups "question words the corpus never uses" marked answerable questions (SQuAD's writers and
# our paraphrases use their own words), so the plain fit gave it a positive weight, and an off-topic
# question got surer the more foreign its words: "Who is the mayor of Boston?" got "Joe Biden" at 0.42 from
# stage 15. No signal may now carry the wrong sign.
AGAINST = ("missing_rare", "missing_number", "unseen_name")
NATURAL_SIGN = {
    "model_logit": 1,
    "missing_rare": -1,
    "type_match": 1,
    "document_match": 1,
    "cosine": 1,
    "span_prob": 1,
    "missing_number": -1,
    "unseen_name": -1,
    "coverage": 1,
    "model_margin": 1,
}
PRECISION = 0.80
# what --rows keeps of each answer, so a refit with other features needs no new questions
RECORDED = FEATURES + ("coverage", "model_margin", "sentences_read")
SEED = 7
DEV_WEIGHT = 5.0


def pool_questions(articles: list[dict], per_kind: int, rng: random.Random, perturbed: int = 0) -> list[dict]:
    """Answerable questions (`per_kind`, else as many as the real unanswerables), the real unanswerables, and
    `perturbed` questions made unanswerable by the training perturbations; one document per article."""
    answerable, made_up, real = [], [], []
    for a_index, article in enumerate(articles):
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        for p in article["paragraphs"]:
            spans = split_sentences(p["context"]) if perturbed else []
            for qa in p["qas"]:
                if qa.get("is_impossible"):
                    reason = str(qa.get("unans_reason", "")).rstrip("*")
                    real.append(
                        {
                            "doc": a_index,
                            "question": qa["question"],
                            "answers": [],
                            "answerable": False,
                            "reason": reason,
                        }
                    )
                    continue
                if not qa["answers"]:
                    continue
                ans = qa["answers"][0]
                answerable.append(
                    {
                        "doc": a_index,
                        "question": qa["question"],
                        "answers": [x["text"] for x in qa["answers"]],
                        "answerable": True,
                    }
                )
                holder = [s for s in spans if s.start <= ans["answer_start"] < s.end]
                if holder:
                    sentence = p["context"][holder[0].start : holder[0].end]
                    made = perturb(qa["question"], sentence, p["context"], text, rng)
                    if made:
                        made_up.append(
                            {"doc": a_index, "question": made[1], "answers": [], "answerable": False, "reason": made[0]}
                        )
    rng.shuffle(answerable)
    rng.shuffle(made_up)
    return answerable[: per_kind or len(real)] + real + made_up[:perturbed]


def squad2_questions(articles: list[dict]) -> list[dict]:
    """Every question of the held-out SQuAD 2.0 train articles, unanswerable ones included."""
    out = []
    for a_index, article in enumerate(articles):
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                answers = [x["text"] for x in qa["answers"]] if not qa.get("is_impossible") else []
                out.append(
                    {"doc": a_index, "question": qa["question"], "answers": answers, "answerable": bool(answers)}
                )
    return out


def reading_settings(model: str, choice_weight: float):  # type: ignore[no-untyped-def]
    """Settings that read the whole shortlist and never abstain: the raw scores a fit learns from."""
    from rag import Settings

    probe = Settings()
    return Settings(
        answer_model=model, answer_threshold=0.0, rerank_first=probe.rerank_candidates, choice_weight=choice_weight
    )


@contextmanager
def articles_assistant(articles: list[dict], settings, prefix: str) -> Iterator:  # type: ignore[no-untyped-def]
    """An Assistant over pool articles (one document each), indexed in a temporary folder."""
    from rag import Assistant

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(corpus, articles)
        yield Assistant.load(corpus_dir=corpus, index_dir=Path(tmp) / "index", settings=settings)


def collect_pool(articles: list[dict], questions: list[dict], settings, group: str = "pool") -> list[dict]:
    rows = []
    with articles_assistant(articles, settings, "rag-calibrate-") as assistant:
        t0 = time.time()
        for n, q in enumerate(questions):
            answer = assistant.ask(q["question"])
            best = answer.citations or answer.related[:1]
            right = q["answerable"] and bool(best) and M.contains_answer(best[0].quote, q["answers"])
            features = {k: float(answer.signals.get(k, 0.0)) for k in RECORDED}
            rows.append(
                {
                    "features": features,
                    "right": right,
                    "answerable": q["answerable"],
                    "source": group,
                    "group": group,
                    "weight": 1.0,
                    "reason": q.get("reason", ""),
                }
            )
            if n % 200 == 0:
                print(f"  pool question {n}/{len(questions)} ({time.time() - t0:.0f}s)", flush=True)
    return rows


def collect_dev(settings) -> list[dict]:
    from rag.evaluation.runner import open_assistant

    paths = default_paths()
    rows = []
    for name, corpus in (("article", ROOT / "corpus"), ("fixture", paths["fixture_corpus"])):
        items = [i for i in load_jsonl(paths[f"{name}_set"]) if getattr(i, "split", "test") == "dev"]
        with open_assistant(corpus, settings) as assistant:
            for item in items:
                answer = assistant.ask(item.question, history=list(item.history) or None)
                best = [c.quote for c in (answer.citations or answer.related[:1])]
                right = item.answerable and M.evidence_quoted(best, item.evidence)
                rows.append(
                    {
                        "features": {k: float(answer.signals.get(k, 0.0)) for k in RECORDED},
                        "right": right,
                        "answerable": item.answerable,
                        "source": f"{name}-dev",
                        "group": "dev",
                        "weight": DEV_WEIGHT,
                    }
                )
    return rows


def fit(rows: list[dict], features: tuple[str, ...] = FEATURES, c: float = 1.0):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    x = np.array([[r["features"][k] for k in features[1:]] for r in rows])
    y = np.array([int(r["right"]) for r in rows])
    w = np.array([r["weight"] for r in rows])
    model = LogisticRegression(C=c, max_iter=1000)
    model.fit(x, y, sample_weight=w)
    return model


def to_calibration(model, threshold: float, features: tuple[str, ...] = FEATURES) -> Calibration:  # type: ignore[no-untyped-def]
    weights = (("bias", float(model.intercept_[0])),) + tuple(
        (k, float(v)) for k, v in zip(features[1:], model.coef_[0])
    )
    return Calibration(tuple((k, round(v, 4)) for k, v in weights), round(threshold, 3))


def wrong_signed(cal: Calibration) -> set[str]:
    """The signals whose fitted weight has the other sign than their meaning (NATURAL_SIGN)."""
    return {name for name, weight in cal.weights if weight * NATURAL_SIGN.get(name, 0) < 0}


def fitted_calibration(rows: list[dict], features: tuple[str, ...] = FEATURES, signed: bool = True) -> Calibration:
    """The fitted map (threshold 0.5). `signed` (the default): no signal keeps a weight of the wrong sign; one
    fitted so is left out and the rest refitted (a fit constrained to the right sign would put it at 0)."""
    kept = features
    while True:
        cal = to_calibration(fit(rows, kept), 0.5, kept)
        wrong = wrong_signed(cal) if signed else set()
        if not wrong:
            return cal
        kept = tuple(f for f in kept if f not in wrong)


def probabilities(rows: list[dict], cal: Calibration) -> np.ndarray:
    return np.array([cal.probability(r["features"]) for r in rows])


def _decisions(p: np.ndarray, right: np.ndarray, answerable: np.ndarray, threshold: float) -> dict[str, float]:
    """Decision accuracy, precision of the answers given and coverage (the share answered) at `threshold`."""
    answered = p >= threshold
    good = (answered & right) | (~answered & ~answerable)
    n_answered = int(answered.sum())
    return {
        "decision_accuracy": float(good.mean()) if len(p) else 0.0,
        "precision": float((answered & right).sum() / n_answered) if n_answered else 1.0,
        "coverage": float(answered.mean()) if len(p) else 0.0,
    }


def _outcomes(rows: list[dict], cal: Calibration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(right), right, answerable) of each row: computed once, then read at every threshold tried."""
    right = np.array([bool(r["right"]) for r in rows])
    answerable = np.array([bool(r["answerable"]) for r in rows])
    return probabilities(rows, cal), right, answerable


def _groups(rows: list[dict], cal: Calibration) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return {g: _outcomes(part, cal) for g in GROUPS if (part := [r for r in rows if r["group"] == g])}


def group_accuracy(rows: list[dict], cal: Calibration, threshold: float) -> dict[str, float]:
    return {g: v["decision_accuracy"] for g, v in group_decisions(rows, cal, threshold).items()}


def group_decisions(rows: list[dict], cal: Calibration, threshold: float) -> dict[str, dict[str, float]]:
    return {g: _decisions(*outcomes, threshold) for g, outcomes in _groups(rows, cal).items()}


THRESHOLDS = [t / 100 for t in range(5, 96)]


def best_threshold(rows: list[dict], cal: Calibration) -> float:
    """The threshold that maximises the mean of the groups' decision accuracies."""
    groups = _groups(rows, cal)
    grid = [t / 100 for t in range(20, 91)]

    def mean_accuracy(t: float) -> float:
        return float(np.mean([_decisions(*outcomes, t)["decision_accuracy"] for outcomes in groups.values()]))

    return max(grid, key=lambda t: (mean_accuracy(t), -abs(t - 0.5)))


def precision_threshold(rows: list[dict], cal: Calibration, precision: float = PRECISION, group: str = "pool") -> float:
    """The lowest threshold at which `group`'s answered questions are right at least `precision` of the time:
    within the precision asked for, as many questions answered as possible. If none reaches it, the
    threshold of the best precision."""
    outcomes = _outcomes([r for r in rows if r["group"] == group] or rows, cal)
    scored = [(t, _decisions(*outcomes, t)["precision"]) for t in THRESHOLDS]
    for t, prec in scored:
        if prec >= precision:
            return t
    return max(scored, key=lambda tp: tp[1])[0]


def risk_coverage(rows: list[dict], cal: Calibration) -> dict[str, list[list[float]]]:
    """Per group, (threshold, coverage, precision) every 0.05: what a stricter or looser threshold costs."""
    return {
        g: [
            [t, round(d["coverage"], 4), round(d["precision"], 4)]
            for t in [k / 20 for k in range(1, 20)]
            for d in [_decisions(*outcomes, t)]
        ]
        for g, outcomes in _groups(rows, cal).items()
    }


def cross_validate(
    rows: list[dict], features: tuple[str, ...], threshold_of, signed: bool = True
) -> tuple[dict[str, dict[str, float]], float]:  # type: ignore[no-untyped-def]
    """5-fold cross-validation of the whole fit (signals' signs and threshold included): each group's mean
    decision accuracy, precision and coverage on the held-out folds, and the ECE."""
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    folds = [order[k::5] for k in range(5)]
    per_group: dict[str, dict[str, list[float]]] = {}
    conf: list[float] = []
    right: list[bool] = []
    for k in range(5):
        held = set(folds[k])
        train = [rows[i] for i in order if i not in held]
        test = [rows[i] for i in folds[k]]
        cal = fitted_calibration(train, features, signed)
        thr = threshold_of(train, cal)
        for g, values in group_decisions(test, cal, thr).items():
            for name, v in values.items():
                per_group.setdefault(g, {}).setdefault(name, []).append(v)
        conf += list(probabilities(test, cal))
        right += [bool(r["right"]) for r in test]
    ece = float(M.expected_calibration_error(conf, right) or 0.0)
    return {g: {n: float(np.mean(v)) for n, v in values.items()} for g, values in per_group.items()}, ece


def cv_score(summary: dict[str, dict[str, float]]) -> float:
    """What signal selection maximises: the mean over groups of the cross-validated decision accuracy."""
    return float(np.mean([v["decision_accuracy"] for v in summary.values()]))


def select_signals(rows: list[dict], features: tuple[str, ...], threshold_of) -> tuple[tuple[str, ...], list[dict]]:  # type: ignore[no-untyped-def]
    """Backward selection: leave out, one at a time, the hand signal whose removal helps the cross-validated
    decision accuracy most (or costs nothing), until each one left adds measured accuracy. The model's own
    logit always stays. Returns the signals kept and the steps taken (for the report)."""
    kept = features
    summary, _ = cross_validate(rows, kept, threshold_of)
    score = cv_score(summary)
    steps = [{"signals": list(kept[1:]), "cv_mean_decision_accuracy": round(score, 4)}]
    while True:
        trials = []
        for name in kept:
            if name in ("bias", "model_logit"):
                continue
            fewer = tuple(f for f in kept if f != name)
            trials.append((cv_score(cross_validate(rows, fewer, threshold_of)[0]), name, fewer))
        if not trials:
            return kept, steps
        best_score, name, fewer = max(trials)
        if best_score < score:
            return kept, steps
        kept, score = fewer, best_score
        steps.append({"left_out": name, "cv_mean_decision_accuracy": round(score, 4)})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--per-kind", type=int, default=0, help="answerable pool questions (0: as many as the real unanswerables)"
    )
    ap.add_argument("--perturbed", type=int, default=0, help="pool questions made unanswerable by perturbation")
    ap.add_argument("--model", default=str(MODEL_DIR))
    ap.add_argument("--rows", type=Path, help="also write the asked questions' features here (JSON)")
    ap.add_argument("--reuse", type=Path, help="refit from features written by --rows, without asking again")
    ap.add_argument(
        "--features", default=",".join(FEATURES[1:]), help=f"signals the map may use, from {', '.join(RECORDED[1:])}"
    )
    ap.add_argument(
        "--choice-weight",
        type=float,
        default=0.0,
        help="the cheap scorer's share in the choice among the sentences read (eval/fit_choice_weight.py); "
        "recorded in calibration.json, and the questions are asked with it (with --reuse: they must have been)",
    )
    ap.add_argument("--precision", type=float, default=PRECISION, help="precision of answers the threshold keeps")
    ap.add_argument(
        "--threshold-rule",
        choices=("precision", "accuracy"),
        default="accuracy",
        help="accuracy: the best mean decision accuracy of the groups; precision: the lowest threshold with the "
        "pool's answers right --precision of the time (refuses most questions with today's model)",
    )
    ap.add_argument("--all-signals", action="store_true", help="keep every right-signed signal (no selection)")
    args = ap.parse_args(argv)
    if not 0.0 <= args.choice_weight <= 100.0:
        ap.error(f"--choice-weight must be between 0 and 100, not {args.choice_weight}")
    if not 0.0 < args.precision < 1.0:
        ap.error(f"--precision must be between 0 and 1, not {args.precision}")
    features = ("bias", *[f.strip() for f in args.features.split(",") if f.strip()])
    unknown = [f for f in features if f not in RECORDED]
    if unknown:
        ap.error(f"--features: unknown signal(s) {', '.join(unknown)}")

    folder = Path(args.model)
    if args.reuse:
        rows = json.loads(args.reuse.read_text(encoding="utf-8"))
    else:
        (folder / CALIBRATION_FILE).unlink(missing_ok=True)  # collect raw model scores, not calibrated ones
        settings = reading_settings(str(folder), args.choice_weight)
        rng = random.Random(SEED)
        articles = validation_articles(with_unanswerable=True)
        questions = pool_questions(articles, args.per_kind, rng, args.perturbed)
        real_articles = real_unanswerable_articles()
        real = squad2_questions(real_articles)
        print(
            f"validation articles: {len(articles)}; questions: {len(questions)}; squad2-train: {len(real)}", flush=True
        )
        rows = collect_pool(articles, questions, settings)
        rows += collect_pool(real_articles, real, settings, group="squad2-train")
        rows += collect_dev(settings)
        if args.rows:
            args.rows.write_text(json.dumps(rows), encoding="utf-8")

    def threshold_of(fit_rows: list[dict], cal: Calibration) -> float:
        if args.threshold_rule == "accuracy":
            return best_threshold(fit_rows, cal)
        return precision_threshold(fit_rows, cal, args.precision)

    steps: list[dict] = []
    if not args.all_signals:
        features, steps = select_signals(rows, features, threshold_of)
    summary, ece = cross_validate(rows, features, threshold_of)
    cal = fitted_calibration(rows, features)
    threshold = threshold_of(rows, cal)
    cal = Calibration(cal.weights, round(threshold, 3), args.choice_weight)
    report = {
        "weights": [list(w) for w in cal.weights],
        "threshold": cal.threshold,
        "threshold_rule": args.threshold_rule
        + (f" (pool answers right >= {args.precision})" if args.threshold_rule == "precision" else ""),
        "choice_weight": cal.choice_weight,
        "natural_signs": {k: NATURAL_SIGN[k] for k, _ in cal.weights if k in NATURAL_SIGN},
        "signal_selection": steps,
        "fitted_on": {
            **{f"{g}_questions": sum(r["group"] == g for r in rows) for g in GROUPS},
            **{f"{g}_answerable": sum(r["group"] == g and r["answerable"] for r in rows) for g in GROUPS},
            "dev_weight": DEV_WEIGHT,
        },
        "cross_validation": {
            **{f"{g}_{name}": round(v, 4) for g, values in summary.items() for name, v in values.items()},
            "ece": round(ece, 4),
        },
        "decision_accuracy": {g: round(v, 4) for g, v in group_accuracy(rows, cal, threshold).items()},
        "refused_by_cause": refused_by_cause(rows, cal, threshold),
        "always_abstain": {
            g: round(
                sum(not r["answerable"] for r in rows if r["group"] == g) / max(1, sum(r["group"] == g for r in rows)),
                4,
            )
            for g in GROUPS
        },
        "risk_coverage": risk_coverage(rows, cal),
        "command": "python eval/calibrate_answer_model.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    path = folder / CALIBRATION_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    print(json.dumps({k: v for k, v in report.items() if k != "risk_coverage"}, indent=2))
    return 0


def refused_by_cause(rows: list[dict], cal: Calibration, threshold: float) -> dict[str, dict[str, float]]:
    """The share of the real unanswerables refused, per SQuAD2-CR cause (E entity swap, # number swap, N negation,
    A antonym, X mutual exclusion, I no information) and per perturbation kind."""
    out: dict[str, dict[str, float]] = {}
    causes = sorted({r.get("reason", "") for r in rows if not r["answerable"] and r.get("reason")})
    for cause in causes:
        part = [r for r in rows if not r["answerable"] and r.get("reason") == cause]
        refused = float((probabilities(part, cal) < threshold).mean())
        out[cause] = {"n": len(part), "refused": round(refused, 4)}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
