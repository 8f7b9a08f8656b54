"""The answer model's pair format and span decoding (no torch), and the shipped weights (real model)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer_model import (
    MODEL_DIR,
    answer_token_span,
    best_span,
    context_tail,
    encode_pairs,
    pair_text,
    read_config,
    sentence_token_range,
)
from rag.calibration import Calibration
from rag.evaluation import metrics as M
from rag.hashing import file_sha256

SENTENCE = (
    "Yoon presided over the fifth export strategy meeting at the Seoul Startup Hub M+ "
    "at the Magok Industrial Complex in Gangseo District, western Seoul."
)
QUESTION = "Where was the fifth export strategy meeting held?"
TITLE = "President Yoon calls for faster efforts to build global biotech cluster in Korea"


def test_pair_text_puts_a_short_title_before_the_sentence():
    text, start = pair_text(TITLE, SENTENCE)
    assert text[start:] == SENTENCE
    assert text.startswith("President Yoon calls for faster efforts to build | ")  # eight title words
    assert pair_text("", SENTENCE) == (SENTENCE, 0)


def test_a_context_goes_between_the_title_and_the_sentence_and_spans_stay_in_the_sentence():
    before = "This meeting discussed strategies for supporting a Korean bio cluster, Yoon said."
    assert context_tail(before, 3) == "cluster, Yoon said."
    assert context_tail(before, 0) == ""
    text, start = pair_text(TITLE, SENTENCE, context_tail(before, 3))
    assert text == "President Yoon calls for faster efforts to build | cluster, Yoon said. | " + SENTENCE
    assert text[start:] == SENTENCE
    assert pair_text("", SENTENCE, "Yoon said.") == ("Yoon said. | " + SENTENCE, len("Yoon said. | "))
    enc = encode_pairs([QUESTION], [TITLE], [SENTENCE], contexts=["cluster, Yoon said."])
    a = SENTENCE.index("Gangseo District")
    tokens = answer_token_span(enc, 0, a, a + len("Gangseo District"))
    first, last = sentence_token_range(enc, 0)
    assert tokens is not None and first <= tokens[0] <= tokens[1] <= last
    assert enc.offsets[0][first][0] == start  # the sentence's first token, not the context's
    with pytest.raises(ValueError, match="contexts"):
        encode_pairs([QUESTION], [TITLE], [SENTENCE], contexts=[])


@pytest.mark.parametrize("answer", ["Seoul Startup Hub M+", "Gangseo District", "Yoon", "western Seoul"])
def test_answer_span_round_trip(answer):
    """Gold characters -> token labels -> logits peaked there -> the same characters back."""
    enc = encode_pairs([QUESTION], [TITLE], [SENTENCE])
    a = SENTENCE.index(answer)
    tokens = answer_token_span(enc, 0, a, a + len(answer))
    assert tokens is not None
    first, last = sentence_token_range(enc, 0)
    assert first <= tokens[0] <= tokens[1] <= last
    n = enc.input_ids.shape[1]
    start_logits, end_logits = np.zeros(n), np.zeros(n)
    start_logits[tokens[0]] = end_logits[tokens[1]] = 10.0
    span = best_span(enc, 0, start_logits, end_logits, SENTENCE)
    assert span is not None
    assert SENTENCE[span[0] : span[1]] == answer
    assert span[2] > 0.99  # one peaked start and end: the span head is sure


def test_span_never_leaves_the_sentence():
    enc = encode_pairs([QUESTION], [TITLE], [SENTENCE])
    n = enc.input_ids.shape[1]
    start_logits = np.full(n, -5.0)
    end_logits = np.full(n, -5.0)
    start_logits[1] = end_logits[2] = 50.0  # question tokens: must be ignored
    span = best_span(enc, 0, start_logits, end_logits, SENTENCE)
    assert span is not None and 0 <= span[0] < span[1] <= len(SENTENCE)
    first, last = sentence_token_range(enc, 0)
    assert span[2] == pytest.approx(1 / (last - first + 1) ** 2)  # flat over the sentence: no idea where


def test_batches_pad_to_the_longest_pair():
    enc = encode_pairs(["Who?", QUESTION], ["t", TITLE], ["Short one.", SENTENCE])
    assert enc.input_ids.shape == enc.attention_mask.shape == enc.token_type_ids.shape
    assert enc.attention_mask[0].sum() < enc.attention_mask[1].sum() == enc.input_ids.shape[1]


def test_calibration_is_monotone_in_the_model_score():
    cal = Calibration((("bias", -1.0), ("model_logit", 0.8), ("missing_rare", -2.0)), 0.5)
    low, high = cal.probability({"bias": 1, "model_logit": -3}), cal.probability({"bias": 1, "model_logit": 4})
    assert 0.0 < low < 0.5 < high < 1.0
    assert cal.probability({"bias": 1, "model_logit": 4, "missing_rare": 1.0}) < high


@pytest.mark.parametrize(
    "confidences, outcomes, ece",
    [
        ([0.9, 0.9, 0.9, 0.9], [True, True, True, False], 0.15),
        ([0.15, 0.15], [False, False], 0.15),
        ([0.55, 0.55], [True, False], 0.05),
    ],
)
def test_expected_calibration_error(confidences, outcomes, ece):
    assert M.expected_calibration_error(confidences, outcomes) == pytest.approx(ece)


def test_confidence_gap_needs_both_right_and_wrong_answers():
    assert M.confidence_gap([0.9, 0.5, 0.2], [True, True, False], [True, False, False]) == pytest.approx(0.4)
    assert M.confidence_gap([0.9], [True], [True]) is None


# ---- the shipped model ------------------------------------------------------------------------
def test_shipped_weights_are_small_and_match_their_record():
    config = read_config()
    weights = MODEL_DIR / "answer_model.safetensors"
    assert weights.stat().st_size <= 25 * 1024 * 1024
    assert file_sha256(weights) == config["weights_sha256"]
    assert (MODEL_DIR / "MODEL_CARD.md").is_file()
    assert (MODEL_DIR / "calibration.json").is_file()


@pytest.mark.slow
def test_model_prefers_the_answering_sentence():
    from rag.answer_model import AnswerScorer

    scorer = AnswerScorer()
    sentences = [
        SENTENCE,
        "The Boston biotech cluster brings together major universities, global pharmaceutical and bio companies.",
        "The Korean government plans to lift regulations that hinder cluster projects led by local governments.",
    ]
    scores = scorer.score(QUESTION, [TITLE] * 3, sentences)
    assert max(range(3), key=lambda i: scores[i].logit) == 0
    assert scores[0].span is not None
    a, b = scores[0].span
    assert "Seoul Startup Hub" in SENTENCE[a:b] or "Magok" in SENTENCE[a:b]
    # one changed detail: the sentence no longer answers
    swapped = scorer.score("Where was the ninth export strategy meeting held?", [TITLE], [SENTENCE])[0]
    assert swapped.logit < scores[0].logit


@pytest.mark.slow
def test_a_model_trained_with_context_reads_the_sentence_before_and_one_without_does_not(tmp_path):
    import json
    import shutil

    from rag.answer_model import AnswerScorer

    question = "Where did Chopin move in 1831?"
    sentence, before = "He moved to Paris in 1831, where he taught piano.", "Chopin was born in Warsaw in 1810."
    plain = AnswerScorer()
    assert plain.context_words == 0
    assert (
        plain.score(question, ["Chopin"], [sentence], [before])[0] == plain.score(question, ["Chopin"], [sentence])[0]
    )
    folder = tmp_path / "with-context"
    shutil.copytree(MODEL_DIR, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "context_words": 16}))
    reading = AnswerScorer(folder)
    assert reading.context_words == 16
    with_context = reading.score(question, ["Chopin"], [sentence], [before])[0]
    assert with_context.logit != reading.score(question, ["Chopin"], [sentence])[0].logit
    assert with_context.span is not None and "Paris" in sentence[with_context.span[0] : with_context.span[1]]
