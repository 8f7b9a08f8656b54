"""eval/window_reader.py: the passage-window labels of the SQuAD 2.0 recipe and the held-out decision score."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))
import window_reader as W  # noqa: E402

CONTEXT = (
    "The Hongneung biomedical cluster will open in Seoul. "
    + "It will house startups and hospitals side by side. " * 60
    + "Its budget is 500 billion won."
)


def _item(question: str, answer: str | None) -> dict:
    answers = [] if answer is None else [(CONTEXT.index(answer), CONTEXT.index(answer) + len(answer))]
    return {"question": question, "title": "T", "context": CONTEXT, "answers": answers, "reason": ""}


def test_the_answer_tokens_are_labelled_where_a_window_holds_it_and_cls_elsewhere():
    tok = W.tokenizer()
    batch = [_item("Where will the cluster open?", "Seoul"), _item("What is its budget?", "500 billion won")]
    enc = W.windows(tok, batch)
    assert len(enc["input_ids"]) > len(batch)  # the long paragraph needs more than one window
    found = {0: [], 1: []}
    for w, (s, e) in enumerate(zip(enc["start_positions"], enc["end_positions"])):
        q = enc["overflow_to_sample_mapping"][w]
        if s:
            offsets = enc["offset_mapping"][w]
            found[q].append(CONTEXT[offsets[s][0] : offsets[e][1]])
        else:
            assert e == 0  # the null answer is [CLS] as both start and end
    assert found[0] == ["Seoul"]  # the first sentence is in the first window only
    assert found[1] and set(found[1]) == {"500 billion won"}


def test_an_unanswerable_question_is_labelled_null_in_every_window():
    enc = W.windows(W.tokenizer(), [_item("Who founded the cluster?", None)])
    assert set(enc["start_positions"]) == {0} and set(enc["end_positions"]) == {0}


def test_a_threshold_that_separates_right_from_wrong_scores_every_question_right():
    items = [
        {"title": f"article {i % 7}", "answers": [(0, 1)] if i % 2 else [], "question": "q", "context": "c"}
        for i in range(40)
    ]
    scores = [(3.0 if i % 2 else -3.0, bool(i % 2)) for i in range(40)]
    got = W.held_out_accuracy(scores, items)
    assert got["accuracy"] == 1.0 and got["precision_of_answers"] == 1.0 and got["answered"] == 0.5
    wrong_sentence = [(3.0, False) for _ in range(40)]  # answers from a sentence without the answer are wrong
    assert W.held_out_accuracy(wrong_sentence, items)["precision_of_answers"] == 0.0


def test_a_blend_of_two_models_whose_errors_cancel_decides_better_than_either_and_its_weight_is_fitted():
    items = [
        {"title": f"article {i % 7}", "answers": [(0, 1)] if i % 2 else [], "question": "q", "context": "c"}
        for i in range(80)
    ]
    sign = [3.0 if i % 2 else -3.0 for i in range(80)]
    error = [30.0 if (i // 2) % 2 else -30.0 for i in range(80)]  # independent of answerable; only w = 0.5 cancels it
    first = [(s + e, True) for s, e in zip(sign, error)]
    second = [(s - e, True) for s, e in zip(sign, error)]
    alone = W.held_out_accuracy(first, items)["accuracy"]
    got = W.held_out_accuracy(first, items, W.blended(first, second))
    assert alone < 0.8
    assert got["accuracy"] == 1.0
    assert [float(W.BLEND_WEIGHTS[v]) for v in got["variant_per_half"]] == [0.5, 0.5]
