"""The SQuAD train pool: which articles train, which validate, which stay out for calibration."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rag.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[2]
POOL = ROOT.parent / "shared" / "data" / "squad-train-pool.json.gz"
# SQuAD 2.0 train's real unanswerables (SQuAD2-CR's list), on the pool's own paragraphs: merge by (title, context)
UNANSWERABLE = ROOT.parent / "shared" / "data" / "squad2-train-unanswerable.json.gz"
VALIDATION_EVERY = 25


@dataclass
class Pair:
    question: str
    title: str
    sentence: str
    label: int
    span: tuple[int, int] | None = None  # answer characters within the sentence (positives)
    kind: str = "positive"
    context: str = ""  # the sentence before (read by a model trained with --context-words)
    question_number: int = 0  # its question's place in the seeded order (1-based, skipped questions counted)
    reason: str = ""  # a real unanswerable's SQuAD2-CR cause (E, #, N, A, X, I), without the human-label star


@dataclass
class Paragraph:
    title: str
    article: int
    text: str
    sentences: list[tuple[int, int]]
    qas: list[dict]


def answer_sentence(spans: list[tuple[int, int]], answer: dict) -> tuple[int, tuple[int, int]] | None:
    """Which sentence (`spans`: its paragraph's, in characters) holds a SQuAD answer, and where the answer is in
    it; None when the answer runs across sentences."""
    a0 = answer["answer_start"]
    a1 = a0 + len(answer["text"])
    for i, (s0, s1) in enumerate(spans):
        if s0 <= a0 and a1 <= s1:
            return i, (a0 - s0, a1 - s0)
    return None


def is_validation(title: str) -> bool:
    return int(hashlib.sha256(title.encode("utf-8")).hexdigest(), 16) % VALIDATION_EVERY == 0


def load_pool(path: Path = POOL) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["data"]


def load_unanswerable(path: Path = UNANSWERABLE) -> list[dict]:
    return load_pool(path)  # the same SQuAD v2.0 JSON, gzipped


def merged_articles(pool: list[dict], unanswerable: list[dict]) -> list[dict]:
    """The pool's articles with the real unanswerables added to their paragraphs, matched by (title, context).

    A copy: the pool's own lists are left as they were, so the answerable pairs of earlier stages rebuild the
    same. An unanswerable question whose paragraph is not in the pool is an error (the files come as a set)."""
    extra: dict[tuple[str, str], list[dict]] = {}
    for article in unanswerable:
        for p in article["paragraphs"]:
            extra.setdefault((article["title"], p["context"]), []).extend(p["qas"])
    placed = 0
    out = []
    for article in pool:
        paragraphs = []
        for p in article["paragraphs"]:
            more = extra.get((article["title"], p["context"]), [])
            placed += len(more)
            paragraphs.append({**p, "qas": p["qas"] + more})
        out.append({**article, "paragraphs": paragraphs})
    wanted = sum(len(v) for v in extra.values())
    if placed != wanted:
        raise ValueError(f"unanswerable: {wanted - placed} questions have no paragraph in the pool")
    return out


def paragraphs_of(articles: list[dict], validation: bool) -> list[Paragraph]:
    """Training paragraphs (validation=False) or the validation split's; held-out articles are never in training."""
    out = []
    for a_index, article in enumerate(articles):
        if validation != is_validation(article["title"]) or (not validation and is_held_out(article)):
            continue
        title = article["title"].replace("_", " ")
        for p in article["paragraphs"]:
            spans = [(s.start, s.end) for s in split_sentences(p["context"])]
            out.append(Paragraph(title, a_index, p["context"], spans, p["qas"]))
    return out


def has_real_unanswerables(article: dict) -> bool:
    """Whether the pool itself holds unanswerables in this article (the two SQuAD 2.0 train articles); the
    merged file's questions carry `unans_reason` and do not count, so merging holds nothing more out."""
    return any(qa.get("is_impossible") and "unans_reason" not in qa for p in article["paragraphs"] for qa in p["qas"])


def unanswerable_paragraphs(pool: list[dict], unanswerable: list[dict], validation: bool) -> list[Paragraph]:
    """The paragraphs of the real unanswerables (`unanswerable`, their `qas` those questions only), of the
    training articles (validation=False: never one `pool` holds out) or of the validation split."""
    held = {a["title"] for a in pool if is_held_out(a)}
    index = {a["title"]: i for i, a in enumerate(pool)}
    out = []
    for article in unanswerable:
        title = article["title"]
        if validation != is_validation(title) or (not validation and title in held):
            continue
        for p in article["paragraphs"]:
            spans = [(s.start, s.end) for s in split_sentences(p["context"])]
            out.append(Paragraph(title.replace("_", " "), index.get(title, -1), p["context"], spans, p["qas"]))
    return out


def is_held_out(article: dict) -> bool:
    """Never trained on: the validation split, and the articles with SQuAD 2.0's real unanswerables.

    The pool's 347 real unanswerable questions sit in two articles (from SQuAD 2.0 train). Kept out of
    training, they and their articles' answerable questions are the one set written the way the SQuAD 2.0
    dev sample's are, so calibration can fit the answer/abstain decision on them.
    """
    return is_validation(article["title"]) or has_real_unanswerables(article)


def validation_articles(path: Path = POOL, with_unanswerable: bool = False) -> list[dict]:
    """The held-out articles (SQuAD format), for calibration and validation only; `with_unanswerable` adds
    their real unanswerables (`merged_articles`)."""
    pool = load_pool(path)
    if with_unanswerable:
        pool = merged_articles(pool, load_unanswerable())
    return [a for a in pool if is_validation(a["title"])]


def real_unanswerable_articles(path: Path = POOL) -> list[dict]:
    """The held-out articles written with real unanswerable questions (SQuAD 2.0 train)."""
    return [a for a in load_pool(path) if has_real_unanswerables(a) and not is_validation(a["title"])]


def write_corpus(folder: Path, articles: list[dict]) -> None:
    """Each article as one plain-text document in `folder`, named after its title, for asking questions."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, article in enumerate(articles):
        name = f"{i:02d}-{article['title'][:40].replace('/', '_')}.txt"
        (folder / name).write_text("\n\n".join(p["context"] for p in article["paragraphs"]) + "\n", encoding="utf-8")
