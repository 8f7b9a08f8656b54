"""Abstentions that say what is missing (rag/abstention.py), on the article set's unanswerable items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.abstention import focus_in, missing_reason
from rag.question import analyse_question
from rag.types import NOT_ANSWERED

ROOT = Path(__file__).resolve().parent.parent
ITEMS = {d["id"]: d for d in map(json.loads, (ROOT / "eval/article_qa.jsonl").read_text().splitlines()) if d}
CLUSTER = (
    "Possible areas of joint cooperation include tech collaboration between the newly opening Hongneung biomedical "
    "cluster in Seoul and the Boston biotech cluster and a convergence education program between the Massachusetts "
    "General Hospital, Harvard Medical School's teaching hospital, and Kaist."
)
SYSTEM = (
    '"The government should invest heavily in a cooperative system with international research institutes, so that '
    'a cluster may be established not only with domestic but also some international connection."'
)
BIG_DATA = (
    "Another project could combine Seoul National University Hospital's medical big data with MIT's research "
    "capabilities, which would see innovative collaboration on areas such as early diagnosis of cancer."
)
SUMMIT = (
    "This meeting discussed strategies for supporting a Korean bio cluster following meetings with biotech experts "
    "that took place when Yoon visited Boston, the world's leading biotech hub, during his state visit to the "
    "United States in April for a summit with U.S. President Joe Biden."
)


@pytest.mark.parametrize(
    "item_id, closest, reason",
    [
        ("art-140", CLUSTER, "The documents mention the Hongneung biomedical cluster but give no date for it."),
        ("art-143", CLUSTER, "The documents mention the Hongneung biomedical cluster but do not say who."),
        ("art-177", CLUSTER, "The documents mention the Hongneung biomedical cluster but give no figure for it."),
        (
            "art-128",
            SYSTEM,
            "The documents mention the cooperative system with international research institutes but give no sum "
            "for it.",
        ),
        ("art-156", BIG_DATA, "The documents mention Seoul National University Hospital but give no figure for it."),
        # the focus is not in the closest sentence (or is only part of a name there): the plain message
        ("art-095", SUMMIT, None),  # "World War II" is not "the world's leading biotech hub"
        ("art-081", SUMMIT, None),  # "April" is the kind of thing asked for, not what the question is about
        ("art-108", SUMMIT, None),  # "the Boston hub" is not in this sentence, though "Boston" is
        ("art-092", SUMMIT, None),  # "What is the capital of France?": no kind of fact to name
    ],
)
def test_the_reason_names_the_focus_and_the_missing_kind(item_id, closest, reason):
    item = ITEMS[item_id]
    assert not item["answerable"]
    assert missing_reason(analyse_question(item["question"]), closest) == reason


def test_the_focus_is_quoted_from_the_sentence_never_made_up():
    assert focus_in("when does the hongneung biomedical cluster open?", CLUSTER) == "the Hongneung biomedical cluster"
    assert focus_in("When will the Daejeon biomedical cluster open?", CLUSTER) is None
    for item in ITEMS.values():
        q = analyse_question(item["question"])
        reason = missing_reason(q, CLUSTER)
        if reason is not None:
            focus = reason.removeprefix("The documents mention ").split(" but ")[0].removeprefix("the ")
            assert focus in CLUSTER


@pytest.mark.parametrize(
    "question, reason",
    [
        ("When does the Hongneung biomedical cluster open?", "The documents mention the Hongneung biomedical cluster"),
        ("What is the capital of France?", None),
    ],
)
def test_the_assistant_gives_the_reason_with_the_plain_abstention(corpus_assistant, question, reason):
    answer = corpus_assistant.ask(question)
    assert not answer.answered and answer.text == NOT_ANSWERED and answer.citations == []
    if reason is None:
        assert answer.abstain_reason is None
    else:
        assert answer.abstain_reason and answer.abstain_reason.startswith(reason)
        assert answer.to_dict()["abstain_reason"] == answer.abstain_reason


@pytest.mark.parametrize(
    "question, focus",
    [
        ("When will the Hongneung cluster open?", "the Hongneung biomedical cluster"),  # a modifier between
        ("Who runs the Boston cluster?", "the Boston biotech cluster"),
        ("When will the Seoul cluster open?", None),  # "Seoul and the Boston biotech cluster": a link between
        ("When will the hongneung cluster open?", "the Hongneung biomedical cluster"),
        ("When does the Kaist cluster open?", None),  # "Kaist." ends the sentence: nothing follows it
    ],
)
def test_the_focus_may_skip_a_modifier_the_question_left_out(question, focus):
    assert focus_in(question, CLUSTER) == focus
    if focus is not None:
        assert focus.removeprefix("the ") in CLUSTER
