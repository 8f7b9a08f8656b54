"""Fit how much the cheap scorer's score adds to the answer model's logit when choosing a sentence.

    python eval/fit_choice_weight.py                      # prints each weight's accuracy and the best one
    python eval/calibrate_answer_model.py --choice-weight W   # then calibrate with it (recorded there)

The model reads the cheap scorer's shortlist and the composer picks the sentence it scores highest. On
questions it was never trained on, the model alone picks the answer sentence less often than its logit
plus a share of the cheap scorer's score: the cheap scorer sees how close the whole sentence is to the
question, the model the words. Fitted on the answerable questions of two calibration groups (the pool's
validation articles and the two held-out SQuAD 2.0 train articles), every shortlisted sentence read; the
weight maximises the mean of the two groups' accuracy (the chosen sentence holds a gold answer). The
test items and the SQuAD 2.0 dev sample are never read.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

import calibrate_answer_model as C  # noqa: E402
from answer_training.pool import real_unanswerable_articles, validation_articles  # noqa: E402

from rag.answer_model import MODEL_DIR  # noqa: E402
from rag.composer import choice_order  # noqa: E402
from rag.evaluation import metrics as M  # noqa: E402

WEIGHTS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0)


@dataclass(frozen=True)
class ReadShortlist:
    """One question's shortlist as the model read it: which sentences hold an answer, and both scores."""

    holds_answer: tuple[bool, ...]
    logits: tuple[float, ...]
    cheap_scores: tuple[float, ...]


def choice_accuracy(read: Sequence[ReadShortlist], weight: float) -> float:
    """The share of questions whose chosen sentence holds an answer (a question with nothing read: wrong)."""
    if not read:
        return 0.0
    hits = 0
    for r in read:
        if r.logits:
            hits += r.holds_answer[choice_order(r.logits, r.cheap_scores, weight)[0]]
    return hits / len(read)


def best_weight(groups: dict[str, list[ReadShortlist]], weights: Sequence[float] = WEIGHTS) -> float:
    """The weight with the best mean accuracy over the groups (ties: the smaller weight)."""
    return max(weights, key=lambda w: (sum(choice_accuracy(g, w) for g in groups.values()) / len(groups), -w))


@contextmanager
def recording_reads(log: list):  # type: ignore[no-untyped-def]
    """Every batch the composer has the model read: the sentences it ends up with (a window reader may put a
    neighbour in a sentence's place), their cheap scores and the model's scores."""
    from rag.composer import Composer

    original = Composer._read

    def read(self, q, shortlist, cheap, scores, last, cands, covered):  # type: ignore[no-untyped-def]
        first = len(scores)
        out = original(self, q, shortlist, cheap, scores, last, cands, covered)
        log.append(([c.sentence.text for c in shortlist[first:last]], cheap[first:last], [s.logit for s in out]))
        return out

    Composer._read = read  # type: ignore[method-assign]
    try:
        yield
    finally:
        Composer._read = original  # type: ignore[method-assign]


def read_questions(articles: list[dict], questions: list[dict], model: str) -> list[ReadShortlist]:
    out: list[ReadShortlist] = []
    with C.articles_assistant(articles, C.reading_settings(model, 0.0), "rag-choice-") as assistant:
        log: list = []
        with recording_reads(log):
            for q in questions:
                log.clear()
                assistant.ask(q["question"])
                texts = [t for batch in log for t in batch[0]]
                out.append(
                    ReadShortlist(
                        tuple(M.contains_answer(t, q["answers"]) for t in texts),
                        tuple(x for batch in log for x in batch[2]),
                        tuple(x for batch in log for x in batch[1]),
                    )
                )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(MODEL_DIR))
    ap.add_argument("--per-kind", type=int, default=1000, help="answerable pool questions (as calibration asks)")
    args = ap.parse_args(argv)
    t0 = time.time()
    pool_articles = validation_articles()
    pool = [q for q in C.pool_questions(pool_articles, args.per_kind, random.Random(C.SEED)) if q["answerable"]]
    real_articles = real_unanswerable_articles()
    real = [q for q in C.squad2_questions(real_articles) if q["answerable"]]
    groups = {
        "pool": read_questions(pool_articles, pool, args.model),
        "squad2-train": read_questions(real_articles, real, args.model),
    }
    print(f"answerable questions: pool {len(pool)}, squad2-train {len(real)} ({time.time() - t0:.0f}s)")
    for w in WEIGHTS:
        accs = {g: choice_accuracy(r, w) for g, r in groups.items()}
        print(f"weight {w:5.1f}: " + ", ".join(f"{g} {a:.3f}" for g, a in accs.items()))
    print(f"best weight: {best_weight(groups)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
