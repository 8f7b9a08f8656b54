"""How deep the answer model should read the cheap scorer's shortlist: selection vs sentences read.

    python docs/bench/shortlist_depth.py [--model rag/models/answer-minilm]

Asks every answerable question of the two held-out SQuAD 2.0 train articles (never trained on; see
eval/answer_training/pool.real_unanswerable_articles) and the `dev` items of the article and fixture sets,
with the model reading 8 shortlisted sentences, and records each sentence's model score. Then, for a
shortlist of N = 1..8, it reports how often the model's best of the first N holds the answer, and the
cheap scorer's own rank-1 rate. Never reads the SQuAD 2.0 dev sample or the eval sets' test items.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="answer-minilm")
    args = ap.parse_args()

    from answer_training.pool import real_unanswerable_articles, write_corpus

    import rag.answer_model as AM
    from rag import Assistant, Settings
    from rag.evaluation import metrics as M
    from rag.evaluation.datasets import default_paths, load_jsonl

    settings = Settings(answer_model=args.model, rerank_candidates=8, rerank_first=8)
    seen: list[tuple[list[str], list[float]]] = []
    original = AM.AnswerScorer.score

    def recording(self, question, titles, sentences):  # type: ignore[no-untyped-def]
        out = original(self, question, titles, sentences)
        seen.append((list(sentences), [s.logit for s in out]))
        return out

    AM.AnswerScorer.score = recording  # type: ignore[method-assign]
    cases: list[tuple[str, list[str], list[float]]] = []  # (group, right flags per shortlisted sentence, logits)
    with tempfile.TemporaryDirectory(prefix="rag-depth-") as tmp:
        corpus = Path(tmp) / "corpus"
        articles = real_unanswerable_articles()
        write_corpus(corpus, articles)
        assistant = Assistant.load(corpus_dir=corpus, index_dir=Path(tmp) / "index", settings=settings)
        for a in articles:
            for p in a["paragraphs"]:
                for qa in p["qas"]:
                    if qa.get("is_impossible") or not qa["answers"]:
                        continue
                    seen.clear()
                    assistant.ask(qa["question"])
                    if len(seen) == 1:
                        golds = [x["text"] for x in qa["answers"]]
                        sents, logits = seen[0]
                        cases.append(("squad2-train", [M.contains_answer(s, golds) for s in sents], logits))
    paths = default_paths()
    for name, corpus_dir in (("article", ROOT / "corpus"), ("fixture", paths["fixture_corpus"])):
        with tempfile.TemporaryDirectory(prefix="rag-depth-") as tmp:
            assistant = Assistant.load(corpus_dir=corpus_dir, index_dir=tmp, settings=settings)
            for item in load_jsonl(paths[f"{name}_set"]):
                if getattr(item, "split", "test") != "dev" or not item.answerable:
                    continue
                seen.clear()
                assistant.ask(item.question, history=list(item.history) or None)
                if len(seen) == 1:
                    sents, logits = seen[0]
                    cases.append(("dev", [M.evidence_quoted([s], item.evidence) for s in sents], logits))
    print("group           N  model's best of first N right   cheap rank 1 right   cases")
    for group in ("squad2-train", "dev"):
        rows = [c for c in cases if c[0] == group]
        for n in range(1, 9):
            right = sum(flags[max(range(min(n, len(flags))), key=lambda i: logits[i])] for _, flags, logits in rows)
            print(
                f"{group:14} {n:2}  {right / len(rows):.3f}                          "
                f"{sum(f[0] for _, f, _ in rows) / len(rows):.3f}                {len(rows)}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
