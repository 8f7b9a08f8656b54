"""The choice among the sentences the answer model read: its logit plus a share of the cheap scorer's score."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rag import Settings
from rag.calibration import load_calibration
from rag.composer import choice_order

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "eval"))
import fit_choice_weight as F  # noqa: E402


def test_choice_order_is_the_logit_alone_at_weight_0_and_leans_to_the_cheap_scorer_as_it_grows():
    logits, cheap = [0.5, 1.0, 0.9], [1.2, 0.9, 1.0]
    assert choice_order(logits, cheap, 0.0) == [1, 2, 0]
    assert choice_order(logits, cheap, 1.0) == [1, 2, 0]  # 1.7, 1.9, 1.9: the tie goes to the earlier one
    assert choice_order(logits, cheap, 3.0) == [0, 2, 1]  # 4.1, 3.7, 3.9
    assert choice_order(logits, cheap, 100.0) == [0, 2, 1]  # the cheap scorer's own order
    assert choice_order([], [], 4.0) == []


READ = [
    F.ReadShortlist((False, True, False), (0.2, 1.0, -1.0), (1.0, 0.9, 0.8)),  # the model is right
    F.ReadShortlist((True, False, False), (0.4, 0.6, -2.0), (1.1, 0.9, 0.8)),  # the cheap scorer is right
    F.ReadShortlist((True, False, False), (0.1, 0.3, 0.2), (1.05, 0.7, 0.9)),  # right with a small push
    F.ReadShortlist((), (), ()),  # nothing read: counts as wrong
]


def test_choice_accuracy_counts_the_chosen_sentences_that_hold_an_answer():
    assert F.choice_accuracy(READ, 0.0) == pytest.approx(1 / 4)
    assert F.choice_accuracy(READ, 1.0) == pytest.approx(3 / 4)  # 1.2/1.9/0.6, 1.5/1.5/-1.2, 1.15/1.0/1.1
    assert F.choice_accuracy(READ, 100.0) == pytest.approx(2 / 4)
    assert F.choice_accuracy([], 1.0) == 0.0


def test_best_weight_maximises_the_mean_over_groups_and_prefers_the_smaller_on_a_tie():
    assert F.best_weight({"a": READ}, (0.0, 1.0, 2.0, 100.0)) == 1.0
    only_model_right = [READ[0]]
    assert F.best_weight({"a": READ, "b": only_model_right}, (0.0, 1.0, 100.0)) == 1.0
    assert F.best_weight({"b": only_model_right}, (0.0, 1.0)) == 0.0


def test_choice_weight_is_read_from_the_calibration_and_defaults_to_the_logit_alone(tmp_path):
    (tmp_path / "calibration.json").write_text(json.dumps({"weights": [["model_logit", 1.0]], "threshold": 0.4}))
    assert load_calibration(tmp_path).choice_weight == 0.0
    (tmp_path / "calibration.json").write_text(
        json.dumps({"weights": [["model_logit", 1.0]], "threshold": 0.4, "choice_weight": 8.0})
    )
    assert load_calibration(tmp_path).choice_weight == 8.0


@pytest.mark.parametrize("weight", [-1.0, 101.0])
def test_a_choice_weight_out_of_range_is_refused_by_name(weight):
    with pytest.raises(ValueError, match="choice_weight"):
        Settings(choice_weight=weight)


@pytest.mark.slow
def test_the_setting_decides_the_choice_among_the_sentences_read(embedder, tmp_path):
    """Real model, real index: at weight 0 the quote is the model's best-scored sentence; at a weight that
    swamps the logits it is the cheap scorer's first; by default, the shipped calibration's weight."""
    from rag import Assistant

    question = "How long does the dough rise?"
    quotes = {}
    for weight in (0.0, 100.0, None):
        settings = Settings(answer_threshold=0.0, rerank_first=3, choice_weight=weight)
        assistant = Assistant.load(
            corpus_dir=ROOT / "tests/fixtures/docs",
            index_dir=tmp_path / str(weight),
            settings=settings,
            embedder=embedder,
        )
        log: list = []
        with F.recording_reads(log):
            answer = assistant.ask(question)
        texts, cheap, logits = (sum((list(batch[k]) for batch in log), []) for k in range(3))
        assert len(texts) == 3 and cheap == sorted(cheap, reverse=True)
        assert answer.answered
        quotes[weight] = answer.citations[0].quote
        if weight == 0.0:
            assert quotes[weight] == texts[max(range(3), key=lambda i: logits[i])]
        elif weight == 100.0:
            assert quotes[weight] == texts[0]
        else:
            expected = choice_order(logits, cheap, assistant.calibration.choice_weight)[0]
            assert quotes[weight] == texts[expected]
