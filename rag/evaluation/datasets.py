"""Eval sets: the hand-written JSONL sets in eval/ and SQuAD v2.0-format files (read in place, never copied)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_KEYS = ("id", "question", "answers", "evidence", "answerable")
SPLITS = ("dev", "test")  # dev items may be used to calibrate thresholds; test items are held out


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool
    history: tuple[str, ...] = ()
    kind: str = ""
    tags: tuple[str, ...] = ()
    doc: str | None = None  # the document the evidence comes from (fixture set)
    split: str = "test"  # "dev" (may tune thresholds on it) or "test" (held out); "test" when absent

    @property
    def needs_all_evidence(self) -> bool:
        """'two-sentence' items need every evidence sentence; otherwise evidence sentences are alternatives."""
        return "two-sentence" in self.tags or self.kind == "two-sentence"


def parse_item(data: dict, where: str = "") -> EvalItem:
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    split = str(data.get("split") or "test")
    if split not in SPLITS:
        raise ValueError(f"{where}: split must be one of {', '.join(SPLITS)}, got {split!r}")
    return EvalItem(
        id=str(data["id"]),
        question=str(data["question"]),
        answers=tuple(str(a) for a in data.get("answers") or ()),
        evidence=tuple(str(e) for e in data.get("evidence") or ()),
        answerable=bool(data["answerable"]),
        history=tuple(str(h) for h in data.get("history") or ()),
        kind=str(data.get("kind") or ""),
        tags=tuple(str(t) for t in data.get("tags") or ()),
        doc=data.get("doc"),
        split=split,
    )


def load_jsonl(path: str | Path) -> list[EvalItem]:
    """One EvalItem per non-blank line; raises ValueError naming the line on bad input or duplicate ids."""
    path = Path(path)
    items: list[EvalItem] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not JSON ({exc})") from exc
        item = parse_item(data, where)
        if item.id in seen:
            raise ValueError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    return items


def select_split(items: list[EvalItem], split: str | None) -> list[EvalItem]:
    """The items of one split ("dev" or "test"); every item when split is None or "all"."""
    if split in (None, "all"):
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or 'all', got {split!r}")
    return [item for item in items if item.split == split]


# ---- SQuAD v2.0 -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # empty when unanswerable (plausible_answers are ignored)
    answerable: bool
    article: int  # index into the article list
    paragraph: int


@dataclass(frozen=True)
class SquadArticle:
    title: str
    paragraphs: tuple[str, ...]
    questions: tuple[SquadQuestion, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """The document the engine indexes: every paragraph, joined with blank lines."""
        return "\n\n".join(p.strip() for p in self.paragraphs)


def load_squad(path: str | Path) -> list[SquadArticle]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path}: not a SQuAD-format file (no top-level 'data' list)")  # noqa: TRY004 - bad input file
    articles: list[SquadArticle] = []
    for a_index, article in enumerate(data["data"]):
        paragraphs, questions = [], []
        for p_index, para in enumerate(article.get("paragraphs", [])):
            paragraphs.append(para["context"])
            for qa in para.get("qas", []):
                impossible = bool(qa.get("is_impossible", False))
                answers = () if impossible else tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                questions.append(
                    SquadQuestion(
                        str(qa["id"]), qa["question"], answers, not impossible and bool(answers), a_index, p_index
                    )
                )
        articles.append(
            SquadArticle(str(article.get("title") or f"article-{a_index}"), tuple(paragraphs), tuple(questions))
        )
    return articles


# ---- default locations ------------------------------------------------------------------------
def default_paths() -> dict[str, Path]:
    from rag.paths import project_root

    root = project_root()
    return {
        "article_set": root / "eval" / "article_qa.jsonl",
        "fixture_set": root / "eval" / "fixture_qa.jsonl",
        "fixture_corpus": root / "tests" / "fixtures" / "docs",
        "squad": root.parent / "shared" / "data" / "squad2-dev-sample.json",
        "baseline": root / "eval" / "baseline.json",
        "readme": root / "eval" / "README.md",
    }
