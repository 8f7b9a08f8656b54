"""The context shown around a quote when its passage is not at hand: whole sentences of the document.

A window of characters around the quote cut sentences in half ("hub, during his state visit…",
"…cooperation between the"); here the window grows by whole sentences only, on each side while it stays
within a budget, so the reader sees complete sentences and the quote (highlighted) among them.
"""

from __future__ import annotations

from functools import lru_cache

from rag.sentences import split_sentences

CONTEXT_CHARS = 240  # at most this many characters of whole sentences before and after the quote


@lru_cache(maxsize=32)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The document's sentence spans (the segmenter the index uses), computed once per document text."""
    return tuple((s.start, s.end) for s in split_sentences(text))


def sentence_window(text: str, start: int, end: int, budget: int = CONTEXT_CHARS) -> tuple[int, int]:
    """(start, end) of the whole sentences around text[start:end]: the sentences it touches, plus neighbours
    on each side while they end within `budget` characters of it. Never starts or ends inside a sentence."""
    spans = _sentence_spans(text)
    touched = [i for i, (s, e) in enumerate(spans) if s < end and e > start]
    if not touched:  # the quote lies between sentences (should not happen): show it alone
        return start, end
    first, last = touched[0], touched[-1]
    window_start, window_end = min(spans[first][0], start), max(spans[last][1], end)
    while first > 0 and start - spans[first - 1][0] <= budget:
        first -= 1
        window_start = spans[first][0]
    while last + 1 < len(spans) and spans[last + 1][1] - end <= budget:
        last += 1
        window_end = spans[last][1]
    return window_start, window_end
