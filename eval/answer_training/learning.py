"""What the training loop needs besides the network: the seeded order, batches, the listwise loss, tensors and
validation scores."""

from __future__ import annotations

import random

from rag.answer_model import answer_token_span, context_tail, encode_pairs

from .pool import Pair


def training_rng(seed: int, epoch: int) -> random.Random:
    """The generator behind the question order, the negatives and the batches: epoch 1 keeps the original
    stages reproducible; a later epoch reads the same questions in another order with other negatives."""
    return random.Random(seed if epoch == 1 else f"{seed}:epoch{epoch}")


def length_bucketed(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of row numbers, similar lengths together (less padding), in random order: rows are shuffled,
    sorted by length within blocks of 50 batches, cut into batches, and the batches shuffled."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    out = []
    for k in range(0, len(order), chunk):
        block = sorted(order[k : k + chunk], key=lambda i: lengths[i])
        out += [block[j : j + batch_size] for j in range(0, len(block), batch_size)]
    rng.shuffle(out)
    return out


def batches_of(pairs: list[Pair], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches of sentence pairs, by question plus sentence characters."""
    return length_bucketed([len(p.question) + len(p.sentence) for p in pairs], batch_size, rng)


def question_batches(pairs: list[Pair], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of whole questions (every pair of a question in one batch, so the listwise loss sees the
    answer sentence beside the sentences it must beat), similar lengths together, in random order.
    A question with more pairs than `batch_size` gets a batch of its own."""
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(pairs):
        groups.setdefault(p.question_number, []).append(i)
    order = list(groups.values())
    rng.shuffle(order)
    chunk = 50 * max(1, batch_size // 4)

    def length(group: list[int]) -> float:
        return sum(len(pairs[i].question) + len(pairs[i].sentence) for i in group) / len(group)

    out: list[list[int]] = []
    for k in range(0, len(order), chunk):
        batch: list[int] = []
        for group in sorted(order[k : k + chunk], key=length):
            if batch and len(batch) + len(group) > batch_size:
                out.append(batch)
                batch = []
            batch = batch + group
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def answer_lists(pairs: list[Pair]) -> list[tuple[int, list[int]]]:
    """(the positive's row, the rows of its list) for each question asked as written with its answer sentence
    among the rows: the answer sentence and the sentences paired with the same question. Perturbed
    questions are lists of their own without an answer and are left to the pointwise loss."""
    rows: dict[tuple[int, str], list[int]] = {}
    for r, p in enumerate(pairs):
        rows.setdefault((p.question_number, p.question), []).append(r)
    out = []
    for members in rows.values():
        positives = [r for r in members if pairs[r].label == 1]
        if len(positives) == 1 and len(members) > 1:
            out.append((positives[0], members))
    return out


def listwise_loss(logits, lists: list[tuple[int, list[int]]]):  # type: ignore[no-untyped-def]
    """Cross-entropy of picking the answer sentence among its list plus a "none of these" option scored 0.

    The pointwise loss asks "is this an answer?" of each sentence alone; with many more negatives than
    positives it teaches "no" more than "which". This loss asks which of the question's sentences answers,
    and the null option keeps the answer's logit above 0, where the pointwise loss wants it."""
    import torch

    if not lists:
        return logits.sum() * 0.0
    losses = []
    for positive, members in lists:
        z = logits[members]
        with_null = torch.cat([z.new_zeros(1), z])
        losses.append(torch.logsumexp(with_null, 0) - logits[positive])
    return torch.stack(losses).mean()


def tensors(pairs: list[Pair], context_words: int = 0):  # type: ignore[no-untyped-def]
    import torch

    enc = encode_pairs(
        [p.question for p in pairs],
        [p.title for p in pairs],
        [p.sentence for p in pairs],
        contexts=[context_tail(p.context, context_words) for p in pairs],
    )
    starts, ends, has_span = [], [], []
    for row, p in enumerate(pairs):
        tok = answer_token_span(enc, row, *p.span) if p.span else None
        starts.append(tok[0] if tok else 0)
        ends.append(tok[1] if tok else 0)
        has_span.append(tok is not None)
    return (
        torch.tensor(enc.input_ids),
        torch.tensor(enc.attention_mask),
        torch.tensor(enc.token_type_ids),
        torch.tensor([p.label for p in pairs], dtype=torch.float32),
        torch.tensor(starts),
        torch.tensor(ends),
        torch.tensor(has_span),
    )


def evaluate(network, pairs: list[Pair], batch_size: int = 64, context_words: int = 0) -> dict:  # type: ignore[no-untyped-def]
    import numpy as np
    import torch

    network.eval()
    logits, labels, span_hits, span_total = [], [], 0, 0
    with torch.inference_mode():
        for k in range(0, len(pairs), batch_size):
            part = pairs[k : k + batch_size]
            ids, am, tt, y, st, en, has = tensors(part, context_words)
            a, s, e = network(ids, am, tt)
            logits += a.tolist()
            labels += y.tolist()
            for r in range(len(part)):
                if has[r]:
                    span_total += 1
                    span_hits += int(s[r].argmax() == st[r] and e[r].argmax() == en[r])
    network.train()
    logits_a, labels_a = np.array(logits), np.array(labels)
    pos, neg = logits_a[labels_a == 1], logits_a[labels_a == 0]
    auc = float((pos[:, None] > neg[None, :]).mean()) if len(pos) and len(neg) else float("nan")
    lists = answer_lists(pairs)
    top1 = [max(members, key=lambda r: logits[r]) == positive for positive, members in lists]
    by_kind: dict[str, list[float]] = {}
    for p, lg in zip(pairs, logits):
        by_kind.setdefault(p.kind, []).append(float(lg > 0) == p.label)
    return {
        "pairs": len(pairs),
        "auc": round(auc, 4),
        "accuracy": round(float(((logits_a > 0) == labels_a).mean()), 4),
        "span_exact_tokens": round(span_hits / max(1, span_total), 4),
        "answer_first_in_list": round(sum(top1) / max(1, len(top1)), 4),
        "accuracy_by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())},
    }


def optimizer_and_schedule(network, lr: float, head_lr: float, total: int):  # type: ignore[no-untyped-def]
    """AdamW with the encoder at `lr` and the heads at `head_lr`, and a linear warm-up (a twentieth of the
    `total` steps) then linear decay to 0: what every training script here uses."""
    import torch

    head = [p for n, p in network.named_parameters() if p.requires_grad and not n.startswith("bert.")]
    body = [p for n, p in network.named_parameters() if p.requires_grad and n.startswith("bert.")]
    optimizer = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": head_lr}], weight_decay=0.01)
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / max(1, total - warmup))
    )
    return optimizer, scheduler
