"""Whether a phrase is of the kind a question asks for (a date, a number, a person or body, a place), by rule.

Used for short answers only (rag/short_answer.py): the sentence scorer's cue (`has_answer_type`) asks whether
a sentence holds such a phrase anywhere; this asks whether *this* phrase is one, looking at the words just
before it too ("President Joe Biden" is a person, "at Harvard University" a place).
"""

from __future__ import annotations

import re

from .question import ANSWER_TYPE_PATTERNS, Question

# How far (characters) from the model's span a phrase of the asked kind may lie and still replace it.
NEAR_CHARS = 40

_ORDINAL = re.compile(
    r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))\b", re.I
)
_DAY_OR_MONTH = re.compile(
    r"^(?:jan(?:uary)?|feb(?:ruary)?|march|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?"
    r"|nov(?:ember)?|dec(?:ember)?|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\.?$",
    re.I,
)
# Nouns naming people or bodies ("defense and security officials", "the ministry", "local governments").
_PERSON_ORG_NOUNS = frozenset(
    """expert experts official officials scientist scientists researcher researchers leader leaders member members
    people person resident residents worker workers student students doctor doctors engineer engineers physician
    physicians physician-scientists talent talents staff crew keeper keepers president presidents minister ministers
    mayor ministry ministries government governments council councils university universities hospital hospitals
    institute institutes institution institutions company companies firm firms agency agencies committee committees
    school schools college colleges observatory administration team teams partner partners startups start-ups
    city-council board department organisation organization organisations organizations group groups
    association union bank banks court parliament assembly office authorities authority police army""".split()
)
_TITLES = re.compile(
    r"\b(?:President|Minister|Dr|Mr|Mrs|Ms|Prof|Professor|Mayor|King|Queen|Prince|Princess|Duke|Senator|Governor"
    r"|Chairman|Chairwoman|Director|CEO|Councilmember|Councillor|Council\ member|member|keeper|Sir|Lady|Lord"
    r"|Judge|General|Captain|Pope|Bishop|Rev)\.?,?\s+$"
)
_PLACE_NOUNS = frozenset(
    """city town village country nation state province county district region area street road avenue square
    island river lake mountain valley coast harbour harbor port bay hub complex campus building hall centre center
    cottage house office park station airport site venue capital continent world""".split()
)
_VENUE_NOUNS = frozenset(
    """university universities hospital hospitals institute institution school college observatory museum
    library church temple""".split()
)
_TITLE_WORD = re.compile(
    r"\b(?:President|Minister|Dr\.|Mr\.|Mrs\.|Ms\.|Professor|Mayor|Senator|Governor|Chairman|Director|CEO)\s+"
)
_LOCATIVE_BEFORE = re.compile(
    r"\b(?:in|at|from|near|to|into|across|outside|inside|throughout|on|toward|towards)\s+(?:the\s+)?$", re.I
)
_NAME = re.compile(r"(?:[A-Z][\w'’.&+-]*)(?:\s+(?:of\s+|the\s+|de\s+|and\s+(?=[A-Z][a-z]+\s+[A-Z]))?[A-Z][\w'’.&+-]*)*")
_THE_BODY = re.compile(r"\b(?:the|a|an)\s+(?:[a-z-]+\s+)?(?:" + "|".join(sorted(_PERSON_ORG_NOUNS)) + r")\b")
_NOUN_PHRASE_EXPERTS = re.compile(
    r"(?:\b[a-z-]+\s+(?:and\s+)?){0,3}(?<![\w-])(?:experts|officials|scientists|researchers)\b"
)

# Question words that ask for one thing of a kind: "which hospital …", "what city …".
_WHICH = re.compile(r"\b(?:which|what)\s+((?:[\w.'’-]+\s+){0,3})", re.I)
_STOP_AFTER_WHICH = frozenset(
    """is are was were do does did will would could can may might should shall has have had of in on at to for
    with by from kind kinds sort sorts type types""".split()
)
_HEAD_TYPES = {
    **{n: "person_org" for n in _PERSON_ORG_NOUNS},
    **{
        n: "place"
        for n in "city cities town towns country countries place places venue location region district area".split()
    },
    **{n: "date" for n in "year years day days month months date century decade time".split()},
}


def _head_word(question: str) -> str | None:
    """The noun of "which/what <…> <noun>", lower case ("which american teaching hospital might …" -> "hospital",
    "which korean hospital's patient data" -> "hospital"), or None."""
    m = _WHICH.search(question)
    if not m:
        return None
    head = None
    for w in m.group(1).split():
        w = w.lower()
        if w in _STOP_AFTER_WHICH:
            break
        possessive = w.endswith(("'s", "’s"))
        head = w[:-2] if possessive else w
        if possessive:
            break
    return head


def singular_head(question: str) -> str | None:
    """The one thing a "which <noun>" question asks for, when it asks for one of it (not "which cities")."""
    head = _head_word(question)
    if head is None or head not in _HEAD_TYPES or head.endswith("s"):
        return None
    return head


def asked_type(question: Question) -> str | None:
    """The kind of phrase the short answer must be: the question's expected type, made precise by the noun a
    "which/what <noun>" question names ("which hospital" -> a person or body, "which city's hub" -> a place)."""
    head = _head_word(question.text)
    if head in _HEAD_TYPES:
        return _HEAD_TYPES[head]
    if question.expected_type in ("reason",):
        return None  # a reason has no phrase shape a rule can check
    return question.expected_type


def _is_date(phrase: str) -> bool:
    return bool(ANSWER_TYPE_PATTERNS["date"].search(phrase))


def _only_dates(phrase: str) -> bool:
    """Every capitalised word is a month or day name ("April", "Thursday")."""
    caps = [w.strip(",.") for w in phrase.split() if w[:1].isupper()]
    return bool(caps) and all(_DAY_OR_MONTH.match(w) for w in caps)


def _names(phrase: str, at_sentence_start: bool) -> list[str]:
    found = [m.group(0) for m in _NAME.finditer(phrase)]
    if at_sentence_start and found and found[0].split()[0] in ("The", "A", "An", "This", "That", "It", "He", "She"):
        found[0] = " ".join(found[0].split()[1:])
    return [n for n in found if n and not _DAY_OR_MONTH.match(n)]


def is_of_type(sentence: str, start: int, end: int, answer_type: str) -> bool:
    """Whether `sentence[start:end]` is a phrase of `answer_type` ("date", "number", "money", "person_org",
    "place"); the words just before it count ("U.S. President Joe Biden" is no place)."""
    phrase, before = sentence[start:end], sentence[max(0, start - 40) : start]
    lowered = [w.strip(",.;:'’\"").lower() for w in phrase.split()]
    if answer_type == "date":
        return _is_date(phrase)
    if answer_type in ("number", "money"):
        return bool(ANSWER_TYPE_PATTERNS[answer_type].search(phrase) or _ORDINAL.search(phrase))
    names = _names(phrase, start == 0)
    if answer_type == "person_org":
        if _only_dates(phrase) or (not names and _is_date(phrase)):
            return False
        if any(w in _PERSON_ORG_NOUNS for w in lowered) or _TITLES.search(before):
            return True
        return bool(names) and not (_LOCATIVE_BEFORE.search(before) and not _TITLES.search(before))
    if answer_type == "place":
        if _only_dates(phrase):
            return False
        if _TITLES.search(before) or re.search(r"\b(?:" + "|".join(_PERSON_ORG_NOUNS) + r"),\s+$", before):
            return False  # "President Joe Biden", "keeper, Walter Quill"
        if any(w in _PLACE_NOUNS for w in lowered) or ANSWER_TYPE_PATTERNS["place"].search(phrase):
            return True
        if _TITLE_WORD.search(phrase):
            return False
        if names and (_LOCATIVE_BEFORE.search(before) or any(w in _VENUE_NOUNS for w in lowered)):
            return True  # "at Harvard University", "in Seoul"
        return bool(names) and not _looks_like_person(names[0])
    return True


_SPEECH_QUESTION = re.compile(r"\bwho\b.*\b(?:said|says|say|told|stated|announced|described|noted|added)\b", re.I)
_SPEAKER_BEFORE = re.compile(r"\b(?:said|says|according to|told by)\s+$")
_SPEAKER_AFTER = re.compile(r"^,?\s+(?:said|says|told|added|noted|stated)\b")


def evidence(sentence: str, start: int, end: int, answer_type: str, question: str) -> int:
    """How plainly `sentence[start:end]` is of `answer_type`: 3 for the speaker of a "who said" question
    ("…, said the ministry"), 2 for a title, a body, a place word or a place preposition, else 1."""
    phrase, before, after = sentence[start:end], sentence[max(0, start - 40) : start], sentence[end : end + 12]
    lowered = {w.strip(",.;:'’\"").lower() for w in phrase.split()}
    if answer_type == "person_org":
        if _SPEECH_QUESTION.search(question) and (_SPEAKER_BEFORE.search(before) or _SPEAKER_AFTER.match(after)):
            return 3
        return 2 if lowered & _PERSON_ORG_NOUNS or _TITLES.search(before) or _TITLE_WORD.search(phrase) else 1
    if answer_type == "place":
        return 2 if lowered & _PLACE_NOUNS or _LOCATIVE_BEFORE.search(before) else 1
    return 1


def _looks_like_person(name: str) -> bool:
    """Two or three capitalised words with no place or body word in them: "Walter Quill", "Joe Biden"."""
    parts = name.split()
    return 2 <= len(parts) <= 3 and all(p[:1].isupper() and p.lower() not in _PLACE_NOUNS for p in parts)


def phrases_of_type(sentence: str, answer_type: str) -> list[tuple[int, int]]:
    """Phrases of `answer_type` in the sentence, as (start, end): what a wrong-kind span may be replaced by."""
    found: list[tuple[int, int]] = []
    if answer_type in ("date", "number", "money"):
        found = [(m.start(), m.end()) for m in ANSWER_TYPE_PATTERNS[answer_type].finditer(sentence)]
        if answer_type != "date":
            found += [(m.start(), m.end()) for m in _ORDINAL.finditer(sentence)]
        found = [_widen_number(sentence, s, e) if answer_type != "date" else (s, e) for s, e in found]
    else:
        found = [part for m in _NAME.finditer(sentence) for part in _split_at_title(sentence, m.start(), m.end())]
        if answer_type == "person_org":
            found += [(m.start(), m.end()) for m in _THE_BODY.finditer(sentence)]
            found += [(m.start(), m.end()) for m in _NOUN_PHRASE_EXPERTS.finditer(sentence)]
        else:
            found += [(m.start(), m.end()) for m in ANSWER_TYPE_PATTERNS["place"].finditer(sentence)]
        found = [_strip_leading(sentence, s, e) for s, e in found]
    found = [(s, e) for s, e in found if e > s and is_of_type(sentence, s, e, answer_type)]
    return sorted(set(found))


def _split_at_title(sentence: str, start: int, end: int) -> list[tuple[int, int]]:
    """ "U.S. President Joe Biden" -> "U.S." and "President Joe Biden": a title starts a new name."""
    cuts = [start + m.start() for m in _TITLE_WORD.finditer(sentence[start:end]) if m.start() > 0]
    bounds = [start, *cuts, end]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)] + ([(start, end)] if cuts else [])


def _widen_number(sentence: str, start: int, end: int) -> tuple[int, int]:
    """A number with the words of its amount: "2 trillion won", "$1.8 million", "41 people"."""
    m = re.match(
        r"[\d,.]*(?:\s*(?:%|percent|million|billion|trillion|thousand|hundred))*(?:\s+[a-z]+)?", sentence[end:]
    )
    end += len(m.group(0)) if m else 0
    return start, end


def _strip_leading(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Drop a sentence's first word when it only starts the sentence ("The", "This"), a leading preposition
    ("in Seoul" -> "Seoul"), and a trailing possessive."""
    text = sentence[start:end]
    m = re.match(
        r"(?:(?:The|This|That|These|It|He|She|They|In|At|From|To|Near|Into|Across|On|During|After|Before|For"
        r"|in|at|from|to|near|into|across|on|outside|inside|throughout)\s+)+",
        text,
    )
    if m:
        start += m.end()
        text = sentence[start:end]
    if text.endswith(("'s", "’s")):
        end -= 2
    while end > start and sentence[end - 1] in " ,.;:":
        if sentence[end - 1] == "." and re.search(r"(?:\b[A-Z][a-z]?|\.[A-Z])\.$", sentence[start:end]):
            break  # "St.", "U.S."
        end -= 1
    return start, end
