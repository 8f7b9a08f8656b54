"""Fit the answer model's calibration: P(the answer is right) from its score and the signals it cannot see.

    python eval/calibrate_answer_model.py            # writes rag/models/answer-minilm/calibration.json

    python eval/calibrate_answer_model.py --rows /tmp/rows.json   # keep the asked questions' features ...
    python eval/calibrate_answer_model.py --reuse /tmp/rows.json  # ... and refit without asking again

Fitted on questions the model was never trained on, in three groups:
- "pool": the pool's validation articles (answer_training.pool.is_validation), each article one document,
  asked through the real pipeline: answerable questions and the same number made unanswerable by the
  training script's perturbations (a swapped name/number/word, a negation, an added condition);
- "squad2-train": the two held-out pool articles written for SQuAD 2.0 (train split), all their questions,
  with the crowdworkers' real unanswerables (answer_training.pool.real_unanswerable_articles);
- "dev": the `dev` items of eval/article_qa.jsonl and eval/fixture_qa.jsonl (weighted up: our domain).
The `test` items and the SQuAD 2.0 dev sample are never read. The answer model reads its whole shortlist
here (no early answer), so the map is from the best score it saw. The threshold maximises the mean of the
three groups' decision accuracies (right answers plus right abstentions); the report gives each group's
5-fold cross-validated decision accuracy and the ECE.
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
# calibration groups "question words the corpus never uses" marks answerable questions (SQuAD's writers and
# our paraphrases use their own words), so the plain fit gives it a positive weight, and an off-topic
# question gets surer the more foreign its words: "Who is the mayor of Boston?" got "Joe Biden" at 0.42 from
# stage 15. `--signed` fits without that; it also refused paraphrases again, so it is not the default.
AGAINST = ("missing_rare", "missing_number", "unseen_name")
# what --rows keeps of each answer, so a refit with other features needs no new questions
RECORDED = FEATURES + ("coverage", "model_margin", "sentences_read")
SEED = 7
DEV_WEIGHT = 5.0


def pool_questions(articles: list[dict], per_kind: int, rng: random.Random) -> list[dict]:
    """Answerable questions, perturbed copies (unanswerable) and the real unanswerables, one doc per article."""
    answerable, perturbed, real = [], [], []
    for a_index, article in enumerate(articles):
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        for p in article["paragraphs"]:
            spans = split_sentences(p["context"])
            for qa in p["qas"]:
                if qa.get("is_impossible"):
                    real.append({"doc": a_index, "question": qa["question"], "answers": [], "answerable": False})
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
                start = ans["answer_start"]
                holder = [s for s in spans if s.start <= start < s.end]
                if holder:
                    sentence = p["context"][holder[0].start : holder[0].end]
                    made = perturb(qa["question"], sentence, p["context"], text, rng)
                    if made:
                        perturbed.append(
                            {
                                "doc": a_index,
                                "question": made[1],
                                "answers": [],
                                "answerable": False,
                                "perturbation": made[0],
                            }
                        )
    rng.shuffle(answerable)
    rng.shuffle(perturbed)
    return answerable[:per_kind] + perturbed[:per_kind] + real


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
            # The perturbations never add a word the corpus lacks, so in the pool "question words the corpus
            # never uses" only ever marks answerable questions: an artifact. That signal is learnt from the
            # real questions alone (the SQuAD 2.0 train articles and the dev items).
            if group == "pool":
                features["missing_rare"] = 0.0
            rows.append(
                {
                    "features": features,
                    "right": right,
                    "answerable": q["answerable"],
                    "source": group,
                    "group": group,
                    "weight": 1.0,
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


def fitted_calibration(rows: list[dict], features: tuple[str, ...] = FEATURES, signed: bool = False) -> Calibration:
    """The fitted map (threshold 0.5). `signed`: no AGAINST signal weighs for an answer; one fitted with a
    positive weight is left out and the rest refitted (a fit constrained to a weight of at most 0 puts it at 0)."""
    kept = features
    while True:
        cal = to_calibration(fit(rows, kept), 0.5, kept)
        wrong = {name for name, weight in cal.weights if signed and name in AGAINST and weight > 0}
        if not wrong:
            return cal
        kept = tuple(f for f in kept if f not in wrong)


def decision_accuracy(rows: list[dict], cal: Calibration, threshold: float) -> float:
    """Right answers plus right abstentions, over all rows."""
    good = 0
    for r in rows:
        p = cal.probability(r["features"])
        good += (p >= threshold and r["right"]) or (p < threshold and not r["answerable"])
    return good / len(rows) if rows else 0.0


def group_accuracy(rows: list[dict], cal: Calibration, threshold: float) -> dict[str, float]:
    return {
        g: decision_accuracy([r for r in rows if r["group"] == g], cal, threshold)
        for g in GROUPS
        if any(r["group"] == g for r in rows)
    }


def best_threshold(rows: list[dict], cal: Calibration) -> float:
    """The threshold that maximises the mean of the groups' decision accuracies."""
    grid = [t / 100 for t in range(20, 91)]
    return max(grid, key=lambda t: (float(np.mean(list(group_accuracy(rows, cal, t).values()))), -abs(t - 0.5)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=1000, help="answerable and perturbed questions each")
    ap.add_argument("--model", default=str(MODEL_DIR))
    ap.add_argument("--rows", type=Path, help="also write the asked questions' features here (JSON)")
    ap.add_argument("--reuse", type=Path, help="refit from features written by --rows, without asking again")
    ap.add_argument(
        "--features", default=",".join(FEATURES[1:]), help=f"signals the map uses, from {', '.join(RECORDED[1:])}"
    )
    ap.add_argument(
        "--choice-weight",
        type=float,
        default=0.0,
        help="the cheap scorer's share in the choice among the sentences read (eval/fit_choice_weight.py); "
        "recorded in calibration.json, and the questions are asked with it (with --reuse: they must have been)",
    )
    ap.add_argument(
        "--signed",
        action="store_true",
        help="no signal that something the question asks is missing may count for an answer (AGAINST)",
    )
    args = ap.parse_args(argv)
    if not 0.0 <= args.choice_weight <= 100.0:
        ap.error(f"--choice-weight must be between 0 and 100, not {args.choice_weight}")
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
        articles = validation_articles()
        questions = pool_questions(articles, args.per_kind, rng)
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
    # 5-fold cross-validation of the whole fit (threshold included)
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    folds = [order[k::5] for k in range(5)]
    cv: dict[str, list[float]] = {g: [] for g in GROUPS}
    cv_conf, cv_right = [], []
    for k in range(5):
        held = set(folds[k])
        train = [rows[i] for i in order if i not in held]
        test = [rows[i] for i in folds[k]]
        cal0 = fitted_calibration(train, features, args.signed)
        thr = best_threshold(train, cal0)
        for g, acc in group_accuracy(test, cal0, thr).items():
            cv[g].append(acc)
        cv_conf += [cal0.probability(r["features"]) for r in test]
        cv_right += [r["right"] for r in test]
    cal = fitted_calibration(rows, features, args.signed)
    threshold = best_threshold(rows, cal)
    cal = Calibration(cal.weights, round(threshold, 3), args.choice_weight)
    report = {
        "weights": [list(w) for w in cal.weights],
        "threshold": cal.threshold,
        "choice_weight": cal.choice_weight,
        "fitted_on": {
            **{f"{g}_questions": sum(r["group"] == g for r in rows) for g in GROUPS},
            **{f"{g}_answerable": sum(r["group"] == g and r["answerable"] for r in rows) for g in GROUPS},
            "dev_weight": DEV_WEIGHT,
        },
        "cross_validation": {
            **{f"{g}_decision_accuracy": round(float(np.mean(v)), 4) for g, v in cv.items() if v},
            "ece": round(float(M.expected_calibration_error(cv_conf, cv_right) or 0.0), 4),
        },
        "decision_accuracy": {g: round(v, 4) for g, v in group_accuracy(rows, cal, threshold).items()},
        "always_abstain": {
            g: round(
                sum(not r["answerable"] for r in rows if r["group"] == g) / max(1, sum(r["group"] == g for r in rows)),
                4,
            )
            for g in GROUPS
        },
        "command": "python eval/calibrate_answer_model.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    path = folder / CALIBRATION_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
