"""What the chat says instead of an answer, chosen by what was typed: one plain sentence each.

The library raises one `EmptyQuestionError` both for nothing typed and for input without a letter or a
digit ("🙂🙂🙂"); the reader did type in the second case, so it gets its own sentence, decided here from
the input itself. Error wording meant for programmers ("question is 5000 characters; …") never reaches
the chat.
"""

from __future__ import annotations

import unicodedata

from rag import EmptyQuestionError, InvalidQuestionError, QuestionTooLongError

from .security import public_message

EMPTY_MESSAGE = "Please type a question first."
NO_WORDS_MESSAGE = "Your question needs words: emoji and punctuation alone cannot be looked up in the documents."
TOO_LONG_MESSAGE = "That question is too long: please ask one short question of at most {limit:,} characters."
NOT_A_QUESTION_MESSAGE = "I can't take that question as written."


def typed_something(text: object) -> bool:
    """Whether the input holds anything visible (not only spaces and control characters)."""
    return isinstance(text, str) and any(
        not ch.isspace() and unicodedata.category(ch)[0] != "C" for ch in unicodedata.normalize("NFC", text)
    )


def notice_for(
    error: InvalidQuestionError, question: object, limit: int, hint: str | None = None
) -> tuple[str, str | None]:
    """(message, detail or None) for a question the assistant refused; `limit` is the longest question allowed,
    `hint` an example question offered when nothing usable was typed."""
    if isinstance(error, EmptyQuestionError):
        return (NO_WORDS_MESSAGE if typed_something(question) else EMPTY_MESSAGE), hint
    if isinstance(error, QuestionTooLongError):
        return TOO_LONG_MESSAGE.format(limit=limit), None
    return NOT_A_QUESTION_MESSAGE, public_message(error)
