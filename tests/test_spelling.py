"""Misspelt question words read as the documents' own words (rag/spelling.py), and only those."""

from __future__ import annotations

import pytest

from rag.spelling import SpellingFixer

DOCS = [
    "Seoul National University Hospital could work with MIT on a joint vaccine project.",
    "The segmented worms were studied by Beyoncé Knowles, who couldn't attend the meeting.",
    "Researchers met in Gangseo District; the researches were published in Gangnam.",
    "The convergence programme trains physician-scientists.",
]


@pytest.fixture(scope="module")
def fixer() -> SpellingFixer:
    return SpellingFixer(DOCS)


@pytest.mark.parametrize(
    "question, read_as",
    [
        ("which hosptial could work with MIT?", "which hospital could work with MIT?"),  # a transposition
        ("Hosptial?", "Hospital?"),  # its capital kept
        ("Who trains physican-scientists?", "Who trains physician-scientists?"),  # a letter left out
        ("What does the convergnce programme do?", "What does the convergence programme do?"),
        ("When is the vechile ready?", "When is the vechile ready?"),  # no document word that close
        ("What is the point of the project?", "What is the point of the project?"),  # a word, though "joint" is 1 edit
        ("Who studied unsegmented worms?", "Who studied unsegmented worms?"),  # only a prefix more: not a typo
        ("Who is Beyonce?", "Who is Beyonce?"),  # the accent is not a misspelling
        ("Why couldn't she attend?", "Why couldn't she attend?"),  # a contraction is not a word to correct
        ("Did Harvard take part?", "Did Harvard take part?"),  # a name the documents never use
        ("Was it in Gangsan?", "Was it in Gangsan?"),  # one edit from both Gangseo and Gangnam: no guess
    ],
)
def test_a_word_is_corrected_only_when_it_is_no_word_and_one_document_word_is_that_close(fixer, question, read_as):
    assert fixer.correct(question) == read_as


def test_the_assistant_reads_a_misspelt_question_as_meant_and_says_so(embedder, tmp_path):
    from rag import Assistant, Settings
    from tests.conftest import ROOT

    assistant = Assistant.load(corpus_dir=ROOT / "corpus", index_dir=tmp_path / "index", embedder=embedder)
    typo = assistant.ask("which hosptial could cooperate with MIT?")
    spelt = assistant.ask("which hospital could cooperate with MIT?")
    assert typo.question == "which hosptial could cooperate with MIT?"
    assert typo.read_as == "which hospital could cooperate with MIT?" and spelt.read_as is None
    assert typo.answered and typo.text == spelt.text and typo.confidence == spelt.confidence
    assert typo.to_dict()["read_as"] == typo.read_as

    literal = Assistant.load(
        corpus_dir=ROOT / "corpus",
        index_dir=tmp_path / "index",
        embedder=embedder,
        settings=Settings(correct_spelling=False),
    )
    as_typed = literal.ask("which hosptial could cooperate with MIT?")
    assert as_typed.read_as is None and as_typed.confidence < typo.confidence
