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
    return any(qa.get("is_impossible") for p in article["paragraphs"] for qa in p["qas"])


def is_held_out(article: dict) -> bool:
    """Never trained on: the validation split, and the articles with SQuAD 2.0's real unanswerables.

    The pool's 347 real unanswerable questions sit in two articles (from SQuAD 2.0 train). Kept out of
    training, they and their articles' answerable questions are the one set written the way the SQuAD 2.0
    dev sample's are, so calibration can fit the answer/abstain decision on them.
    """
    return is_validation(article["title"]) or has_real_unanswerables(article)


def validation_articles(path: Path = POOL) -> list[dict]:
    """The held-out articles (SQuAD format), for calibration and validation only."""
    return [a for a in load_pool(path) if is_validation(a["title"])]


def real_unanswerable_articles(path: Path = POOL) -> list[dict]:
    """The held-out articles written with real unanswerable questions (SQuAD 2.0 train)."""
    return [a for a in load_pool(path) if has_real_unanswerables(a) and not is_validation(a["title"])]


def write_corpus(folder: Path, articles: list[dict]) -> None:
    """Each article as one plain-text document in `folder`, named after its title, for asking questions."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, article in enumerate(articles):
        name = f"{i:02d}-{article['title'][:40].replace('/', '_')}.txt"
        (folder / name).write_text("\n\n".join(p["context"] for p in article["paragraphs"]) + "\n", encoding="utf-8")
