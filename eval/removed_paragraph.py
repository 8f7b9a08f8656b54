"""The removed-paragraph set: answerable questions asked of their article with their own paragraph taken out.

    python eval/removed_paragraph.py                       # 150 questions of the validation articles
    python eval/removed_paragraph.py --questions 300 --model eval/.train-cache/stage-16 --json /tmp/removed.json

The most natural kind of "not in the documents": the question is on the article's topic, its words are the
article's, and the one paragraph that answered it is gone. The right reply is an abstention. The questions
come from the pool's validation articles (answer_training.pool.is_validation: never trained on), one
question per paragraph, drawn with a fixed seed; each paragraph removed gets its own corpus and index.
A question whose answer text still appears elsewhere in the shortened article is left out (it may still be
answered there). The same questions asked of the whole article are the control: how many are answered right.
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

from answer_training.pool import validation_articles  # noqa: E402

from rag.evaluation import metrics as M  # noqa: E402

SEED = 20261206


def draw_questions(articles: list[dict], n: int, rng: random.Random) -> list[dict]:
    """One answerable question per paragraph (seeded), whose answer the rest of the article does not repeat."""
    drawn = []
    for a_index, article in enumerate(articles):
        for p_index, p in enumerate(article["paragraphs"]):
            qas = [qa for qa in p["qas"] if not qa.get("is_impossible") and qa["answers"]]
            if not qas:
                continue
            qa = rng.choice(qas)
            rest = " ".join(o["context"] for k, o in enumerate(article["paragraphs"]) if k != p_index).lower()
            if any(a["text"].lower() in rest for a in qa["answers"]):
                continue
            drawn.append(
                {
                    "article": a_index,
                    "paragraph": p_index,
                    "question": qa["question"],
                    "answers": [a["text"] for a in qa["answers"]],
                }
            )
    rng.shuffle(drawn)
    return drawn[:n]


def article_text(article: dict, without: int | None = None) -> str:
    return "\n\n".join(p["context"] for k, p in enumerate(article["paragraphs"]) if k != without) + "\n"


def ask_all(articles: list[dict], questions: list[dict], settings, removed: bool) -> list[dict]:  # type: ignore[no-untyped-def]
    """Each question asked of its article, with (removed=True) or without its paragraph taken out."""
    from rag import Assistant
    from rag.evaluation.runner import get_answer_model, get_embedder

    embedder = get_embedder(settings)
    model = get_answer_model(settings)
    groups: dict[tuple[int, int | None], list[dict]] = {}
    for q in questions:
        groups.setdefault((q["article"], q["paragraph"] if removed else None), []).append(q)
    out = []
    for (a_index, without), qs in groups.items():
        with tempfile.TemporaryDirectory(prefix="rag-removed-") as tmp:
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            (corpus / f"article-{a_index:02d}.txt").write_text(
                article_text(articles[a_index], without), encoding="utf-8"
            )
            assistant = Assistant.load(
                corpus_dir=corpus,
                index_dir=Path(tmp) / "index",
                settings=settings,
                embedder=embedder,
                answer_model=model,
            )
            for q in qs:
                answer = assistant.ask(q["question"])
                out.append(
                    {
                        **q,
                        "answered": bool(answer.answered),
                        "confidence": round(float(answer.confidence), 4),
                        "right": bool(answer.answered) and M.contains_answer(answer.text, q["answers"]),
                        "answer": answer.text,
                    }
                )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=150, help="questions to ask (one per paragraph)")
    ap.add_argument("--model", default=None, help="answer-model folder (default: the shipped one)")
    ap.add_argument("--json", type=Path, help="write every question's outcome here")
    args = ap.parse_args(argv)
    if args.questions < 1:
        ap.error(f"--questions must be 1 or more, not {args.questions}")
    from rag import Settings

    articles = validation_articles()
    questions = draw_questions(articles, args.questions, random.Random(SEED))
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="rag-removed-onnx-") as onnx_dir:  # one ONNX export for every index
        settings = Settings(onnx_dir=onnx_dir)
        if args.model is not None:
            settings = settings.replace(answer_model=args.model)
        removed = ask_all(articles, questions, settings, removed=True)
        whole = ask_all(articles, questions, settings, removed=False)
    summary = {
        "questions": len(removed),
        "articles": len({q["article"] for q in questions}),
        "abstained_with_paragraph_removed": round(sum(not r["answered"] for r in removed) / len(removed), 4),
        "answered_right_with_whole_article": round(sum(r["right"] for r in whole) / len(whole), 4),
        "model": settings.answer_model,
        "seconds": round(time.time() - t0),
        "command": "python eval/removed_paragraph.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "removed": removed, "whole": whole}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
