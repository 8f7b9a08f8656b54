"""Misspelt question words, corrected to the documents' own words before anything reads the question.

"which hosptial could cooperate with MIT?" was refused (P(right) 0.17) while "Which hospital could …" is
answered at 0.90: a misspelt word matches nothing in BM25, reads as an unknown name to the calibration, and
splits into word pieces the answer model never saw. A word is corrected only when it is neither an English
word (the 82,765-word frequency list that ships in symspellpy's wheel) nor a word of the documents, and
exactly one document word lies closest to it within 1 edit (2 from 7 letters on; rapidfuzz's optimal string
alignment distance, so a swapped pair of letters is one edit). Names the documents do not use are left alone
unless one of theirs is that close; a correction never only drops a prefix ("unsegmented" is not
"segmented"), and contractions ("couldn't") are not words here. Nothing is indexed ahead: a lookup scans the
documents' words in C++ (0.02 ms on the article's 264 words, 7 ms on 75,570), and only for a word that is no
word.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
MIN_LETTERS = 4  # shorter words are too close to too many others ("then"/"than")
TWO_EDITS_FROM = 7  # letters from which two edits are allowed ("vechile" → "vehicle")


def _fold(word: str) -> str:
    """Lower case without accents: "Beyoncé" and "beyonce" are one word."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """symspellpy's English frequency list, words only (about 35 ms, once per process)."""
    text = (resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


class SpellingFixer:
    """The documents' words, and the closest of them to a question word that is no word at all."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._texts = texts
        self._words: set[str] | None = None
        self._candidates: list[str] = []
        self._lock = threading.Lock()

    @property
    def words(self) -> set[str]:
        """The documents' words, folded; read on the first question, not at load (0.8 s for 14 M characters)."""
        with self._lock:
            if self._words is None:
                raw: set[str] = set()
                for text in self._texts:
                    raw.update(_WORD.findall(text.lower()))
                self._words = {_fold(w) for w in raw}
                self._candidates = sorted(w for w in self._words if w.isalpha())
                self._texts = ()
            return self._words

    def correction(self, word: str) -> str | None:
        """The document word meant, or None when the word is a word, or no single document word is closest."""
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        folded = _fold(word)
        if len(folded) < MIN_LETTERS or not folded.isalpha() or folded in self.words or folded in english_words():
            return None
        edits = 1 if len(folded) < TWO_EDITS_FROM else 2
        found = process.extract(folded, self._candidates, scorer=OSA.distance, score_cutoff=edits, limit=None)
        if not found:
            return None
        nearest = min(distance for _, distance, _ in found)
        terms = [term for term, distance, _ in found if distance == nearest]
        if len(terms) != 1:
            return None
        term = terms[0]
        if folded.endswith(term) or term.endswith(folded):  # a prefix dropped or added: "unsegmented"
            return None
        return term

    def correct(self, text: str) -> str:
        """The text with each misspelt word replaced by the document word meant (its capital kept)."""

        def fix(m: re.Match[str]) -> str:
            word = m.group(0)
            term = self.correction(word)
            if term is None:
                return word
            return term[:1].upper() + term[1:] if word[:1].isupper() else term

        return _WORD.sub(fix, text)
