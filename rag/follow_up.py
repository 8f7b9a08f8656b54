"""Follow-ups that lean on the previous answer: "What is her email address?" after "Who wrote the article?".

A pronoun in a follow-up stands for what the previous turn was about. Where that turn asked for a person
("Who wrote the article?") or a named thing ("Which hospital could cooperate with MIT?"), the pronoun stands
for its *answer* ("Sarah Kim", "Seoul National University Hospital"), which the previous question's words do
not hold: searching with them found the title line, not the byline. So the pronoun is replaced by the previous
answer's subject, when the two agree (he/she/his/her for a person, it/its for a thing).
"""

from __future__ import annotations

import re

from .answer_types import singular_head
from .question import analyse_question, needs_history, search_text_for
from .types import Answer

_PERSONAL = re.compile(r"\b(?:he|him|his|she|her|hers)\b", re.I)
_NEUTER = re.compile(r"\b(?:it|its)\b", re.I)
_POSSESSIVE = re.compile(r"\b(?:his|her|hers|its)\b", re.I)
_OBJECT_VERB = re.compile(
    r"\b(?:meet|met|see|saw|ask|asked|call|called|tell|told|visit|visited|thank|thanked)\s*$", re.I
)
_FIELD_VALUE = re.compile(r"^(?:author|byline)\s*:\s*(?:by\s+)?([^\[\]<>()]+?)\s*(?:\[|$)", re.I)


def answer_subject(previous_question: str, answer: Answer) -> tuple[str, str] | None:
    """Who or what the previous answer names, and its kind ("person" or "thing"): the short answer of a "who"
    or "which <noun>" question, or the author named by a byline or author field. None otherwise."""
    if not answer.answered:
        return None
    q = analyse_question(previous_question)
    kind = "person" if q.kind == "who" and singular_head(previous_question) is None else "thing"
    if q.kind not in ("who", "metadata") and singular_head(previous_question) is None:
        return None
    if answer.short_answer is not None and answer.short_answer.text[:1].isupper():
        return answer.short_answer.text, kind
    for c in answer.citations:
        m = _FIELD_VALUE.match(c.quote)
        if m and c.kind == "metadata":
            name = m.group(1).strip()
            return (name.title() if name.isupper() else name), "person"
    return None


def resolve_pronoun(question: str, subject: tuple[str, str] | None) -> str:
    """The question with its first pronoun replaced by the previous answer's subject, when they agree
    ("What is her email address?" + Sarah Kim -> "What is Sarah Kim's email address?"); else unchanged."""
    if subject is None:
        return question
    name, kind = subject
    m = (_PERSONAL if kind == "person" else _NEUTER).search(question)
    if m is None:
        return question
    if kind == "person" and _NEUTER.search(question[: m.start()]):
        return question  # "Where was it held?": "it" comes first and is no person
    replacement = f"{name}'s" if _is_possessive(question, m) else name
    return question[: m.start()] + replacement + question[m.end() :]


def _is_possessive(question: str, m: re.Match[str]) -> bool:
    """ "his/its X" is possessive; "her" is too unless it is an object ("met her", "asked her about …")."""
    word = m.group(0).lower()
    if word != "her":
        return bool(_POSSESSIVE.fullmatch(word))
    follows_noun = re.match(r"\s+[a-z]", question[m.end() :]) is not None
    return follows_noun and not _OBJECT_VERB.search(question[: m.start()])


def follow_up_search_text(question: str, history: list[str], turns: int, subject: tuple[str, str] | None) -> str:
    """What a question is searched and read with. With a pronoun the previous answer resolves: the resolved
    question, after the latest turn only if it still leans on it ("who did Yoon meet there?"); an older turn, or
    the previous question's words, would pull the search their way (to the title line, for the e-mail address).
    Otherwise as before (rag/question.py `search_text_for`)."""
    resolved = resolve_pronoun(question, subject)
    if resolved == question or not history:
        return search_text_for(question, history, turns)
    return f"{history[-1]} {resolved}" if needs_history(resolved) else resolved
