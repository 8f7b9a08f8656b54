"""Questions: validation, what kind of answer they ask for, and detecting that kind in a sentence."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .errors import EmptyQuestionError, InvalidQuestionError, QuestionTooLongError

_MONTHS = r"""(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?
    |sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"""
_NUMBER_WORDS = r"""(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty
    |hundred|thousand|million|billion|trillion|dozens?|several|half)"""
_VX = re.VERBOSE | re.IGNORECASE

# Patterns that find a phrase of the kind a question asks for (VERBOSE: a literal space is "\ ").
ANSWER_TYPE_PATTERNS: dict[str, re.Pattern] = {
    "date": re.compile(
        rf"""\b(?:
            {_MONTHS}\s*\d{{0,2}} | \d{{1,2}}\s+{_MONTHS}          # "June 1", "1 Jun."
          | (?:1[5-9]|20)\d\d(?:s)?                              # a year or decade: 1887, 1990s
          | \d{{1,2}}:\d\d                                       # a time of day
          | (?:mon|tues|wednes|thurs|fri|satur|sun)day | yesterday | today | tomorrow
          | (?:last|next|this)\ (?:week|month|year)
          | \d+(?:st|nd|rd|th)\ century | centur(?:y|ies) | decades? | years?\ ago
        )\b""",
        _VX,
    ),
    "number": re.compile(
        rf"""(?: \d[\d,.]* | \b{_NUMBER_WORDS}\b | % | \bpercent\b     # digits, number words, percentages
              | \$ | € | £ | ₩ | \bwon\b | \bdollars?\b )             # currencies""",
        _VX,
    ),
    "money": re.compile(
        r"""(?: [$€£₩]\s?\d                                                       # $5, ₩3
              | \d[\d,.]*\s*(?:million|billion|trillion|thousand)?\s*
                (?:won|dollars?|euros?|pounds?|yen|yuan)\b                         # 2 trillion won
              | \b(?:million|billion|trillion)\b )""",
        _VX,
    ),
    "place": re.compile(
        r"""\b(?:in|at|from|near|to|into|across|outside|inside|throughout)\s+(?:the\s+)?(?:[A-Z][\w'’.-]*\s?)+
          | \b(?:[A-Z][\w'’-]+\s)*                                       # a capitalised name ending in a place word
            (?:District|City|Province|County|Complex|Hub|Street|St\.|Avenue|Island|River|Mountain
              |Square|Hall|Center|Centre|Harbor|Bay|Valley|Region|Republic|Kingdom)\b""",
        re.VERBOSE,
    ),
    "person_org": re.compile(
        r"""\b(?:[A-Z][\w'’.&-]+\s){1,4}[A-Z][\w'’.&-]+                 # a multi-word proper name
          | \b(?:President|Minister|Dr\.|Mr\.|Ms\.|Mrs\.|CEO|Professor|Mayor|King|Queen|Duke
              |Councilmember|Councillor|Senator|Governor|Chairman|Director)\b   # titles
          | \b(?:University|Hospital|Institute|Ministry|[Gg]overnment|Company|Corporation|Council
              |Association|Agency|Committee)\b                                 # bodies""",
        re.VERBOSE,
    ),
    "reason": re.compile(
        r"""\b(?:because | due\ to | as\ a\ result | in\ order\ to | so\ that | aimed\ at | aims?\ to | thanks\ to
          | since
          | to\ (?:help|support|build|become|boost|promote|attract|create|foster|connect|improve|reduce
                |prevent|protect|keep)
          | for\ the\ (?:purpose|sake) | inspired\ by | following | led\ to | result(?:ed)?\ (?:in|from)
          | caused?)\b""",
        _VX,
    ),
}

# The kind of a question, first match wins.
_KIND_RULES: list[tuple[str, re.Pattern]] = [
    (
        "how-many",
        re.compile(
            r"""\bhow\ (?:many|much|long|far|big|large|tall|high|old|often)\b
          | \bwhat\ (?:number|amount|percentage|share|size|cost)\b
          | \bwhat\ (?:is|was|were|are)\ the\ (?:\w+\ )?
            (?:number|amount|cost|size|height|population|count|total|tally|price|budget)\b""",
            _VX,
        ),
    ),
    (
        "when",
        re.compile(
            r"""\bwhen\b | \bwhat\ (?:time|date|day|year|month|century|decade)\b
          | \bwhich\ (?:day|date|year|month|century)\b | \bwhat\ day\b""",
            _VX,
        ),
    ),
    (
        "where",
        re.compile(
            r"""\bwhere\b | \bwhat\ (?:place|city|country|venue|location|region|district|town)\b
          | \bwhich\ (?:city|place|country|venue|location|region|district|town|area)\b | \bin\ which\b""",
            _VX,
        ),
    ),
    (
        "who",
        re.compile(
            r"""\bwho(?:m|se)?\b
          | \bwhich\ (?:person|people|company|companies|organi[sz]ations?|universit(?:y|ies)|hospitals?
              |institut\w*|body|agency|group|country|countries|official|president|leader)\b
          | \bwhat\ (?:company|organi[sz]ation|person|hospital|university|institution|agency|group)\b
          | \bname\ (?:of|the)\b""",
            _VX,
        ),
    ),
    (
        "why",
        re.compile(
            r"""\bwhy\b | \bfor\ what\ (?:reason|purpose)\b
          | \bwhat\ (?:was|is|were|are)\ the\ (?:reason|purpose|goal|aim|motivation)s?\b | \bwhat\ for\b""",
            _VX,
        ),
    ),
    ("yes-no", re.compile(r"^(?:is|are|was|were|do|does|did|can|could|will|would|has|have|had|should|shall)\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
]

EXPECTED_TYPE = {"when": "date", "where": "place", "who": "person_org", "how-many": "number", "why": "reason"}


@dataclass(frozen=True)
class Question:
    """What the user asked (`text`), what to search and score with (`search_text`: a follow-up carries
    the turn it leans on), and the kind of answer it wants."""

    text: str
    kind: str
    expected_type: str | None
    search_text: str = ""

    @property
    def query(self) -> str:
        return self.search_text or self.text


_COMPOUND = re.compile(
    r"(?:,\s*|\s+)(?:and|also)\s+(?=(?:who|whom|what|which|where|when|why|how|is|are|was|were|did|does|do)\b)", re.I
)


def split_compound(text: str) -> list[str]:
    """'Which X …, and who Y …?' → two questions; anything else stays whole."""
    parts = [p.strip(" ,;") for p in _COMPOUND.split(text)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts if len(parts) == 2 else [text]


def validate_question(question: object, max_chars: int) -> str:
    """The cleaned question text, or a specific InvalidQuestionError."""
    if not isinstance(question, str):
        raise InvalidQuestionError(f"question must be a string, got {type(question).__name__}")
    cleaned = unicodedata.normalize("NFC", question)
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in cleaned)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise EmptyQuestionError("question is empty; type a question about the documents")
    if len(cleaned) > max_chars:
        raise QuestionTooLongError(f"question is {len(cleaned)} characters; the limit is {max_chars}")
    if not any(ch.isalnum() for ch in cleaned):
        raise EmptyQuestionError("question has no words in it")
    return cleaned


_MONEY_QUESTION = re.compile(
    r"\b(?:cost|costs|spend|spent|invest\w*|money|fund\w*|budget|price|pay|paid|worth|won|dollars?)\b", re.I
)


def analyse_question(text: str, search_text: str = "") -> Question:
    lowered = text.lower().strip()
    kind = "what"
    for name, pattern in _KIND_RULES:
        if pattern.search(lowered):
            kind = name
            break
    expected = EXPECTED_TYPE.get(kind)
    if kind == "how-many" and _MONEY_QUESTION.search(lowered):
        expected = "money"
    return Question(text, kind, expected, search_text if search_text and search_text != text else "")


# A question that leans on the conversation: a pronoun or "there"/"then" standing for something said
# before, or an elliptical "And in April?" / "What about Seoul?".
_ELLIPTICAL_START = re.compile(r"^(?:and|also|what about|how about|and what about|same for|then|so)\b", re.I)
_ANAPHOR = re.compile(
    r"\b(?:he|him|his|she|her|hers|they|them|their|theirs|it|its|there|then|that one|this one|those|these|"
    r"the same|the other|the latter|the former)\b",
    re.I,
)
_REFERENT = re.compile(r"(?<=\S)\s+(?:[A-Z][\w'’.-]*|the\s+\w+)", re.U)  # a name or noun phrase, not the first word
_DEICTIC_THAT = re.compile(r"\b(?:that|this)\s*[?.!]?$", re.I)  # "Why did he say that?", "Who said this?"


def needs_history(text: str) -> bool:
    """Whether the question only makes sense with the conversation before it (decided by rule)."""
    stripped = text.strip()
    if _ELLIPTICAL_START.match(stripped):
        return True
    words = stripped.split()
    if len(words) <= 2:  # "Why?", "Where exactly?"
        return True
    if _DEICTIC_THAT.search(stripped):
        return True
    pronoun = _ANAPHOR.search(stripped)
    if not pronoun:
        return False
    # "What did Yoon visit during his trip?": a name (or "the <noun>") before the pronoun is its referent.
    return not _REFERENT.search(stripped[: pronoun.start()])


def search_text_for(question: str, history: list[str], turns: int) -> str:
    """The text to search with: the question, plus the earlier turn(s) only when it is a follow-up."""
    if not history or turns <= 0 or not needs_history(question):
        return question
    return " ".join([*history[-turns:], question])


_SCRIPT_NAMES = {
    "HANGUL": "Korean",
    "HIRAGANA": "Japanese",
    "KATAKANA": "Japanese",
    "CJK": "Chinese",
    "CYRILLIC": "Cyrillic-script",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "GREEK": "Greek",
    "DEVANAGARI": "Hindi",
    "THAI": "Thai",
    "LATIN": "Latin-script",
}


def script_of(ch: str) -> str | None:
    """The writing system of a letter ("LATIN", "HANGUL", ...), None for non-letters."""
    if not ch.isalpha():
        return None
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return None


def main_script(text: str) -> str | None:
    """The script most of the letters are in."""
    counts: dict[str, int] = {}
    for ch in text:
        s = script_of(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def script_language(script: str) -> str:
    return _SCRIPT_NAMES.get(script, script.title())


def has_answer_type(sentence: str, question: str, answer_type: str | None) -> bool:
    """Whether the sentence holds a phrase of the asked-for kind that the question itself lacks."""
    if answer_type is None:
        return False
    q = question.lower()
    for m in ANSWER_TYPE_PATTERNS[answer_type].finditer(sentence):
        phrase = m.group(0).strip().lower()
        if phrase and phrase not in q:
            return True
    return False
