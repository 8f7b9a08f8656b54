"""Fit the answer model's calibration: P(the answer is right) from its score and the signals it cannot see.

    python eval/calibrate_answer_model.py            # writes rag/models/answer-minilm/calibration.json

Fitted on questions the model was never trained on:
- the pool's validation articles (train_answer_model.is_validation), each article one document, asked
  through the real pipeline: their answerable questions, the same number made unanswerable by the
  training script's perturbations (a swapped name/number/word, a negation, an added condition), and
  the pool's real unanswerable questions of those articles;
- the `dev` items of eval/article_qa.jsonl and eval/fixture_qa.jsonl (weighted up: they are our domain).
The `test` items and the SQuAD 2.0 dev sample are never read. The report gives 5-fold cross-validated
decision accuracy and ECE, and the threshold that maximises overall accuracy on the pool's validation
questions (answer when P(right) >= threshold).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

import numpy as np  # noqa: E402
import train_answer_model as T  # noqa: E402

from rag.answer_model import CALIBRATION_FILE, MODEL_DIR, Calibration  # noqa: E402
from rag.evaluation import metrics as M  # noqa: E402
from rag.evaluation.datasets import default_paths, load_jsonl  # noqa: E402

FEATURES = ("bias", "model_logit", "model_margin", "missing_rare", "type_match", "coverage", "document_match")
SEED = 7
DEV_WEIGHT = 5.0


def pool_questions(articles: list[dict], per_kind: int, rng: random.Random) -> list[dict]:
    """Answerable questions, perturbed copies (unanswerable) and the real unanswerables, one doc per article."""
    answerable, perturbed, real = [], [], []
    for a_index, article in enumerate(articles):
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        for p in article["paragraphs"]:
            spans = T.split_sentences(p["context"])
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
                    made = T.perturb(qa["question"], sentence, p["context"], text, rng)
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


def collect_pool(articles: list[dict], questions: list[dict], settings) -> list[dict]:
    from rag import Assistant

    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-calibrate-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        names = []
        for i, article in enumerate(articles):
            name = f"{i:02d}-{article['title'][:40].replace('/', '_')}.txt"
            (corpus / name).write_text(
                "\n\n".join(p["context"] for p in article["paragraphs"]) + "\n", encoding="utf-8"
            )
            names.append(name)
        assistant = Assistant.load(corpus_dir=corpus, index_dir=Path(tmp) / "index", settings=settings)
        t0 = time.time()
        for n, q in enumerate(questions):
            answer = assistant.ask(q["question"])
            best = answer.citations or answer.related[:1]
            right = q["answerable"] and bool(best) and M.contains_answer(best[0].quote, q["answers"])
            features = {k: float(answer.signals.get(k, 0.0)) for k in FEATURES}
            # The perturbations never add a word the corpus lacks, so in the pool "question words the corpus
            # never uses" only ever marks answerable questions: an artifact. That signal is learnt from the
            # dev items alone (real questions), where it marks what the documents do not cover.
            features["missing_rare"] = 0.0
            rows.append(
                {
                    "features": features,
                    "right": right,
                    "answerable": q["answerable"],
                    "source": "pool",
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
                        "features": {k: float(answer.signals.get(k, 0.0)) for k in FEATURES},
                        "right": right,
                        "answerable": item.answerable,
                        "source": f"{name}-dev",
                        "weight": DEV_WEIGHT,
                    }
                )
    return rows


def fit(rows: list[dict], c: float = 1.0):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    x = np.array([[r["features"][k] for k in FEATURES[1:]] for r in rows])
    y = np.array([int(r["right"]) for r in rows])
    w = np.array([r["weight"] for r in rows])
    model = LogisticRegression(C=c, max_iter=1000)
    model.fit(x, y, sample_weight=w)
    return model


def to_calibration(model, threshold: float) -> Calibration:  # type: ignore[no-untyped-def]
    weights = (("bias", float(model.intercept_[0])),) + tuple(
        (k, float(v)) for k, v in zip(FEATURES[1:], model.coef_[0])
    )
    return Calibration(tuple((k, round(v, 4)) for k, v in weights), round(threshold, 3))


def decision_accuracy(rows: list[dict], cal: Calibration, threshold: float) -> float:
    """Right answers plus right abstentions, over all rows."""
    good = 0
    for r in rows:
        p = cal.probability(r["features"])
        good += (p >= threshold and r["right"]) or (p < threshold and not r["answerable"])
    return good / len(rows) if rows else 0.0


def best_threshold(rows: list[dict], cal: Calibration) -> float:
    grid = [t / 100 for t in range(20, 91)]
    return max(grid, key=lambda t: (decision_accuracy(rows, cal, t), -abs(t - 0.5)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=1000, help="answerable and perturbed questions each")
    ap.add_argument("--model", default=str(MODEL_DIR))
    args = ap.parse_args(argv)

    from rag import Settings

    folder = Path(args.model)
    (folder / CALIBRATION_FILE).unlink(missing_ok=True)  # collect raw model scores, not calibrated ones
    settings = Settings(answer_model=str(folder), answer_threshold=0.0)
    rng = random.Random(SEED)
    articles = T.validation_articles()
    questions = pool_questions(articles, args.per_kind, rng)
    print(f"validation articles: {len(articles)}; questions: {len(questions)}", flush=True)
    pool = collect_pool(articles, questions, settings)
    dev = collect_dev(settings)
    rows = pool + dev
    # 5-fold cross-validation of the whole fit (threshold included)
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    folds = [order[k::5] for k in range(5)]
    cv_acc, cv_conf, cv_right, cv_dev_acc = [], [], [], []
    for k in range(5):
        held = set(folds[k])
        train = [rows[i] for i in order if i not in held]
        test = [rows[i] for i in folds[k]]
        model = fit(train)
        cal0 = to_calibration(model, 0.5)
        thr = best_threshold([r for r in train if r["source"] == "pool"], cal0)
        cv_acc.append(decision_accuracy([r for r in test if r["source"] == "pool"], cal0, thr))
        dev_test = [r for r in test if r["source"] != "pool"]
        if dev_test:
            cv_dev_acc.append(decision_accuracy(dev_test, cal0, thr))
        cv_conf += [cal0.probability(r["features"]) for r in test]
        cv_right += [r["right"] for r in test]
    model = fit(rows)
    cal = to_calibration(model, 0.5)
    threshold = best_threshold(pool, cal)
    cal = Calibration(cal.weights, round(threshold, 3))
    report = {
        "weights": [list(w) for w in cal.weights],
        "threshold": cal.threshold,
        "fitted_on": {
            "pool_validation_questions": len(pool),
            "eval_dev_items": len(dev),
            "dev_weight": DEV_WEIGHT,
            "answerable_in_pool": sum(r["answerable"] for r in pool),
        },
        "cross_validation": {
            "pool_decision_accuracy": round(float(np.mean(cv_acc)), 4),
            "dev_decision_accuracy": round(float(np.mean(cv_dev_acc)), 4) if cv_dev_acc else None,
            "ece": round(float(M.expected_calibration_error(cv_conf, cv_right) or 0.0), 4),
        },
        "pool_decision_accuracy": round(decision_accuracy(pool, cal, threshold), 4),
        "always_abstain_pool": round(sum(not r["answerable"] for r in pool) / len(pool), 4),
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
