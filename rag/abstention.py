"""What an abstention says is missing: "The documents mention the Hongneung biomedical cluster but give no
date for it."

"The documents don't say." alone leaves the reader to guess whether the documents know the subject at all.
When the closest sentence is on the question's topic, the reason names that topic (the question's focus) and
the kind of fact asked for. Nothing is invented: the focus is quoted from the closest sentence, where it must
occur word for word (only the case may differ from the question's); otherwise there is no reason to give.
"""

from __future__ import annotations

import re

from .question import Question
from .text_analysis import STOPWORDS

# What is missing, by the kind of phrase the question asks for.
_MISSING = {
    "date": "give no date for it",
    "place": "do not say where",
    "person_org": "do not say who",
    "number": "give no figure for it",
    "money": "give no sum for it",
    "reason": "do not say why",
}
_WORD = re.compile(r"[\w'’.+-]*\w")
# Words that join the words of one noun phrase ("system with international research institutes").
_LINKS = frozenset("of with between and".split())
_MONTH_OR_DAY = re.compile(
    r"^(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow)$",
    re.I,
)


def _runs(question: str) -> list[list[str]]:
    """The question's runs of content words (joined by "of", "with", "between", "and"): its noun phrases,
    with the verb that may follow one ("the Hongneung biomedical cluster open")."""
    runs: list[list[str]] = [[]]
    for w in _WORD.findall(question):
        if w.lower() in STOPWORDS and not (w.lower() in _LINKS and runs[-1]):
            runs.append([])
        else:
            runs[-1].append(w)
    out = []
    for run in runs:
        while run and run[-1].lower() in _LINKS:
            run = run[:-1]
        if run:
            out.append(run)
    return out


def _focus_phrases(question: str) -> list[str]:
    """What the question may be about, longest first: each run, and each run without its last word (a verb),
    of two words or more; or a run that is one name ("Magok"). Never a date: that is what is asked."""
    found = []
    for run in _runs(question):
        for words in (run, run[:-1]):
            if len(words) >= 2 or (len(run) == 1 and words and words[0][:1].isupper() and question.find(words[0])):
                if not any(_MONTH_OR_DAY.match(w) for w in words):
                    found.append(words)
    found.sort(key=lambda ws: (-len(ws), -len(" ".join(ws))))
    return [" ".join(ws) for ws in found]


def _phrase_pattern(words: list[str], gap: bool) -> str:
    """A regex for the words in order, as whole words; with `gap`, up to two more words may stand between two of
    them ("Hongneung cluster" in "Hongneung biomedical cluster"), never across a comma or other punctuation."""
    between = r"(?:\s+[\w'’-]+){0,2}?\s+" if gap else r"\s+"
    return r"(?<![\w'’-])" + between.join(re.escape(w) for w in words) + r"(?![\w-])"


def _split_match(words: list[str], found: str) -> tuple[list[str], list[str]]:
    """The sentence's match split into the words the question said (in order) and the ones it inserted."""
    said = {w.lower() for w in words}
    kept: list[str] = []
    inserted: list[str] = []
    for w in found.split():
        (kept if w.lower() in said else inserted).append(w)
    return kept, inserted


def focus_in(question: str, sentence: str) -> str | None:
    """The longest focus phrase of the question that the sentence holds word for word (as the sentence writes
    it; a name must keep its capital), after "the" when the question says "the"; None when it holds none.
    Failing that, the longest that it holds with a modifier or two between its words, quoted as the sentence
    has it ("the Hongneung biomedical cluster" for "the Hongneung cluster"), but only content words between."""
    phrases = [p.split() for p in _focus_phrases(question)]
    for gap in (False, True):
        for words in phrases:
            if gap and len(words) < 2:
                continue
            m = re.search(_phrase_pattern(words, gap), sentence, re.I)
            if m is None:
                continue
            found = m.group(0)
            kept, inserted = _split_match(words, found)
            if any(w.lower() in STOPWORDS for w in inserted):
                continue
            if any(q[:1].isupper() and not t[:1].isupper() for q, t in zip(words, kept)):
                continue
            the = re.search(r"\bthe\s+" + re.escape(words[0]), question, re.I)
            return ("the " if the else "") + found
    return None


def missing_reason(question: Question, closest: str | None) -> str | None:
    """Why the documents do not answer, naming what they do hold ("The documents mention X but give no date
    for it."), or None when the question asks for no particular kind of fact or the closest sentence does not
    hold the question's focus."""
    missing = _MISSING.get(question.expected_type or "")
    if missing is None or not closest:
        return None
    focus = focus_in(question.text, closest)
    if focus is None:
        return None
    return f"The documents mention {focus} but {missing}."
