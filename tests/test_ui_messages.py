"""What the chat says instead of an answer (ui/messages.py): chosen by what was typed, one plain sentence each."""

from __future__ import annotations

import pytest

from rag import EmptyQuestionError, InvalidQuestionError, QuestionTooLongError
from rag.question import validate_question
from ui.messages import EMPTY_MESSAGE, NO_WORDS_MESSAGE, notice_for, typed_something


def _refusal(question: str, limit: int = 1000) -> InvalidQuestionError:
    with pytest.raises(InvalidQuestionError) as caught:
        validate_question(question, limit)
    return caught.value


@pytest.mark.parametrize("question", ["🙂🙂🙂", "?!", "🤔 🚀 🧬", "…"])
def test_input_without_words_is_told_it_needs_words_not_to_type_something(question):
    error = _refusal(question)
    assert isinstance(error, EmptyQuestionError)
    message, detail = notice_for(error, question, 1000, hint="For example: “Who wrote it?”")
    assert message == NO_WORDS_MESSAGE and "words" in message
    assert "type a question" not in message.lower()
    assert detail == "For example: “Who wrote it?”"


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01", "\n\t"])
def test_nothing_typed_is_asked_to_type_a_question(question):
    assert not typed_something(question)
    message, _ = notice_for(_refusal(question), question, 1000)
    assert message == EMPTY_MESSAGE


def test_an_overlong_question_gets_one_plain_sentence():
    question = "why " * 1250  # 5,000 characters
    error = _refusal(question)
    assert isinstance(error, QuestionTooLongError)
    message, detail = notice_for(error, question, 1000)
    assert detail is None
    assert "1,000 characters" in message and message.endswith(".") and message.count(".") == 1
    assert str(error) not in message and "the limit is" not in message and "5000" not in message


def test_other_refusals_keep_a_readable_reason_without_paths():
    error = InvalidQuestionError("history must be a list of earlier questions, got /etc/passwd")
    message, detail = notice_for(error, "Who?", 1000)
    assert message == "I can't take that question as written."
    assert detail is not None and "/etc/passwd" not in detail
