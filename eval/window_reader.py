"""Measure the SQuAD 2.0 reader recipe (question + passage window, a null score against the best span) against
the shipped sentence-pair answer model, on the validation articles' gold paragraphs.

    python eval/window_reader.py train --examples 40000 --minutes 78 --out eval/.train-cache/window-reader
    python eval/window_reader.py train --init eval/.train-cache/window-reader --skip 40000 --examples 55000 \
        --minutes 95 --out eval/.train-cache/window-reader-2      # a next stage, on questions not yet seen
    python eval/window_reader.py train --init eval/.train-cache/window-reader-2 --skip 95000 --examples 35000 \
        --minutes 62 --out eval/.train-cache/window-reader-3      # the rest of the first epoch (stopped at 69%)
    python eval/window_reader.py compare --reader eval/.train-cache/window-reader-2

Issue 28 asks to choose between sentence pairs and passage windows by measurement. This is that measurement,
kept apart from the shipped pipeline: the reader is trained here from the shipped model's own encoder and span
head (so both start from the same weights), on the merged pool's training articles (answerable questions and
SQuAD 2.0 train's real unanswerables, `merged_articles`), never on a held-out article. `compare` then asks both
models every question of the validation articles (`is_validation`) with the question's own paragraph given,
so retrieval is out of the comparison:

- the reader: the best span's score minus the null score ([CLS] as start and end), over 256-token windows;
- the sentence-pair model: its best logit over the paragraph's sentences, and that sentence.

A question is right when the model abstains on an unanswerable one, or answers an answerable one from a
sentence that holds a gold answer (the pipeline's "evidence"; the reader's sentence is the one its span starts
in). Each model's threshold is fitted on half of the validation articles and scored on the other half, both
ways round. The SQuAD 2.0 dev sample and the eval sets are never read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

import numpy as np  # noqa: E402
from answer_training.learning import length_bucketed, optimizer_and_schedule  # noqa: E402
from answer_training.pool import (  # noqa: E402
    is_held_out,
    is_validation,
    load_pool,
    load_unanswerable,
    merged_articles,
)

from rag.answer_model import MODEL_DIR, base_model_path  # noqa: E402
from rag.sentences import split_sentences  # noqa: E402

MAX_LENGTH = 256
STRIDE = 96
MAX_ANSWER_TOKENS = 30
SEED = 20261207


def tokenizer():  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_model_path()))


def examples(articles: list[dict], validation: bool) -> list[dict]:
    """One example per question: its paragraph, and its first answer's characters (None: unanswerable)."""
    out = []
    for article in articles:
        if validation != is_validation(article["title"]) or (not validation and is_held_out(article)):
            continue
        title = article["title"].replace("_", " ")
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                answers = [(a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa.get("answers", [])]
                impossible = bool(qa.get("is_impossible")) or not answers
                out.append(
                    {
                        "question": qa["question"].strip(),
                        "title": title,
                        "context": p["context"],
                        "answers": [] if impossible else answers,
                        "reason": qa.get("unans_reason", "").strip("*"),
                    }
                )
    return out


def windows(tok, batch: list[dict]) -> dict:  # type: ignore[no-untyped-def]
    """Question + paragraph windows (256 tokens, 96 overlapping), with start/end labels: the first answer's
    tokens where the window holds it whole, else [CLS] (position 0), as in the SQuAD 2.0 recipe."""
    enc = tok(
        [e["question"] for e in batch],
        [e["context"] for e in batch],
        truncation="only_second",
        max_length=MAX_LENGTH,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    starts, ends = [], []
    for w, offsets in enumerate(enc["offset_mapping"]):
        e = batch[enc["overflow_to_sample_mapping"][w]]
        seq = enc.sequence_ids(w)
        c0 = seq.index(1)
        c1 = len(seq) - 1 - seq[::-1].index(1)
        s = t = 0
        if e["answers"]:
            a0, a1 = e["answers"][0]
            if offsets[c0][0] <= a0 and offsets[c1][1] >= a1:
                s = next(i for i in range(c0, c1 + 1) if offsets[i][1] > a0)
                t = next(i for i in range(c1, c0 - 1, -1) if offsets[i][0] < a1)
        starts.append(s)
        ends.append(t)
    enc["start_positions"] = starts
    enc["end_positions"] = ends
    return enc


def span_logits(network, ids, am, tt):  # type: ignore[no-untyped-def]
    """Start and end logits over the window: the passage's tokens and [CLS] (the null answer); the question's
    tokens and padding can never be chosen."""
    import torch

    out = network.bert(input_ids=ids, attention_mask=am, token_type_ids=tt).last_hidden_state
    span = network.span_head(network.dropout(out))
    allowed = (tt == 1) & (am == 1)
    allowed[:, 0] = True
    span = span.masked_fill(~allowed.unsqueeze(-1), torch.finfo(span.dtype).min / 2)
    return span[..., 0], span[..., 1]


def padded(enc: dict, rows: list[int]):  # type: ignore[no-untyped-def]
    import torch

    n = max(len(enc["input_ids"][r]) for r in rows)

    def pad(key: str) -> torch.Tensor:
        return torch.tensor([enc[key][r] + [0] * (n - len(enc[key][r])) for r in rows])

    return pad("input_ids"), pad("attention_mask"), pad("token_type_ids")


def train(args: argparse.Namespace) -> int:
    import torch

    from rag.answer_network import load_network, save_state, trained_state

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    articles = merged_articles(load_pool(), load_unanswerable())
    train_examples = examples(articles, validation=False)
    rng.shuffle(train_examples)
    train_examples = train_examples[args.skip : args.skip + args.examples]
    tok = tokenizer()
    enc = windows(tok, train_examples)
    n = len(enc["input_ids"])
    batches = length_bucketed([len(ids) for ids in enc["input_ids"]], args.batch_size, rng)
    print(f"examples {len(train_examples)}, windows {n}, batches {len(batches)}", flush=True)
    network = load_network(Path(args.init), trainable_from_layer=0)
    network.train()
    params = [p for p in network.parameters() if p.requires_grad]
    total = len(batches)
    optimizer, scheduler = optimizer_and_schedule(network, args.lr, args.head_lr, total)
    ce = torch.nn.CrossEntropyLoss()
    t0 = time.time()
    running = 0.0
    step = 0
    for step, rows in enumerate(batches, 1):
        ids, am, tt = padded(enc, rows)
        s, e = span_logits(network, ids, am, tt)
        st = torch.tensor([enc["start_positions"][r] for r in rows])
        en = torch.tensor([enc["end_positions"][r] for r in rows])
        loss = 0.5 * (ce(s, st) + ce(e, en))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0:
            rate = step * args.batch_size / (time.time() - t0)
            print(f"step {step}/{total} loss {running:.4f} {rate:.1f} windows/s", flush=True)
        if args.minutes and time.time() - t0 > args.minutes * 60:
            print(f"time budget reached at step {step}/{total}", flush=True)
            break
    network.eval()
    card = {
        "what": "window reader experiment (eval/window_reader.py), not shipped",
        "init": str(args.init),
        "examples": len(train_examples),
        "skipped": args.skip,
        "windows": n,
        "steps": step,
        "of_steps": total,
        "seed": args.seed,
        "lr": args.lr,
        "head_lr": args.head_lr,
        "batch_size": args.batch_size,
        "train_seconds": round(time.time() - t0),
        "command": " ".join(sys.argv),
    }
    save_state(trained_state(network), 0, Path(args.out), card)
    print(json.dumps(card), flush=True)
    return 0


def sentence_of(spans: list[tuple[int, int]], char: int) -> int:
    return next((i for i, (s0, s1) in enumerate(spans) if s0 <= char < s1), len(spans) - 1)


def holds_answer(span: tuple[int, int], answers: list[tuple[int, int]]) -> bool:
    return any(span[0] <= a0 and a1 <= span[1] for a0, a1 in answers)


def reader_scores(folder: Path, items: list[dict], threads: int) -> list[tuple[float, bool]]:
    """(best span minus null, whether the span's sentence holds a gold answer) per question."""
    import torch

    from rag.answer_network import load_network

    torch.set_num_threads(threads)
    network = load_network(folder)
    tok = tokenizer()
    out = []
    with torch.inference_mode():
        for k in range(0, len(items), 32):
            batch = items[k : k + 32]
            enc = windows(tok, batch)
            ids, am, tt = padded(enc, list(range(len(enc["input_ids"]))))
            s, e = (x.numpy() for x in span_logits(network, ids, am, tt))
            best: dict[int, list[float]] = {}  # question -> [best span score, lowest null score, span's first char]
            for w in range(len(ids)):
                q = enc["overflow_to_sample_mapping"][w]
                ctx = [i for i, sid in enumerate(enc.sequence_ids(w)) if sid == 1]
                lo, hi = ctx[0], ctx[-1] + 1
                grid = s[w, lo:hi, None] + e[w, None, lo:hi]
                ones = np.ones_like(grid, dtype=bool)
                grid = np.where(np.triu(ones) & ~np.triu(ones, MAX_ANSWER_TOKENS), grid, -np.inf)
                i, _ = np.unravel_index(np.argmax(grid), grid.shape)
                top = float(grid.max())
                null = float(s[w, 0] + e[w, 0])
                entry = best.setdefault(q, [-np.inf, np.inf, 0])
                if top > entry[0]:
                    entry[0], entry[2] = top, enc["offset_mapping"][w][lo + i][0]
                entry[1] = min(entry[1], null)
            for q, (span_score, null, char) in sorted(best.items()):
                item = batch[q]
                spans = [(x.start, x.end) for x in split_sentences(item["context"])]
                sentence = spans[sentence_of(spans, char)]
                out.append((float(span_score - null), holds_answer(sentence, item["answers"])))
    return out


def pair_scores(folder: Path, items: list[dict], threads: int) -> list[tuple[float, bool]]:
    """(the sentence-pair model's best logit over the paragraph, whether that sentence holds a gold answer)."""
    import torch

    from rag.answer_model import AnswerScorer

    torch.set_num_threads(threads)
    scorer = AnswerScorer(folder, threads=threads, backend="torch")
    out = []
    for item in items:
        spans = [(x.start, x.end) for x in split_sentences(item["context"])]
        texts = [item["context"][a:b] for a, b in spans]
        scores = scorer.score(item["question"], [item["title"]] * len(texts), texts)
        best = int(np.argmax([sc.logit for sc in scores]))
        out.append((float(scores[best].logit), holds_answer(spans[best], item["answers"])))
    return out


def held_out_accuracy(
    scores: list[tuple[float, bool]], items: list[dict], variants: list[np.ndarray] | None = None
) -> dict:
    """Decision accuracy with the threshold fitted on the other half of the articles (both ways round).
    `variants` are other decision scores for the same answers (e.g. blends of two models): the fit half
    chooses one of them along with its threshold."""
    ok = np.array([h for _, h in scores])
    variants = [np.array([s for s, _ in scores])] if variants is None else variants
    answerable = np.array([bool(i["answers"]) for i in items])
    half = np.array([int(hashlib.sha256(i["title"].encode()).hexdigest(), 16) % 2 for i in items])
    candidates = [np.quantile(x, np.linspace(0.01, 0.99, 197)) for x in variants]

    def acc(x: np.ndarray, t: float, m: np.ndarray) -> float:
        right = np.where(answerable, (x >= t) & ok, x < t)
        return float(right[m].mean())

    total, answered_right, answered = 0.0, 0, 0
    thresholds, chosen = [], []
    refused = np.zeros(len(items), dtype=bool)
    for h in (0, 1):
        fit, test = half != h, half == h
        _, v, t = max((acc(x, float(c), fit), v, float(c)) for v, x in enumerate(variants) for c in candidates[v])
        x = variants[v]
        thresholds.append(t)
        chosen.append(v)
        total += acc(x, t, test) * test.sum()
        answered += int(((x >= t) & test).sum())
        answered_right += int(((x >= t) & test & answerable & ok).sum())
        refused[test] = x[test] < t
    by_cause: dict[str, list[bool]] = {}
    for item, r in zip(items, refused):
        if not item["answers"]:
            by_cause.setdefault(item.get("reason") or "?", []).append(bool(r))
    return {
        "accuracy": round(total / len(items), 4),
        "precision_of_answers": round(answered_right / max(1, answered), 4),
        "answered": round(answered / len(items), 4),
        "answerable_right": round(float((~refused & answerable & ok).sum() / answerable.sum()), 4),
        "choice_right_answerable": round(float(ok[answerable].mean()), 4),
        "thresholds": [round(t, 3) for t in thresholds],
        **({"variant_per_half": chosen} if len(variants) > 1 else {}),
        "unanswerable_refused_by_cause": {k: [len(v), round(sum(v) / len(v), 4)] for k, v in sorted(by_cause.items())},
    }


BLEND_WEIGHTS = np.linspace(0.0, 1.0, 11)


def blended(first: list[tuple[float, bool]], second: list[tuple[float, bool]]) -> list[np.ndarray]:
    """w * z(first) + (1 - w) * z(second) for each weight w: does a second model's score add to the decision?
    (z: standardised over the questions, which needs no labels)."""

    def z(scores: list[tuple[float, bool]]) -> np.ndarray:
        x = np.array([s for s, _ in scores])
        return (x - x.mean()) / (x.std() or 1.0)

    a, b = z(first), z(second)
    return [w * a + (1 - w) * b for w in BLEND_WEIGHTS]


def compare(args: argparse.Namespace) -> int:
    items = examples(merged_articles(load_pool(), load_unanswerable()), validation=True)
    rng = random.Random(args.seed)
    rng.shuffle(items)
    # as many answerable questions as unanswerable ones, as in calibration's pool group
    unanswerable = [i for i in items if not i["answers"]]
    items = unanswerable + [i for i in items if i["answers"]][: len(unanswerable)]
    rng.shuffle(items)
    items = items[: args.questions] if args.questions else items
    print(f"validation questions {len(items)}, unanswerable {sum(not i['answers'] for i in items)}", flush=True)
    report: dict = {"questions": len(items)}
    scored: dict[str, list[tuple[float, bool]]] = {}
    for name, fn, folder in (
        ("window_reader", reader_scores, args.reader),
        ("sentence_pairs", pair_scores, args.pairs_model),
    ):
        t0 = time.time()
        scores = fn(Path(folder), items, args.threads)
        scored[name] = scores
        report[name] = {**held_out_accuracy(scores, items), "seconds": round(time.time() - t0, 1), "model": str(folder)}
        print(name, json.dumps(report[name]), flush=True)
    # the reader's sentence, answered or refused on a blend of both models' scores, the weight fitted per half
    both = scored["window_reader"], scored["sentence_pairs"]
    report["blend"] = {
        **held_out_accuracy(both[0], items, blended(*both)),
        "what": "the reader's sentence; the decision on w * z(reader) + (1 - w) * z(pairs)",
        "weights": [round(float(w), 2) for w in BLEND_WEIGHTS],
    }
    print("blend", json.dumps(report["blend"]), flush=True)
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--init", default=str(MODEL_DIR), help="the model whose encoder and span head start the reader")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--examples", type=int, default=130_000, help="questions of the seeded order to train on")
    t.add_argument(
        "--skip",
        type=int,
        default=0,
        help="start this far into the seeded order: a next stage (--init the last stage's --out) sees new questions",
    )
    t.add_argument("--minutes", type=float, default=0.0, help="stop after this long (0: every step)")
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--lr", type=float, default=3e-5)
    t.add_argument("--head-lr", type=float, default=3e-4)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=SEED)
    c = sub.add_parser("compare")
    c.add_argument("--reader", type=Path, required=True)
    c.add_argument("--pairs-model", type=Path, default=MODEL_DIR)
    c.add_argument("--questions", type=int, default=0, help="a seeded sample of the validation questions (0: all)")
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--seed", type=int, default=SEED)
    c.add_argument("--report", type=Path)
    args = ap.parse_args(argv)
    return train(args) if args.command == "train" else compare(args)


if __name__ == "__main__":
    raise SystemExit(main())
