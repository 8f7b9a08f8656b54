"""The short answer: the model's span made into a whole phrase of the kind the question asks for.

The answer model's span head is trained on SQuAD, where the gold span is a whole phrase; on other text its
span can end mid-phrase ("…institutions and lift"), run over into a second name ("Seoul National University
Hospital and MIT") or be of the wrong kind ("Joe Biden" for a *where* question). A wrong phrase in bold is
worse than none: the quoted sentence is the answer, the short answer only points into it. So the span is
tidied to a whole phrase, checked against the kind asked (by rule: rag/answer_types.py), repaired to a
phrase of that kind beside it in the same sentence, and dropped when neither works.
"""

from __future__ import annotations

import re

from .answer_types import NEAR_CHARS, asked_type, evidence, is_of_type, phrases_of_type, singular_head
from .question import Question
from .text_analysis import STOPWORDS, stem, words

# Words a whole phrase does not end on: conjunctions, prepositions, articles, auxiliaries, relative words.
_NO_END = frozenset(
    """and or but nor the a an of to in at for with by from on into onto between as than that which who whom whose
    its their his her our is are was were be been being will would could can may might should shall must has have
    had do does did not also including such via per about over under after before during while when where""".split()
)
_NO_START = frozenset("and or but nor that which who whom whose as while than".split())
_EDGE = " \t\n,;:!?\"“”‘’'()[]{}—–-"
_CLAUSE = re.compile(
    r"\b(?:is|are|was|were|be|been|will|would|could|can|may|might|should|must|has|have|had|do|does|did|said|says)\b",
    re.I,
)
_AND = re.compile(r",?\s+and\s+|,\s+")


def _content(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in STOPWORDS}


def _tidy(sentence: str, a: int, b: int) -> tuple[int, int]:
    """Trim edge punctuation and edge words no phrase ends (or starts) on; an "and <verb>" cut off from its
    object ("…institutions and lift | regulations") goes with them."""
    while True:
        start, end = a, b
        while a < b and sentence[a] in _EDGE:
            a += 1
        while a < b and sentence[b - 1] in _EDGE:
            b -= 1
        if b < len(sentence) and sentence[b - 1 : b] == "." and b > a and sentence[a:b].split()[-1].islower():
            b -= 1  # a sentence-final full stop, not "St." or "a.m."
        if b - a > 2 and sentence[b - 2 : b] in ("'s", "’s"):
            b -= 2  # "Seoul National University Hospital's | medical big data": the name, not its possessive
        tokens = list(re.finditer(r"\S+", sentence[a:b]))
        if not tokens:
            return a, a
        first, last = tokens[0].group(0).lower(), tokens[-1].group(0).lower().strip(_EDGE)
        if first.strip(_EDGE) in _NO_START and len(tokens) > 1:
            a += tokens[1].start()
        elif last in _NO_END and len(tokens) > 1:
            b = a + tokens[-2].end()
        elif len(tokens) > 2 and tokens[-2].group(0).lower() == "and" and _cut_from_object(sentence, b, last):
            b = a + tokens[-3].end()  # "… and lift" followed by its object
        if (a, b) == (start, end):
            return a, b


def _cut_from_object(sentence: str, end: int, last: str) -> bool:
    """Whether the span's last word is a verb whose object the sentence goes on with ("and lift | regulations"):
    a lower-case word that is no plural noun, followed at once by a lower-case content word."""
    m = re.match(r" +([a-z][\w-]*)", sentence[end:])
    if m is None:
        return False
    return last.isalpha() and last.islower() and not last.endswith("s") and m.group(1) not in STOPWORDS


def _drop_copied_parts(sentence: str, a: int, b: int, question: Question, head: str | None) -> tuple[int, int]:
    """Of a span that joins several parts ("X and Y", "X, Y"), drop the parts the question already holds
    ("Seoul National University Hospital and MIT" when MIT is in the question), and when the question asks
    for one thing ("which hospital …?"), keep only the part that names it."""
    span = sentence[a:b]
    cuts = [0, *(x for m in _AND.finditer(span) for x in (m.start(), m.end())), len(span)]
    if len(cuts) == 2:
        return a, b
    parts = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]
    if _CLAUSE.search(span):
        return a, b  # a clause ("X and Y are directly connected"), not a list of names
    asked = _content(question.query)
    kept = [(s, e) for s, e in parts if not _copied_name(span[s:e], asked)]
    if head is not None and len(kept) > 1:
        naming = [(s, e) for s, e in kept if stem(head) in {stem(w) for w in words(span[s:e])}]
        kept = naming[:1] or parts  # no part names it: which one is meant is unknown, so none is cut
    if not kept or len(kept) == len(parts):
        return a, b
    return a + kept[0][0], a + kept[-1][1]


def _copied_name(part: str, asked: set[str]) -> bool:
    """A name ("MIT") or a phrase of two or more words ("national security") that the question already holds;
    a single common word ("technology") may be half of a fixed phrase, so it stays."""
    content = _content(part)
    return bool(content) and content <= asked and (part[:1].isupper() or len(part.split()) > 1)


def short_answer_span(sentence: str, span: tuple[int, int], question: Question) -> tuple[int, int] | None:
    """Character offsets (within `sentence`) of the short answer to show, or None when the model's span is
    not a phrase of the asked-for kind and no such phrase lies beside it in the sentence."""
    answer_type = asked_type(question)
    head = singular_head(question.text)
    a, b = _tidy(sentence, *span)
    a, b = _drop_copied_parts(sentence, a, b, question, head)
    a, b = _tidy(sentence, a, b)
    phrase = sentence[a:b]
    copied = not (_content(phrase) - _content(question.query))  # "able to grow" for "why was it able to grow?"
    if phrase and not copied and (answer_type is None or is_of_type(sentence, a, b, answer_type)):
        return a, b
    if answer_type is None:
        return None
    return _repair(sentence, span, question, answer_type)


def _repair(sentence: str, span: tuple[int, int], question: Question, answer_type: str) -> tuple[int, int] | None:
    """The phrase of the asked-for kind that the question does not already hold, with the plainest evidence of
    its kind (the speaker, for "who said …?"), nearest the model's span: the model pointed at the right place
    but marked the wrong words. Only within NEAR_CHARS of the span, except for the speaker."""
    asked = question.query.lower()
    best: tuple[int, int, int, int] | None = None
    for s, e in phrases_of_type(sentence, answer_type):
        text = sentence[s:e].lower()
        if text in asked or not (_content(text) - _content(asked)):
            continue
        gap = max(0, s - span[1], span[0] - e)
        strength = evidence(sentence, s, e, answer_type, question.text)
        if (gap <= NEAR_CHARS or strength == 3) and (best is None or (-strength, gap) < (best[0], best[1])):
            best = (-strength, gap, s, e)
    return (best[2], best[3]) if best else None
