"""The window reader: the SQuAD 2.0 reader recipe, a question read with a passage, and the best answer span's
score against the null answer ([CLS] as start and end).

The answer model of `rag/answer_model.py` reads (question, "title | sentence") pairs and decides each sentence
on its own. The reader reads a candidate sentence inside its passage (the body sentence before it and the one
after it), and its score is how far the window's best span beats the window's null answer; the sentence that
span lies in is the answer (`ReaderScore.part`), so a neighbour of the cheap scorer's pick can be chosen.
`eval/window_reader.py` trains it and measured it against the pair model on the validation articles (the
model card). Same network, same span head, other inputs; the decision comes from the span head alone.

A model folder whose config says `"format": "window"` is a reader (`scorer_for`); the composer reads each
candidate with `Settings.reader_neighbours` body sentences either side (`ReaderScorer.read`) and treats the
scores as it treats the pair model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .answer_model import (
    MODEL_DIR,
    VERIFY_QUESTION,
    VERIFY_QUESTIONS,
    VERIFY_SENTENCES,
    AnswerScorer,
    PairScore,
    encoded_fields,
    fit_question,
    load_tokenizer,
    logsumexp,
    read_config,
    whole_words,
)

WINDOW_FORMAT = "window"
WINDOW_TOKENS = 256  # the reader's training windows (eval/window_reader.py MAX_LENGTH)
READER_ANSWER_TOKENS = 30  # the longest span it was trained to give (eval/window_reader.py MAX_ANSWER_TOKENS)
NO_SPAN = -30.0  # the score of a sentence the window could not hold


@dataclass(frozen=True)
class ReaderScore(PairScore):
    """A window's best span: in the candidate sentence (part 0) or in the sentence `part` places before (< 0)
    or after (> 0) it, whose characters `span` then counts in."""

    part: int = 0


@dataclass(frozen=True)
class EncodedWindows:
    """Token ids of (question, passage) windows, and where each window's sentences lie in its passage."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    offsets: list[list[tuple[int, int]]]
    sequence_ids: list[list[int | None]]
    part_spans: list[dict[int, tuple[int, int]]]  # part -> its characters within the passage (absent: none)

    def part_tokens(self, row: int, part: int = 0) -> list[int]:
        """Positions of the passage tokens that lie in one sentence of the row (empty: none, or cut off)."""
        if part not in self.part_spans[row]:
            return []
        begin, end = self.part_spans[row][part]
        offs = self.offsets[row]
        return [
            i for i, sid in enumerate(self.sequence_ids[row]) if sid == 1 and offs[i][1] > begin and offs[i][0] < end
        ]

    def feed(self) -> dict[str, np.ndarray]:
        return {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
        }


def passage_of(sentences: Sequence[str], focus: int = 0) -> tuple[str, dict[int, tuple[int, int]]]:
    """The passage a window's sentences make, and each one's characters in it, by part (its place relative
    to the candidate, `sentences[focus]`); empty neighbours are left out."""
    text, spans = "", {}
    for i, piece in enumerate(sentences):
        piece = piece if i == focus else piece.strip()
        if not piece and i != focus:
            continue
        text += " " if text else ""
        spans[i - focus] = (len(text), len(text) + len(piece))
        text += piece
    return text, spans


def encode_windows(question: str, windows: Sequence[Sequence[str]], focuses: Sequence[int]) -> EncodedWindows:
    """One row per window: the question, then the window's sentences as one passage."""
    tok = load_tokenizer(max_length=WINDOW_TOKENS)
    passages = [passage_of(w, f) for w, f in zip(windows, focuses)]
    q = fit_question(question)
    encodings = tok.encode_batch([(q, text) for text, _ in passages])
    return EncodedWindows(**encoded_fields(encodings), part_spans=[spans for _, spans in passages])


def window_score(
    enc: EncodedWindows,
    row: int,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    window: Sequence[str],
    focus: int,
) -> ReaderScore:
    """The window's best span (within one of its sentences) against its null answer: (span score − null score,
    the span's characters in its sentence, its probability over the passage tokens and [CLS], which sentence).
    As in training, the reader itself says which sentence of the passage answers; the candidate's own span
    wins a tie."""
    s, e = start_logits[row], end_logits[row]
    best: tuple[float, int, int, int] | None = None  # (score, part, first token, last token)
    for part in sorted(enc.part_spans[row], key=abs):
        inside = enc.part_tokens(row, part)
        if not inside:
            continue
        lo, hi = inside[0], inside[-1] + 1
        grid = s[lo:hi, None] + e[None, lo:hi]
        ones = np.ones_like(grid, dtype=bool)
        grid = np.where(np.triu(ones) & ~np.triu(ones, READER_ANSWER_TOKENS), grid, -np.inf)
        i, j = (int(x) for x in np.unravel_index(int(np.argmax(grid)), grid.shape))
        if best is None or grid[i, j] > best[0]:
            best = (float(grid[i, j]), part, lo + i, lo + j)
    if best is None:
        return ReaderScore(NO_SPAN, None, 0.0, 0)
    top, part, i, j = best
    allowed = [0] + [k for k, sid in enumerate(enc.sequence_ids[row]) if sid == 1]
    log_prob = s[i] - logsumexp(s[allowed]) + e[j] - logsumexp(e[allowed])
    begin = enc.part_spans[row][part][0]
    offs = enc.offsets[row]
    chars = whole_words(window[focus + part], offs[i][0] - begin, offs[j][1] - begin)
    return ReaderScore(top - float(s[0] + e[0]), chars, float(np.exp(log_prob)), part)


def span_heads(network: Any) -> Any:
    """The reader's graph: the encoder and the span head, raw start/end logits over every position ([CLS]
    included: the null answer). Masking is done by `window_score`, the same for torch and ONNX."""
    from torch import nn

    class SpanHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.network.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            span = self.network.span_head(out)
            return span[..., 0], span[..., 1]

    module = SpanHeads()
    module.eval()
    return module


class ReaderScorer(AnswerScorer):
    """Scores candidate sentences with the window reader; the same backends and export cache as the pair model."""

    ONNX_NAME = "answer-reader"
    OUTPUTS: tuple[str, ...] = ("start_logits", "end_logits")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heads: Any = None

    def identity(self, previous_base: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        identity, base = super().identity(previous_base)
        return {**identity, "format": WINDOW_FORMAT, "max_length": WINDOW_TOKENS}, base

    def _span_heads(self) -> Any:
        network = self._net()
        with self._lock:
            if self._heads is None:
                self._heads = span_heads(network)
            return self._heads

    def _export(self, path: Path) -> dict[str, Any]:
        """Export the encoder and span head to `path`; check that they score fixed windows the same (1e-3)."""
        from .onnx_runtime import export_bert_to_onnx, verify_onnx

        heads = self._span_heads()
        sample = encode_windows(
            "Who wrote it?",
            [["Sarah Kim wrote it."], ["The meeting was on Thursday.", "It was held at the Seoul Startup Hub."]],
            [0, 1],
        )
        export_bert_to_onnx(heads, sample.feed(), self.OUTPUTS, path)
        n = len(VERIFY_SENTENCES)
        feeds = [  # padded rows: the windows' lengths differ
            encode_windows(VERIFY_QUESTION, [VERIFY_SENTENCES[: k + 1] for k in range(n)], list(range(n))).feed(),
            encode_windows(VERIFY_QUESTIONS[0], [[t] for t in VERIFY_SENTENCES], [0] * n).feed(),
        ]
        return verify_onnx(path, heads, feeds, self.OUTPUTS, min_cosine=0.9999, atol=1e-3)

    def window_logits(self, enc: EncodedWindows) -> tuple[np.ndarray, np.ndarray]:
        s, e = self._outputs(enc, self._span_heads)
        return s, e

    def read(self, question: str, windows: Sequence[Sequence[str]], focuses: Sequence[int]) -> list[ReaderScore]:
        """Each window's best span against its null answer; `windows[k][focuses[k]]` is the candidate."""
        if len(windows) != len(focuses):
            raise ValueError(f"focuses: one per window ({len(windows)}) needed, got {len(focuses)}")
        if not windows:
            return []
        enc = encode_windows(question, windows, focuses)
        starts, ends = self.window_logits(enc)
        return [window_score(enc, k, starts, ends, w, f) for k, (w, f) in enumerate(zip(windows, focuses))]

    def score(
        self,
        question: str,
        titles: Sequence[str],
        sentences: Sequence[str],
        contexts: Sequence[str] | None = None,
        following: Sequence[str] | None = None,
    ) -> list[PairScore]:
        """`contexts`/`following`: the sentence before and after each one ("" for none); each score is a
        `ReaderScore`. Titles are not read: the reader was trained on passages alone. (The composer gives
        wider windows through `read`.)"""
        before = contexts if contexts is not None else [""] * len(sentences)
        after = following if following is not None else [""] * len(sentences)
        if len(before) != len(sentences) or len(after) != len(sentences):
            raise ValueError(f"contexts/following: one per sentence ({len(sentences)}) needed")
        return list(self.read(question, [list(w) for w in zip(before, sentences, after)], [1] * len(sentences)))


def scorer_for(
    folder: Path = MODEL_DIR, threads: int = 1, backend: str = "auto", verify_checksums: bool = True
) -> AnswerScorer:
    """The scorer a model folder was trained for: the window reader or the sentence-pair model."""
    kind = ReaderScorer if read_config(folder).get("format") == WINDOW_FORMAT else AnswerScorer
    return kind(folder, threads=threads, backend=backend, verify_checksums=verify_checksums)
