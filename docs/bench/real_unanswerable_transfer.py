"""Does training on one article's real SQuAD 2.0 unanswerables teach the answer model to refuse the other's?

    python docs/bench/real_unanswerable_transfer.py --train-article 0   # and --train-article 1; ~5 min each

The pool's 347 real unanswerable questions sit in two held-out articles (eval/answer_training/pool.py,
`real_unanswerable_articles`). This fine-tunes the answer model on one article's questions (its answer
sentences as positives; for every question, the two sentences of its paragraph the model scores highest
besides the answer sentence as negatives: for an unanswerable question, the sentences it would have
answered from), repeated `--repeats` times and mixed with `--pool-pairs` ordinary training pairs so the
model does not drift, and scores both articles before and after:
- decision AUC: an answerable question's answer-sentence logit against an unanswerable question's best
  logit in its paragraph (1 = every answer above every unanswerable);
- choice: how often an answerable question's best-scored sentence in its paragraph is the answer's.
If the other article's AUC rises, the real unanswerables carry something that transfers; if only the
trained article's does, the model learns that article's questions. Nothing here is shipped, and the SQuAD
2.0 dev sample and the eval sets are never read.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

Question = tuple[bool, list, int | None]  # answerable, one Pair per paragraph sentence, answer sentence


def paragraph_questions(article: dict) -> list[Question]:
    from answer_training.pool import Pair, answer_sentence

    from rag.sentences import split_sentences

    out: list[Question] = []
    title = article["title"].replace("_", " ")
    for p in article["paragraphs"]:
        spans = [(s.start, s.end) for s in split_sentences(p["context"])]
        for qa in p["qas"]:
            answer_i, span = None, None
            if not qa.get("is_impossible"):
                held = answer_sentence(spans, qa["answers"][0])
                if held is None:
                    continue
                answer_i, span = held
            pairs = [
                Pair(
                    qa["question"].strip(),
                    title,
                    p["context"][s0:s1],
                    int(i == answer_i),
                    span if i == answer_i else None,
                )
                for i, (s0, s1) in enumerate(spans)
            ]
            out.append((answer_i is not None, pairs, answer_i))
    return out


def logits_of(network, questions: list[Question]) -> list[list[float]]:  # type: ignore[no-untyped-def]
    import torch
    from answer_training.learning import tensors

    flat = [pair for _, pairs, _ in questions for pair in pairs]
    scores: list[float] = []
    network.eval()
    with torch.inference_mode():
        for k in range(0, len(flat), 64):
            ids, am, tt, *_ = tensors(flat[k : k + 64])
            scores += network(ids, am, tt)[0].tolist()
    network.train()
    out, k = [], 0
    for _, pairs, _ in questions:
        out.append(scores[k : k + len(pairs)])
        k += len(pairs)
    return out


def scores(network, questions: list[Question]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import numpy as np

    pos, neg, chosen = [], [], []
    for (answerable, _, answer_i), logits in zip(questions, logits_of(network, questions)):
        if answerable:
            pos.append(logits[answer_i])
            chosen.append(int(np.argmax(logits)) == answer_i)
        else:
            neg.append(max(logits))
    p, n = np.array(pos), np.array(neg)
    return {
        "decision_auc": round(float((p[:, None] > n[None, :]).mean()), 3),
        "choice": round(float(np.mean(chosen)), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "rag" / "models" / "answer-minilm")
    ap.add_argument("--train-article", type=int, choices=(0, 1), default=0)
    ap.add_argument("--repeats", type=int, default=3, help="times the article's pairs are seen")
    ap.add_argument("--pool-pairs", type=int, default=3000, help="ordinary training pairs mixed in")
    ap.add_argument("--lr", type=float, default=2e-5)
    args = ap.parse_args()

    import numpy as np
    import torch
    from answer_training.learning import tensors
    from answer_training.pairs import build_pairs
    from answer_training.pool import load_pool, paragraphs_of, real_unanswerable_articles

    from rag.answer_network import load_network

    torch.set_num_threads(2)
    torch.manual_seed(1)
    articles = real_unanswerable_articles()
    trained, other = articles[args.train_article], articles[1 - args.train_article]
    network = load_network(args.model)
    q_trained, q_other = paragraph_questions(trained), paragraph_questions(other)
    print(f"before: {other['title']} {scores(network, q_other)}; {trained['title']} {scores(network, q_trained)}")

    train = []
    for (answerable, pairs, answer_i), logits in zip(q_trained, logits_of(network, q_trained)):
        if answerable:
            train.append(pairs[answer_i])
        train += [pairs[j] for j in np.argsort(logits)[::-1] if j != answer_i][:2]
    rng = random.Random(5)
    ordinary = build_pairs(paragraphs_of(load_pool(), validation=False), args.pool_pairs // 3, rng, 40000)
    data = train * args.repeats + ordinary[: args.pool_pairs]
    rng.shuffle(data)
    optimizer = torch.optim.AdamW([p for p in network.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ce = torch.nn.CrossEntropyLoss()
    t0 = time.time()
    for k in range(0, len(data), 32):
        ids, am, tt, y, st, en, has = tensors(data[k : k + 32])
        a, s, e = network(ids, am, tt)
        loss = bce(a, y)
        if has.any():
            loss = loss + 0.5 * (ce(s[has], st[has]) + ce(e[has], en[has]))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    print(
        f"trained on {len(train)} pairs of {trained['title']} x{args.repeats} + {args.pool_pairs} ordinary "
        f"({time.time() - t0:.0f}s)"
    )
    print(f"after: {other['title']} {scores(network, q_other)}; {trained['title']} {scores(network, q_trained)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
