"""Sentence spans with exact character offsets.

pysbd does the hard part (abbreviations like "Jun.", "U.S.", "Dr."); lines and blank-line
paragraphs are hard boundaries, and two quoted sentences in a row are separated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# A closing quote after sentence-final punctuation, followed by an opening quote or a capital.
_QUOTE_BOUNDARY = re.compile(r'(?<=[.!?]["\u201d])\s+(?=["\u201c]|[A-Z])')


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def _split_quotes(text: str, span: Span) -> list[Span]:
    piece = text[span.start : span.end]
    cuts = [m.start() for m in _QUOTE_BOUNDARY.finditer(piece)]
    if not cuts:
        return [span]
    spans, last = [], 0
    for cut in cuts:
        s = _trimmed(text, span.start + last, span.start + cut)
        if s:
            spans.append(s)
        last = cut
    s = _trimmed(text, span.start + last, span.end)
    if s:
        spans.append(s)
    return spans


def split_block(text: str, start: int, end: int) -> list[Span]:
    """Sentences of one line-free block text[start:end]."""
    block = text[start:end]
    if not block.strip():
        return []
    spans: list[Span] = []
    pos = 0
    for piece in _segmenter().segment(block):
        # pysbd's char spans can drift on repeated text; re-anchor each piece by searching forward.
        found = block.find(piece.sent, pos)
        if found < 0:
            found = piece.start
        s = _trimmed(text, start + found, start + found + len(piece.sent))
        pos = found + len(piece.sent)
        if s:
            spans.extend(_split_quotes(text, s))
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of text[start:end]; every line break ends a sentence."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for m in re.finditer(r"[^\n]+", text[start:end]):
        spans.extend(split_block(text, start + m.start(), start + m.end()))
    return spans
