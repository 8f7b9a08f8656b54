"""The window reader (rag/answer_reader.py): windows, the span-against-null score, and the shipped reader."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.answer_model import MODEL_DIR, AnswerScorer
from rag.answer_reader import (
    NO_SPAN,
    EncodedWindows,
    ReaderScorer,
    encode_windows,
    passage_of,
    scorer_for,
    window_score,
)

BEFORE = "Chopin was born in Warsaw in 1810."
SENTENCE = "He moved to Paris in 1831, where he taught piano."
AFTER = "He died in Paris in 1849."


WINDOW = (BEFORE, SENTENCE, AFTER)


def test_the_passage_holds_the_sentence_between_its_neighbours():
    text, spans = passage_of(WINDOW, 1)
    assert text == f"{BEFORE} {SENTENCE} {AFTER}"
    assert [text[a:b] for a, b in (spans[-1], spans[0], spans[1])] == [BEFORE, SENTENCE, AFTER]
    assert passage_of([SENTENCE]) == (SENTENCE, {0: (0, len(SENTENCE))})
    text, spans = passage_of(["  ", SENTENCE, AFTER], 1)
    assert text.startswith(SENTENCE) and set(spans) == {0, 1}
    text, spans = passage_of([BEFORE, "", SENTENCE, AFTER], 2)  # parts count places, empty ones included
    assert set(spans) == {-2, 0, 1} and text[slice(*spans[-2])] == BEFORE


def test_the_sentence_tokens_are_exactly_the_sentence():
    enc = encode_windows("Where did he move?", [WINDOW, ["Short.", BEFORE]], [1, 0])
    text, spans = passage_of(WINDOW, 1)
    a, b = spans[0]
    tokens = enc.part_tokens(0)
    assert enc.offsets[0][tokens[0]][0] == a and enc.offsets[0][tokens[-1]][1] == b
    assert all(enc.sequence_ids[0][i] == 1 for i in tokens)
    assert enc.input_ids.shape == enc.attention_mask.shape == enc.token_type_ids.shape
    assert enc.attention_mask[1].sum() < enc.attention_mask[0].sum()  # the shorter window is padded


def _logits_peaking_at(enc, row: int, word: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Start/end logits that put the answer on `word` (its first occurrence in the window's passage)."""
    at = text.index(word)
    starts = np.full(enc.input_ids.shape, -5.0)
    ends = np.full(enc.input_ids.shape, -5.0)
    for i, (sid, (c0, c1)) in enumerate(zip(enc.sequence_ids[row], enc.offsets[row])):
        if sid == 1 and c0 == at:
            starts[row, i] = 6.0
        if sid == 1 and c1 == at + len(word):
            ends[row, i] = 6.0
    starts[row, 0] = ends[row, 0] = 1.0  # the null answer
    return starts, ends


def test_the_score_is_the_best_span_against_the_null_answer():
    enc = encode_windows("Where did he move?", [WINDOW], [1])
    starts, ends = _logits_peaking_at(enc, 0, "Paris", passage_of(WINDOW, 1)[0])
    score = window_score(enc, 0, starts, ends, WINDOW, 1)
    assert score.part == 0
    assert score.span is not None and SENTENCE[score.span[0] : score.span[1]] == "Paris"
    assert score.logit == pytest.approx(12.0 - 2.0)
    assert 0.5 < score.span_prob < 1.0


@pytest.mark.parametrize("word, part", [("Warsaw", -1), ("1849", 1)])
def test_a_span_in_a_neighbour_names_that_neighbour_and_counts_in_it(word, part):
    enc = encode_windows("When?", [WINDOW], [1])
    starts, ends = _logits_peaking_at(enc, 0, word, passage_of(WINDOW, 1)[0])
    score = window_score(enc, 0, starts, ends, WINDOW, 1)
    assert score.part == part
    neighbour = WINDOW[1 + part]
    assert score.span is not None and neighbour[score.span[0] : score.span[1]] == word
    assert score.logit == pytest.approx(10.0)


def test_a_span_never_crosses_from_one_sentence_into_the_next():
    enc = encode_windows("Where?", [WINDOW], [1])
    text = passage_of(WINDOW, 1)[0]
    starts, _ = _logits_peaking_at(enc, 0, "1810", text)  # the start in the sentence before ...
    _, ends = _logits_peaking_at(enc, 0, "Paris", text)  # ... and the end in the sentence
    score = window_score(enc, 0, starts, ends, WINDOW, 1)
    assert score.logit < 6.0  # never the 12.0 of a span from 1810 to Paris


def test_a_sentence_the_window_cannot_hold_is_never_the_answer():
    long_before = " ".join(["Chopin wrote many mazurkas and polonaises for the piano."] * 40)
    enc = encode_windows("Where did he move?", [[long_before, SENTENCE]], [1])
    assert enc.part_tokens(0) == []  # the sentence before filled the window
    starts = ends = np.zeros(enc.input_ids.shape)
    assert window_score(enc, 0, starts, ends, [long_before, SENTENCE], 1).part == -1
    alone = encode_windows("Where did he move?", [[SENTENCE]], [0])
    cut = EncodedWindows(**{**vars(alone), "part_spans": [{0: (10_000, 10_010)}]})  # no token in the sentence
    n = alone.input_ids.shape[1]
    assert window_score(cut, 0, starts[:, :n], ends[:, :n], [SENTENCE], 0).logit == NO_SPAN


def test_the_model_folder_says_which_scorer_reads_it(tmp_path):
    for fmt, kind in (("window", ReaderScorer), (None, AnswerScorer)):
        folder = tmp_path / str(fmt)
        shutil.copytree(MODEL_DIR, folder)
        config = json.loads((folder / "config.json").read_text())
        config.pop("format", None)
        if fmt:
            config["format"] = fmt
        (folder / "config.json").write_text(json.dumps(config))
        scorer = scorer_for(folder)
        assert type(scorer) is kind
        assert scorer.identity()[0].get("format") == fmt


def test_the_reader_needs_one_neighbour_of_each_kind_per_sentence_and_a_focus_per_window():
    reader = ReaderScorer(MODEL_DIR)
    with pytest.raises(ValueError, match="one per sentence"):
        reader.score("Where?", ["t", "t"], [SENTENCE, AFTER], [BEFORE], None)
    with pytest.raises(ValueError, match="focuses: one per window"):
        reader.read("Where?", [WINDOW, WINDOW], [1])


# ---- the network ---------------------------------------------------------------------------------------
def _reader_folder(tmp_path):
    """The shipped answer model's folder marked as a window reader: the same network and span head, so the
    reader's plumbing (export, backends) is tested on real weights; its quality is the model card's."""
    folder = tmp_path / "reader"
    shutil.copytree(MODEL_DIR, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "format": "window"}))
    return folder


@pytest.mark.slow
def test_the_readers_onnx_export_scores_as_torch_does(tmp_path):
    folder = _reader_folder(tmp_path)
    torch_reader = ReaderScorer(folder, backend="torch")
    onnx_reader = ReaderScorer(folder, backend="onnx")
    onnx_reader.use_onnx_dir(tmp_path / "onnx")
    assert onnx_reader.backend == "onnx" and torch_reader.backend == "torch"
    assert onnx_reader.onnx_record is not None and onnx_reader.onnx_record["identity"]["format"] == "window"
    assert (tmp_path / "onnx" / "answer-reader.onnx").is_file()
    windows, focuses = [[BEFORE, SENTENCE, AFTER], [SENTENCE], [BEFORE, SENTENCE]], [1, 0, 1]
    got = onnx_reader.read("Where did Chopin move?", windows, focuses)
    want = torch_reader.read("Where did Chopin move?", windows, focuses)
    for a, b in zip(want, got):
        assert a.logit == pytest.approx(b.logit, abs=1e-3)
        assert (a.span, a.part) == (b.span, b.part)
    assert len({round(s.logit, 3) for s in got}) == 3  # the windows differ, and so do their scores
