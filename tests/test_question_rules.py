"""Question analysis without any model: kinds, answer types, compound splitting, follow-ups, scripts."""

from __future__ import annotations

import pytest

from rag.errors import EmptyQuestionError, InvalidQuestionError, QuestionTooLongError
from rag.question import (
    analyse_question,
    has_answer_type,
    main_script,
    needs_history,
    search_text_for,
    split_compound,
    validate_question,
)
from rag.sentence_scoring import missing_number, unseen_name


@pytest.mark.parametrize(
    "question, kind, expected",
    [
        ("When was the export strategy meeting?", "when", "date"),
        ("Where was the fifth export strategy meeting held?", "where", "place"),
        ("Who wrote the article?", "who", "person_org"),
        ("How much money will Korea invest?", "how-many", "money"),
        ("How many companies are in the Boston cluster?", "how-many", "number"),
        ("Why did Yoon visit Boston?", "why", "reason"),
        ("Did Biden attend the meeting?", "yes-no", None),
        ("What is Korea trying to build?", "what", None),
        ("Which hospital will work with MIT?", "who", "person_org"),
        ("In which district is the Magok Industrial Complex?", "where", "place"),
        ("How does the cluster connect industries?", "how", None),
    ],
)
def test_question_kind_and_expected_type(question, kind, expected):
    q = analyse_question(question)
    assert (q.kind, q.expected_type) == (kind, expected)


@pytest.mark.parametrize(
    "sentence, question, answer_type, found",
    [
        ("The meeting was held on 1 June 2023.", "When was the meeting?", "date", True),
        ("The meeting discussed strategies.", "When was the meeting?", "date", False),
        ("It was held at the Seoul Startup Hub M+ in Gangseo District.", "Where was it held?", "place", True),
        ("The plan will cost 2 trillion won.", "How much will it cost?", "money", True),
        ("The plan will cost a lot.", "How much will it cost?", "money", False),
        ("He went there because the hub leads the world.", "Why did he go?", "reason", True),
        # a phrase the question already holds is not an answer to it
        ("The meeting was in April.", "What happened in April?", "date", False),
    ],
)
def test_answer_type_detection(sentence, question, answer_type, found):
    assert has_answer_type(sentence, question, answer_type) is found


@pytest.mark.parametrize(
    "question, texts, missing",
    [
        ("How much had Spectre grossed by 21 February 2016?", ["As of 21 February 2016, it grossed $879.3m."], 0.0),
        (
            "Spectre grossed $929.3 million as of what date?",
            ["As of 21 February 2016, it grossed $879.3 million."],
            1.0,
        ),
        ("An MI66 safehouse is called what?", ["An MI6 safehouse is called Hildebrand."], 1.0),
        ("Who spent 1,000 won?", ["She spent 1000 won."], 0.0),  # thousands separators do not count
        ("What happened in 2019?", ["It rained.", "In 2019 the river rose."], 0.0),  # the sentence before counts
        ("Who chaired the meeting?", ["Yoon chaired it."], 0.0),  # no number asked, nothing missing
    ],
)
def test_a_number_the_text_lacks_is_flagged(question, texts, missing):
    assert missing_number(question, texts) == missing


ZELDA = " ".join(
    "The Legend of Zelda: Twilight Princess is a game. Lawrence Toppman of The Charlotte Observer liked it.\n"
    "Nintendo Power ranked it third.".lower().split()
)


@pytest.mark.parametrize(
    "question, unseen",
    [
        ("When was Radar Princess released?", 1.0),  # a changed title
        ("What did Lawrence Toppman of The Boston Observer call it?", 1.0),  # a changed paper
        ("Where did Nintendo Power's list rank Twilight Princess?", 0.0),  # possessive, across a line break
        ("What is The Legend of Zelda about?", 0.0),
        ("Who liked Radar?", 0.0),  # one capitalised word is not a name worth checking
        ("Has Lawrence Toppman liked it?", 0.0),  # an auxiliary that starts the question is not in the name
        ("Name The Legend of Zelda's maker.", 0.0),
        ("What did Toppman like?", 0.0),
    ],
)
def test_a_name_the_document_never_uses_is_flagged(question, unseen):
    assert unseen_name(question, ZELDA) == unseen


@pytest.mark.parametrize(
    "text, parts",
    [
        (
            "Which university did Yoon visit, and who did he meet there?",
            ["Which university did Yoon visit", "who did he meet there?"],
        ),
        ("When did Yoon visit Boston and what did he discuss?", ["When did Yoon visit Boston", "what did he discuss?"]),
        ("Where was the meeting held?", ["Where was the meeting held?"]),
        ("What did industry and academia gain?", ["What did industry and academia gain?"]),
    ],
)
def test_split_compound(text, parts):
    assert split_compound(text) == parts


@pytest.mark.parametrize(
    "question, follow_up",
    [
        ("Where was it held?", True),
        ("What did he say about security?", True),
        ("And in April?", True),
        ("What about Seoul?", True),
        ("Why?", True),
        ("Who said that?", True),
        ("When did they meet there?", True),
        ("Where did he meet Biden?", True),
        # self-contained questions keep their own words only; a pronoun after a name refers to it
        ("What did Yoon visit during his U.S. trip?", False),
        ("What does the government want its cluster to do?", False),
        ("Who wrote the article?", False),
        ("Where was the fifth export strategy meeting held?", False),
        ("Which hospital will work with MIT on medical big data?", False),
        ("What new biomedical cluster is opening in Seoul?", False),
        ("How much money will the government spend on the cluster?", False),
    ],
)
def test_needs_history(question, follow_up):
    assert needs_history(question) is follow_up


def test_search_text_uses_history_only_for_follow_ups():
    history = ["Who led the export strategy meeting?", "Who wrote the article?"]
    assert search_text_for("Where was it held?", history, 1) == "Who wrote the article? Where was it held?"
    assert search_text_for("Where was it held?", history, 2) == " ".join([*history, "Where was it held?"])
    assert search_text_for("Who wrote the article?", history, 2) == "Who wrote the article?"
    assert search_text_for("Where was it held?", [], 2) == "Where was it held?"
    assert search_text_for("Where was it held?", history, 0) == "Where was it held?"
    q = analyse_question("Where was it held?", search_text_for("Where was it held?", history, 1))
    assert q.text == "Where was it held?" and q.query.startswith("Who wrote") and q.kind == "where"


@pytest.mark.parametrize(
    "text, script",
    [
        ("Where was the meeting held?", "LATIN"),
        ("바이오 클러스터는 어디에 있나요?", "HANGUL"),
        ("Где прошла встреча?", "CYRILLIC"),
        ("生物技术集群在哪里?", "CJK"),
        ("12345 ?!", None),
    ],
)
def test_main_script(text, script):
    assert main_script(text) == script


@pytest.mark.parametrize(
    "value, error",
    [
        ("", EmptyQuestionError),
        ("   \n\t ", EmptyQuestionError),
        ("?!?", EmptyQuestionError),
        ("x" * 1001, QuestionTooLongError),
        (42, InvalidQuestionError),
        (None, InvalidQuestionError),
    ],
)
def test_validate_question_errors(value, error):
    with pytest.raises(error):
        validate_question(value, 1000)


def test_validate_question_cleans_control_characters():
    assert validate_question("  Where\x00 was\u200b it\n held? ", 1000) == "Where was it held?"
