"""Follow-ups whose pronoun stands for the previous answer (rag/follow_up.py): "What is her email address?"
after "Who wrote the article?" cited the title line; alone it got the byline."""

from __future__ import annotations

import pytest

from rag.follow_up import answer_subject, follow_up_search_text, resolve_pronoun
from rag.types import Answer, Citation, ShortAnswer

EMAIL = "kim.sarah@joongang.co.kr"


def _answer(quote: str, kind: str = "body", short: str | None = None) -> Answer:
    c = Citation(1, "doc.md", "Title", "c0", 0, len(quote), quote, f"doc.md#char=0,{len(quote)}", kind)
    s = ShortAnswer("doc.md", quote.index(short), quote.index(short) + len(short), short) if short else None
    return Answer("q", f"{quote} [1]", True, 0.9, [c], short_answer=s)


@pytest.mark.parametrize(
    "question, subject, resolved",
    [
        ("What is her email address?", ("Sarah Kim", "person"), "What is Sarah Kim's email address?"),
        (
            "what country is he the president of?",
            ("Joe Biden", "person"),
            "what country is Joe Biden the president of?",
        ),
        (
            "who runs it?",
            ("Seoul National University Hospital", "thing"),
            "who runs Seoul National University Hospital?",
        ),
        ("When did Yoon meet her?", ("Sarah Kim", "person"), "When did Yoon meet Sarah Kim?"),
        # no agreement: "it" is no person, "he" no hospital
        ("Where was it held?", ("Yoon", "person"), "Where was it held?"),
        ("who did he meet there?", ("Harvard University", "thing"), "who did he meet there?"),
        ("Where was it held?", None, "Where was it held?"),
    ],
)
def test_a_pronoun_is_replaced_by_the_previous_answer_when_they_agree(question, subject, resolved):
    assert resolve_pronoun(question, subject) == resolved


def test_the_previous_answer_subject():
    byline = _answer(f"byline: BY SARAH KIM [{EMAIL}]", kind="metadata")
    assert answer_subject("Who wrote the article?", byline) == ("Sarah Kim", "person")
    biden = _answer("Yoon held a summit with U.S. President Joe Biden.", short="Joe Biden")
    assert answer_subject("Who did Yoon hold a summit with?", biden) == ("Joe Biden", "person")
    hospital = _answer("It names Seoul National University Hospital.", short="Seoul National University Hospital")
    assert answer_subject("Which hospital could cooperate with MIT?", hospital) == (
        "Seoul National University Hospital",
        "thing",
    )
    assert answer_subject("What did Yoon call for?", biden) is None  # a "what" answer names no one
    refused = Answer("q", "The documents don't say.", False, 0.1)
    assert answer_subject("Who wrote the article?", refused) is None


def test_the_search_text_of_a_resolved_follow_up_leaves_older_turns_out():
    history = ["Where was the fifth export strategy meeting held?", "Who wrote the article?"]
    subject = ("Sarah Kim", "person")
    assert follow_up_search_text("What is her email address?", history, 2, subject) == (
        "What is Sarah Kim's email address?"
    )
    assert follow_up_search_text("And her email?", history, 2, subject) == (
        "Who wrote the article? And Sarah Kim's email?"  # still elliptical: the latest turn stays
    )
    # unresolved, or self-contained: exactly as before
    assert follow_up_search_text("Where was it held?", history, 2, ("Yoon", "person")) == " ".join(
        [*history, "Where was it held?"]
    )
    assert follow_up_search_text("Who wrote the article?", history, 2, subject) == "Who wrote the article?"


@pytest.mark.parametrize(
    "history",
    [
        ["Who wrote the article?"],
        ["Where was the fifth export strategy meeting held?", "Who wrote the article?"],
        ["Who led the meeting?", "Who wrote the article?"],
    ],
)
def test_her_email_after_the_author_gets_the_byline(corpus_assistant, history):
    answer = corpus_assistant.ask("What is her email address?", history=history)
    assert answer.answered and EMAIL in answer.citations[0].quote, answer.text


def test_a_conversation_as_the_chat_asks_it_reuses_the_previous_answer(corpus_assistant):
    first = corpus_assistant.ask("Who wrote the article?", history=["Who led the meeting?"])
    follow = corpus_assistant.ask(
        "What is her email address?", history=["Who led the meeting?", "Who wrote the article?"]
    )
    assert first.answered and follow.answered and EMAIL in follow.citations[0].quote


@pytest.mark.parametrize(
    "question, history",
    [
        ("Who wrote the article?", ["Which hospital could cooperate with MIT?", "Who did Yoon meet with at MIT?"]),
        ("When was the export strategy meeting held?", ["Who wrote the article?"]),
        ("Which hospital could cooperate with MIT on digital and bio research?", ["Who led the meeting?"]),
    ],
)
def test_a_self_contained_question_gets_the_answer_it_gets_alone(corpus_assistant, question, history):
    alone = corpus_assistant.ask(question)
    after = corpus_assistant.ask(question, history=history)
    assert (after.text, after.answered, after.short_answer) == (alone.text, alone.answered, alone.short_answer)


def test_where_it_was_held_bolds_the_place_in_the_sentence_the_chosen_one_leans_on(corpus_assistant):
    # The model chooses "This meeting discussed …" and cites the sentence before it, which names the place;
    # the short answer comes from the one of the two the model scores higher, not "U.S." from the first.
    answer = corpus_assistant.ask("Where was it held?", history=["Who led the meeting?"])
    assert answer.short_answer is not None and answer.short_answer.text.startswith("Seoul Startup Hub M+")
    short = answer.short_answer
    assert corpus_assistant.documents[short.doc_id].text[short.start : short.end] == short.text
    assert any(c.start <= short.start and short.end <= c.end for c in answer.citations)
