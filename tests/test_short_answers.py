"""Short answers of the kind asked, as whole phrases (rag/short_answer.py, rag/answer_types.py).

The spans below are the ones the answer model marked in the browser and in `rag eval` (issue 28); the rules
must turn each into a whole phrase of the asked-for kind, or into no short answer at all.
"""

from __future__ import annotations

import pytest

from rag.answer_types import asked_type, is_of_type
from rag.question import analyse_question, search_text_for
from rag.short_answer import short_answer_span

SUMMIT = (
    "This meeting discussed strategies for supporting a Korean bio cluster following meetings with biotech experts "
    "that took place when Yoon visited Boston, the world's leading biotech hub, during his state visit to the "
    "United States in April for a summit with U.S. President Joe Biden."
)
ECOSYSTEM = (
    "The Korean government plans to better support building an ecosystem to connect industries, academia and "
    "institutions and lift regulations that hinder cluster projects led by local governments."
)
ALLIANCE = (
    'Yoon emphasized that a "bio alliance" between Seoul and Boston was discussed during this visit, laying out a '
    "vision to closely connect research institutes and universities, including potential digital and bio-research "
    "cooperation between the Seoul National University Hospital and MIT."
)
GROW = (
    "Yoon highlighted that the Boston hub was able to grow as a result of the government's strategy to foster a "
    "robust industry-academia ecosystem and promote a fair market order and compensation system, bringing together "
    "top talents in engineering, medicine, law and finance."
)
BIG_DATA = (
    "Another project could combine Seoul National University Hospital's medical big data with MIT's research "
    "capabilities, which would see innovative collaboration on areas such as early diagnosis of cancer, treatment "
    "and rehabilitation of intractable neurological diseases such as dementia and training of physician-scientists, "
    "said the ministry."
)
KEEPER = "The last resident keeper, Walter Quill, retired to a cottage on Harbour St. in the village of Lowden."
SECURITY = (
    '"National security and high-tech industries are directly connected," Yoon said, noting that defense and '
    "security officials are always interested in cutting-edge science and technology."
)


def _short(sentence: str, marked: str, question: str, history: list[str] | None = None) -> str | None:
    start = sentence.index(marked)
    q = analyse_question(question, search_text_for(question, history or [], 2))
    span = short_answer_span(sentence, (start, start + len(marked)), q)
    return sentence[span[0] : span[1]] if span else None


@pytest.mark.parametrize(
    "sentence, marked, question, history, short",
    [
        # of the wrong kind: repaired to the phrase of the asked kind beside it
        (
            SUMMIT,
            "April",
            "Who did he hold a summit with?",
            ["When did Yoon visit Boston?"],
            "U.S. President Joe Biden",
        ),
        (SUMMIT, "Joe Biden", "what country is he the president of?", ["Who did Yoon hold a summit with?"], "U.S."),
        (KEEPER, "Walter Quill", "where did he retire to?", ["Who was the last resident keeper?"], "Harbour St."),
        (BIG_DATA, "medical big data", "who said that?", ["What would the SNUH-MIT project cover?"], "the ministry"),
        # not a whole phrase: ends on "and <verb>", runs over into a second name, or copies the question
        (
            ECOSYSTEM,
            "building an ecosystem to connect industries, academia and institutions and lift",
            "How does the government plan to support the cluster?",
            None,
            "building an ecosystem to connect industries, academia and institutions",
        ),
        (
            ALLIANCE,
            "Seoul National University Hospital and MIT",
            "Which hospital could cooperate with MIT?",
            None,
            "Seoul National University Hospital",
        ),
        (
            SECURITY,
            "National security and high-tech industries",
            "What is directly connected to national security?",
            None,
            "high-tech industries",
        ),
        (
            SECURITY,
            '"National security and high-tech industries are directly connected',
            "What did Yoon say?",
            None,
            "National security and high-tech industries are directly connected",
        ),
        # a name, not its possessive
        (
            BIG_DATA,
            "Seoul National University Hospital's",
            "Which hospital will work with MIT on medical big data?",
            None,
            "Seoul National University Hospital",
        ),
        # right already: unchanged
        (SUMMIT, "Joe Biden", "Who did Yoon hold a summit with in April?", None, "Joe Biden"),
        (SUMMIT, "April", "When did Yoon visit Boston?", None, "April"),
        (
            ALLIANCE,
            "Seoul and Boston",
            "between which cities?",
            ["What alliance did Yoon talk about?"],
            "Seoul and Boston",
        ),
        (
            GROW,
            "engineering, medicine, law and finance",
            "Which fields do the top talents come from?",
            None,
            "engineering, medicine, law and finance",
        ),
    ],
)
def test_a_short_answer_is_a_whole_phrase_of_the_asked_kind(sentence, marked, question, history, short):
    assert _short(sentence, marked, question, history) == short


@pytest.mark.parametrize(
    "sentence, marked, question",
    [
        (GROW, "able to grow", "Why was the Boston hub able to grow?"),  # only the question's own words
        # a wrong kind with nothing of the asked kind beside it: no short answer rather than a wrong one
        (SECURITY, "cutting-edge science and technology", "When are officials interested in science?"),
        (BIG_DATA, "dementia", "How many physician-scientists will be trained?"),
    ],
)
def test_no_short_answer_rather_than_a_wrong_one(sentence, marked, question):
    assert _short(sentence, marked, question) is None


def test_where_it_was_held_is_never_a_person():
    # `rag ask --history "Who led the meeting?" "Where was it held?"` bolded "Joe Biden"
    short = _short(SUMMIT, "Joe Biden", "Where was it held?", ["Who led the meeting?"])
    assert short != "Joe Biden"
    if short is not None:
        start = SUMMIT.index(short)
        assert is_of_type(SUMMIT, start, start + len(short), "place")


@pytest.mark.parametrize(
    "sentence, phrase, answer_type, expected",
    [
        (SUMMIT, "Joe Biden", "person_org", True),
        (SUMMIT, "Joe Biden", "place", False),  # "President Joe Biden"
        (SUMMIT, "April", "person_org", False),
        (SUMMIT, "April", "date", True),
        (SUMMIT, "United States", "place", True),
        (KEEPER, "Walter Quill", "place", False),
        (KEEPER, "Harbour St.", "place", True),
        (BIG_DATA, "the ministry", "person_org", True),
        (BIG_DATA, "medical big data", "person_org", False),
        (SECURITY, "defense and security officials", "person_org", True),
    ],
)
def test_phrase_types(sentence, phrase, answer_type, expected):
    start = sentence.index(phrase)
    assert is_of_type(sentence, start, start + len(phrase), answer_type) is expected


@pytest.mark.parametrize(
    "question, answer_type",
    [
        ("Which hospital will work with MIT on medical big data?", "person_org"),
        ("which american teaching hospital might run a course?", "person_org"),
        ("Which city's hub did Yoon say grew?", "place"),
        ("what country is he the president of?", "place"),
        ("Where was it held?", "place"),
        ("When did Yoon visit Boston?", "date"),
        ("How many seismometers are there?", "number"),
        ("What did Yoon call for?", None),
    ],
)
def test_the_asked_type_comes_from_the_question_word_and_its_noun(question, answer_type):
    assert asked_type(analyse_question(question)) == answer_type


TYPED = [
    ("Where was it held?", ["Who led the meeting?"], "place"),
    ("Who did Yoon hold a summit with in April?", None, "person_org"),
    ("When was the export strategy meeting?", None, "date"),
    ("Which hospital will work with MIT on medical big data?", None, "person_org"),
    ("Where did Yoon give an address?", None, "place"),
    (
        "who said that?",
        ["What areas would the Seoul National University Hospital and MIT project cover?"],
        "person_org",
    ),
]


@pytest.mark.parametrize("question, history, answer_type", TYPED)
def test_the_assistant_shows_a_short_answer_only_of_the_asked_kind(corpus_assistant, question, history, answer_type):
    answer = corpus_assistant.ask(question, history=history)
    short = answer.short_answer
    if short is None:
        return  # no short answer is allowed; a wrong-kind one is not
    first = next(c for c in answer.citations if c.start <= short.start and short.end <= c.end)
    sentence = corpus_assistant.documents[first.doc_id].text[first.start : first.end]
    assert is_of_type(sentence, short.start - first.start, short.end - first.start, answer_type), short.text
    assert short.text.split()[-1].lower() not in {"and", "or", "of", "to", "the", "lift"}
