"""The ONNX side of the embedder: export all-MiniLM-L6-v2 once, verify it, and embed without torch.

Mean pooling and L2 normalisation match sentence-transformers exactly; `ensure_embedder_onnx` keeps the
export (and its record) in a cache folder, re-exporting it when the model changes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .settings import DEFAULT_MODEL

log = logging.getLogger("rag")

ONNX_NAME = "embedder"  # <index>/onnx/embedder.onnx + embedder.json
DEFAULT_MAX_SEQ_LENGTH = 256
MIN_COSINE = 0.9999
# Fixed texts on which an export must reproduce sentence-transformers: questions, a byline, numbers,
# Korean, accents and odd punctuation, a single letter, and one text longer than 256 tokens (truncation).
VERIFY_TEXTS = (
    "Where was the fifth export strategy meeting held?",
    "Who wrote the article?",
    "BY SARAH KIM [kim.sarah@joongang.co.kr]",
    "A restoration led by Dr. Helen Marsh was completed in 2019 at a cost of $2.4 million.",
    "윤석열 대통령은 보스턴을 모델로 한 바이오 클러스터 조성을 주문했다.",
    "Émigré café owners' naïve façade — “quoted” text… (odd punctuation)!!",
    "a",
    " ".join(["The keeper logged every ship that passed the point, its flag, its cargo and the weather."] * 24),
)


def mean_pool_normalise(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) + Normalize: masked mean over tokens, then L2 (eps 1e-12)."""
    mask = np.asarray(attention_mask)[..., None].astype(np.float32)
    summed = (np.asarray(hidden, dtype=np.float32) * mask).sum(axis=1)
    pooled = summed / np.maximum(mask.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(pooled / norms, dtype=np.float32)


def read_max_seq_length(model_path: str | os.PathLike) -> int:
    """sentence-transformers' max_seq_length for a model folder (all-MiniLM-L6-v2: 256)."""
    try:
        config = json.loads((Path(model_path) / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MAX_SEQ_LENGTH


def load_sentence_tokenizer(model_path: str | os.PathLike, max_length: int):
    """The model's tokenizer.json (lower-casing, WordPiece, [CLS]/[SEP]), truncated at `max_length`, unpadded.

    tokenizer.json itself says truncate/pad at 128; sentence-transformers uses 256 and pads per batch.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def pad_batch(token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), right-padded with 0 to the longest row."""
    width = max((len(ids) for ids in token_ids), default=0)
    input_ids = np.zeros((len(token_ids), width), dtype=np.int64)
    mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return input_ids, mask


class OnnxSentenceEncoder:
    """The sentence embedder on onnxruntime: tokenizer.json -> ONNX BertModel -> mean pooling -> L2.

    Questions run on a 1-thread session; bulk encoding (index builds) on a second, lazily created
    session with every core, in length-sorted batches. Thread-safe. Imports no torch.
    """

    backend = "onnx"

    def __init__(
        self,
        onnx_path: str | os.PathLike,
        model_path: str | os.PathLike,
        model_name: str = DEFAULT_MODEL,
        query_threads: int | None = 1,
        batch_size: int = 32,
        max_seq_length: int | None = None,
    ) -> None:
        from .onnx_runtime import OnnxEncoder

        self.model_name = model_name
        self.onnx_path = Path(onnx_path)
        self.query_threads = query_threads or 1
        self.batch_size = max(1, batch_size)
        self.max_seq_length = max_seq_length or read_max_seq_length(model_path)
        self._tokenizer = load_sentence_tokenizer(model_path, self.max_seq_length)
        self._query = OnnxEncoder(self.onnx_path, threads=self.query_threads)
        self._output = self._query.output_names[0]
        self._bulk: Any = None
        self._lock = threading.Lock()
        last = self._query.session.get_outputs()[0].shape[-1]
        if not isinstance(last, int):
            config = json.loads((Path(model_path) / "config.json").read_text(encoding="utf-8"))
            last = int(config["hidden_size"])
        self._dimension = int(last)

    @property
    def dimension(self) -> int:
        return self._dimension

    def _embed(self, encoder, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        input_ids, mask = pad_batch(token_ids)
        hidden = encoder.run(input_ids, mask, np.zeros_like(input_ids), outputs=[self._output])[self._output]
        return mean_pool_normalise(hidden, mask)

    def encode_query(self, text: str) -> np.ndarray:
        return self._embed(self._query, [self._tokenizer.encode(text).ids])[0]

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        token_ids = [e.ids for e in self._tokenizer.encode_batch(texts)]
        encoder = self._bulk_encoder() if len(texts) > 8 else self._query
        order = np.argsort([len(ids) for ids in token_ids], kind="stable")  # little padding per batch
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed(encoder, [token_ids[i] for i in rows])
        return out

    def _bulk_encoder(self):
        cores = os.cpu_count() or 1
        if cores <= self.query_threads:
            return self._query
        if self._bulk is None:
            with self._lock:
                if self._bulk is None:
                    from .onnx_runtime import OnnxEncoder

                    self._bulk = OnnxEncoder(self.onnx_path, threads=cores)
        return self._bulk


# ---- export, verification and the cache -------------------------------------------------------------
def embedder_identity(
    model_name: str, model_path: str | os.PathLike, previous_stat: dict | None = None
) -> tuple[dict, dict]:
    """(identity, weights stat) of the source model: what makes an ONNX export of it stale."""
    from .hashing import file_sha256
    from .onnx_runtime import OPSET, weights_identity

    stat = weights_identity(model_path, previous_stat)
    identity = {
        "role": "sentence-embedder",
        "model_name": model_name,
        "model_path": str(Path(model_path).resolve()),
        "weights_file": stat["file"],
        "weights_sha256": stat["sha256"],
        "tokenizer_sha256": file_sha256(Path(model_path) / "tokenizer.json"),
        "max_seq_length": read_max_seq_length(model_path),
        "pooling": "mean, L2-normalised",
        "opset": OPSET,
    }
    return identity, stat


def export_embedder(
    st_model,
    model_path: str | os.PathLike,
    path: str | os.PathLike,
    texts: Sequence[str] = VERIFY_TEXTS,
    min_cosine: float = MIN_COSINE,
) -> dict:
    """Export sentence-transformers' BertModel to `path` and check that the ONNX embedder reproduces
    `st_model.encode` on `texts` (one by one, and batched with padding); OnnxExportError when it does not."""
    from .onnx_runtime import OnnxExportError, export_bert_to_onnx, verify_onnx

    bert = st_model[0].auto_model
    max_len = int(getattr(st_model, "max_seq_length", None) or read_max_seq_length(model_path))
    tokenizer = load_sentence_tokenizer(model_path, max_len)
    token_ids = [tokenizer.encode(t).ids for t in texts]
    sample_ids, sample_mask = pad_batch(token_ids[:2])  # a padded row, so the attention mask is traced
    sample = {"input_ids": sample_ids, "attention_mask": sample_mask, "token_type_ids": np.zeros_like(sample_ids)}
    export_bert_to_onnx(bert, sample, ["last_hidden_state"], path)

    encoder = OnnxSentenceEncoder(path, model_path, max_seq_length=max_len)
    # The graph against the torch module: every text alone, and the short ones as one padded batch.
    short = [i for i, ids in enumerate(token_ids) if len(ids) < 64]
    groups = [[i] for i in range(len(texts))] + [short]
    feeds = []
    for group in groups:
        ids, mask = pad_batch([token_ids[i] for i in group])
        feeds.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    graph = verify_onnx(
        encoder._query,
        bert,
        feeds,
        ["last_hidden_state"],
        min_cosine=min_cosine,
        postprocess=lambda feed, out: {
            "embedding": mean_pool_normalise(out["last_hidden_state"], feed["attention_mask"])
        },
    )
    # The whole embedder (tokenizer.json, pooling) against sentence-transformers' own encode.
    cosines: list[tuple[float, str]] = []
    for group in groups:
        chunk = [texts[i] for i in group]
        reference = np.asarray(
            st_model.encode(chunk, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False),
            dtype=np.float64,
        )
        got = (encoder.encode(chunk) if len(chunk) > 1 else encoder.encode_query(chunk[0])[None]).astype(np.float64)
        cosines.extend(zip((got * reference).sum(1), chunk))
    worst, text = min(cosines)
    if not worst >= min_cosine:
        raise OnnxExportError(
            f"the ONNX embedder does not reproduce sentence-transformers: cosine {worst:.6f} "
            f"< {min_cosine} on {text[:60]!r}; refusing to use the export {path}"
        )
    return {
        "min_cosine": float(min(worst, graph["min_cosine"])),
        "rows": len(texts),
        "sentence_transformers_min_cosine": float(worst),
        "torch_module_min_cosine": graph["min_cosine"],
        "reference": "sentence-transformers encode (normalised), one by one and as a padded batch",
    }


def ensure_embedder_onnx(
    folder: str | os.PathLike,
    model_name: str,
    model_path: str | os.PathLike,
    load_torch_model: Callable[[], Any],
    verify_checksums: bool = True,
) -> tuple[Path, dict]:
    """(path, record) of a verified ONNX export of the embedder in `folder`, exported when missing,
    corrupt or stale. `load_torch_model()` returns the SentenceTransformer (called only to export)."""
    from .onnx_runtime import OnnxArtifact

    artifact = OnnxArtifact(folder, ONNX_NAME)
    previous = artifact.read_record() or {}
    identity, stat = embedder_identity(model_name, model_path, previous.get("source_stat"))
    record = artifact.ensure(
        identity,
        lambda tmp: export_embedder(load_torch_model(), model_path, tmp),
        verify_checksums=verify_checksums,
        what=f"the embedding model ({model_name})",
        extra={"source_stat": stat},
    )
    if record.get("source_stat") != stat:  # same weights, touched file: remember the new stat
        artifact.update_record(source_stat=stat)
        record["source_stat"] = stat
    return artifact.onnx_path, record


# ---- the embedder the engine uses -----------------------------------------------------------------
