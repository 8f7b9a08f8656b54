"""Word-level analysis shared by BM25 and the answer composer: one tokenizer, one stemmer."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.U)

# Function words and question words: they say how something is asked, not what about.
STOPWORDS = frozenset(
    """
a an and are as at be but by for if in into is it no not of on or such that the their then there these they this
to was will with from has have had do does did done can could would should may might must shall been being were
what which who whom whose when where why how whats it's its s t i me my we our you your he him his she her them
about than so also any all some very just there's here after before over under again
""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed terms (the unit BM25 and overlap scoring count)."""
    out = []
    for w in words(text):
        if w.endswith("'s"):
            w = w[:-2]
        if w in STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(stem(w))
    return out
