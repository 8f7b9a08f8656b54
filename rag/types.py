"""What the pipeline returns: passages, citations and answers (all JSON-serialisable)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: `documents[doc_id].text[start:end] == text`."""

    chunk_id: str
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    rank: int = 0
    kind: str = "body"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """One quoted sentence: `documents[doc_id].text[start:end] == quote`, always."""

    number: int
    doc_id: str
    title: str
    chunk_id: str
    start: int
    end: int
    quote: str
    location: str  # "<doc path>#char=<start>,<end>" (RFC 5147 fragment)
    kind: str = "body"
    score: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


NOT_ANSWERED = "The documents don't say."


@dataclass(frozen=True)
class ShortAnswer:
    """The answer phrase inside the first quoted sentence: `documents[doc_id].text[start:end] == text`."""

    doc_id: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    answered: bool
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # closest sentences when abstaining
    question_kind: str = "what"
    timings_ms: dict = field(default_factory=dict)
    signals: dict = field(default_factory=dict)  # inputs of the confidence model, for inspection and tuning
    short_answer: ShortAnswer | None = None
    abstain_reason: str | None = None  # why, when it is not just "no sentence answers this"
    read_as: str | None = None  # the question as read, when a misspelt word in it was corrected

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "text": self.text,
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "question_kind": self.question_kind,
            "citations": [c.to_dict() for c in self.citations],
            "related": [c.to_dict() for c in self.related],
            "passages": [p.to_dict() for p in self.passages],
            "short_answer": self.short_answer.to_dict() if self.short_answer else None,
            "abstain_reason": self.abstain_reason,
            "read_as": self.read_as,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "signals": {k: round(v, 4) for k, v in self.signals.items()},
        }
