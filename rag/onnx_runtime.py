"""ONNX Runtime inference for BERT-style models: export once from torch, verify, record, run without torch.

Question-time models run here through onnxruntime on token ids from the `tokenizers` library, so a
process that only answers questions never imports torch, transformers or sentence-transformers
(importing them costs 5-8 s and ~350 MB). The export itself needs torch and happens once:

    export_bert_to_onnx(module, sample_inputs, output_names, path)   # torch module -> .onnx
    verify_onnx(path, module, feeds, output_names)                   # same outputs? (cosine per row)
    OnnxArtifact(folder, "answer").ensure(identity, export)           # cached, sha256-checked, re-exported when stale
    OnnxEncoder(path, threads=1).run(input_ids, attention_mask, token_type_ids)

`OnnxArtifact` keeps `<name>.onnx` beside `<name>.json`, a record of the file's size and sha256, the
identity of the source model (name, path, sha256 of its weights, anything else the caller puts in it),
the verification result and the library versions. A missing, corrupt (sha256 mismatch) or stale
(identity changed) file is exported again; an export that fails verification is refused with
`OnnxExportError` and nothing is recorded. Nothing in this module imports torch at import time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OnnxExportError
from .onnx_cache import (  # the cache lives in onnx_cache.py; importable from here too  # noqa: F401
    RECORD_FORMAT,
    OnnxArtifact,
    _announce,
    library_versions,
    weights_identity,
)

OPSET = 17
ONNX_DIR_NAME = "onnx"  # the cache folder inside an index folder


def onnx_available() -> bool:
    """True when onnxruntime and tokenizers can be imported (without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


# ---- sessions ---------------------------------------------------------------------------------
def create_session(model: str | os.PathLike | bytes, threads: int | None = 1, spinning: bool | None = None):
    """A CPU InferenceSession with all graph optimisations.

    `threads` intra-op threads (None or 0: onnxruntime's default, one per core). One thread is the fastest
    for a single question (no thread-pool hand-offs, measured in docs/benchmarks.md); bulk encoding uses
    every core. `spinning=False` stops idle pool threads from busy-waiting (a busy machine).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no shape-inference chatter on stderr
    if spinning is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    source = model if isinstance(model, (bytes, bytearray)) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def _session_of(model: Any, threads: int | None, spinning: bool | None) -> Any:
    """`model` itself when it is already a session, else a new one."""
    if hasattr(model, "run") and hasattr(model, "get_inputs"):
        return model
    return create_session(model, threads, spinning)


class OnnxEncoder:
    """Runs a BERT-style ONNX graph on token ids: numpy in, numpy out; thread-safe; no torch.

    Feeds only the inputs the graph declares (a graph exported without `token_type_ids` ignores them).
    """

    def __init__(
        self, model: str | os.PathLike | bytes | Any, threads: int | None = 1, spinning: bool | None = None
    ) -> None:
        self.session: Any = _session_of(model, threads, spinning)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(
        self, input_ids, attention_mask=None, token_type_ids=None, outputs: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        ids = np.asarray(input_ids, dtype=np.int64)
        if ids.ndim == 1:
            ids = ids[None, :]
        given = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids) if attention_mask is None else attention_mask,
            "token_type_ids": np.zeros_like(ids) if token_type_ids is None else token_type_ids,
        }
        feed = {}
        for name in self.input_names:
            if name not in given:
                raise OnnxExportError(f"the ONNX graph wants an input {name!r} this encoder cannot provide")
            feed[name] = np.asarray(given[name], dtype=np.int64).reshape(ids.shape)
        names = list(outputs or self.output_names)
        return dict(zip(names, self.session.run(names, feed)))

    def run_feed(self, feed: Mapping[str, Any], outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Run on a mapping of input name -> array (extra names are ignored)."""
        names = list(outputs or self.output_names)
        arrays = {n: np.asarray(_to_numpy(feed[n])) for n in self.input_names}
        return dict(zip(names, self.session.run(names, arrays)))


# ---- export -----------------------------------------------------------------------------------
def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _select_outputs(result, output_names: Sequence[str]) -> tuple:
    """A torch module's result as a tuple of tensors, in the order of `output_names`."""
    if hasattr(result, "keys") and not hasattr(result, "shape"):  # a dict or a transformers ModelOutput
        return tuple(result[name] for name in output_names)
    if isinstance(result, (tuple, list)):
        if len(result) < len(output_names):
            raise OnnxExportError(f"the module returned {len(result)} outputs, {len(output_names)} names given")
        return tuple(result[: len(output_names)])
    return (result,)


def _wrap(module, input_names: Sequence[str], output_names: Sequence[str]):
    import torch

    class _Outputs(torch.nn.Module):
        """Calls the module with keyword inputs and returns the named outputs as a tuple."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, *args):
            return _select_outputs(self.inner(**dict(zip(input_names, args))), output_names)

    return _Outputs()


def default_dynamic_axes(
    sample_inputs: Mapping[str, Any], output_names: Sequence[str], sample_outputs: Sequence[Any]
) -> dict[str, dict[int, str]]:
    """Batch (axis 0) and sequence (axis 1) are free for every input; an output axis is free when it is
    axis 0, or when its size is the sample's sequence length (hidden size and label counts stay fixed)."""
    first = _to_numpy(next(iter(sample_inputs.values())))
    seq_len = first.shape[1] if first.ndim > 1 else None
    axes: dict[str, dict[int, str]] = {}
    for name, value in sample_inputs.items():
        ndim = _to_numpy(value).ndim
        axes[name] = {0: "batch", 1: "sequence"} if ndim > 1 else {0: "batch"}
    for name, value in zip(output_names, sample_outputs):
        shape = tuple(value.shape)
        out = {0: "batch"} if shape else {}
        for axis in range(1, len(shape)):
            if seq_len is not None and shape[axis] == seq_len:
                out[axis] = "sequence"
        axes[name] = out
    return axes


def export_bert_to_onnx(
    torch_module,
    sample_inputs: Mapping[str, Any],
    output_names: Sequence[str],
    path: str | os.PathLike,
    *,
    dynamic_axes: Mapping[str, Mapping[int, str]] | None = None,
    opset: int = OPSET,
) -> Path:
    """Export a BERT-style torch module to one ONNX file (written atomically), with dynamic batch/sequence.

    `torch_module` is called as `module(**inputs)`, e.g. a transformers BertModel
    (`output_names=["last_hidden_state"]`) or a cross-encoder whose forward(input_ids, attention_mask,
    token_type_ids) returns a tuple (`output_names=["answer_logit", "start_logits", "end_logits"]`);
    dict/ModelOutput results are read by name, tuples by position. `sample_inputs` maps input name ->
    int64 array/tensor of shape (batch, sequence), in the order of the module's arguments; give a batch of
    two rows of different lengths with padding (attention_mask 0) so the padded path is traced and the
    sample sequence length differs from every fixed dimension. Axes whose size is the sample sequence
    length become dynamic; pass `dynamic_axes` to override. Uses the TorchScript exporter (no onnxscript
    needed); verify the result with `verify_onnx`.
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(sample_inputs)
    tensors = tuple(torch.as_tensor(_to_numpy(v)).to(torch.int64) for v in sample_inputs.values())
    wrapper = _wrap(torch_module, names, list(output_names))
    was_training = bool(getattr(torch_module, "training", False))
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch_module.eval()
        with torch.no_grad():
            sample_outputs = wrapper(*tensors)
        axes = {
            k: dict(v)
            for k, v in (
                dynamic_axes or default_dynamic_axes(dict(zip(names, tensors)), output_names, sample_outputs)
            ).items()
        }
        kwargs: dict[str, Any] = dict(
            input_names=names,
            output_names=list(output_names),
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
        )
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False  # the TorchScript exporter: the dynamo one needs onnxscript
        with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore")  # TracerWarnings and the exporter's deprecation notice
            torch.onnx.export(wrapper, tensors, str(tmp), **kwargs)
        os.replace(tmp, path)
    except OnnxExportError:
        raise
    except Exception as exc:
        raise OnnxExportError(f"could not export {type(torch_module).__name__} to ONNX ({path}): {exc}") from exc
    finally:
        if was_training:
            torch_module.train()
        tmp.unlink(missing_ok=True)
    return path


# ---- verification -----------------------------------------------------------------------------
MASKED = 1e30  # |value| above this is a masking sentinel (e.g. finfo.min / 2 span logits), compared by sign


def compare_outputs(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, float]:
    """(lowest per-row cosine, largest absolute difference) of two outputs of shape (batch, ...).

    Rows with a single value (a classification logit) are compared as one vector over the batch.
    Masking sentinels (|x| > 1e30) must agree in sign and are left out of both measures.
    """
    ref = np.asarray(reference, dtype=np.float64)
    got = np.asarray(candidate, dtype=np.float64)
    if ref.shape != got.shape:
        raise OnnxExportError(f"output shapes differ: torch {ref.shape}, ONNX {got.shape}")
    if ref.size == 0:
        return 1.0, 0.0
    rows_ref = ref.reshape(ref.shape[0], -1) if ref.ndim > 1 else ref.reshape(-1, 1)
    rows_got = got.reshape(rows_ref.shape)
    if rows_ref.shape[1] == 1:
        rows_ref, rows_got = rows_ref.reshape(1, -1), rows_got.reshape(1, -1)
    masked = np.abs(rows_ref) > MASKED
    if np.any(masked & ~((np.abs(rows_got) > MASKED) & (np.sign(rows_got) == np.sign(rows_ref)))):
        return -1.0, float("inf")
    rows_ref = np.where(masked, 0.0, rows_ref)
    rows_got = np.where(masked, 0.0, rows_got)
    if not np.all(np.isfinite(rows_got)):
        return -1.0, float("inf")
    dots = (rows_ref * rows_got).sum(1)
    norms = np.linalg.norm(rows_ref, axis=1) * np.linalg.norm(rows_got, axis=1)
    cos = np.where(
        norms > 0, dots / np.maximum(norms, 1e-300), np.where(np.abs(rows_ref - rows_got).max(1) == 0, 1.0, 0.0)
    )
    return float(cos.min()), float(np.abs(rows_ref - rows_got).max())


def verify_onnx(
    model,
    torch_module,
    feeds: Sequence[Mapping[str, Any]],
    output_names: Sequence[str] | None = None,
    *,
    min_cosine: float = 0.9999,
    atol: float | None = None,
    postprocess: Callable[[Mapping[str, Any], dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
) -> dict:
    """Check that an ONNX export reproduces its torch module; raise OnnxExportError if not.

    `model`: a path, bytes, session or OnnxEncoder. Each feed (input name -> int64 array of shape
    (batch, sequence); include padded rows) goes through both; `postprocess(feed, outputs)` may turn
    raw outputs into what matters (e.g. pooled, normalised embeddings) and is applied to both sides.
    Every output must reach `min_cosine` per row (see `compare_outputs`), and `atol` when given.
    Returns {"min_cosine", "max_abs_diff", "feeds", "rows", "outputs": {name: {...}}}.
    """
    import torch

    encoder = model if isinstance(model, OnnxEncoder) else OnnxEncoder(model, threads=None)
    names = list(output_names or encoder.output_names)
    per_output: dict[str, dict[str, float]] = {}
    rows = 0
    was_training = bool(getattr(torch_module, "training", False))
    torch_module.eval()
    try:
        for feed in feeds:
            arrays = {k: np.asarray(_to_numpy(v), dtype=np.int64) for k, v in feed.items()}
            got = encoder.run_feed(arrays, names)
            with torch.no_grad():
                result = torch_module(**{k: torch.from_numpy(v) for k, v in arrays.items() if k in encoder.input_names})
            want = {n: _to_numpy(t).astype(np.float32) for n, t in zip(names, _select_outputs(result, names))}
            if postprocess is not None:
                want, got = postprocess(arrays, want), postprocess(arrays, got)
            rows += int(next(iter(arrays.values())).shape[0])
            for name in want:
                cos, diff = compare_outputs(want[name], got[name])
                entry = per_output.setdefault(name, {"min_cosine": 1.0, "max_abs_diff": 0.0})
                entry["min_cosine"] = min(entry["min_cosine"], cos)
                entry["max_abs_diff"] = max(entry["max_abs_diff"], diff)
    finally:
        if was_training:
            torch_module.train()
    report = {
        "min_cosine": min((e["min_cosine"] for e in per_output.values()), default=1.0),
        "max_abs_diff": max((e["max_abs_diff"] for e in per_output.values()), default=0.0),
        "feeds": len(feeds),
        "rows": rows,
        "outputs": per_output,
    }
    bad = [
        f"{n}: cosine {e['min_cosine']:.6f}" + (f", max |diff| {e['max_abs_diff']:.3g}" if atol is not None else "")
        for n, e in per_output.items()
        if not e["min_cosine"] >= min_cosine or (atol is not None and not e["max_abs_diff"] <= atol)
    ]
    if bad:
        raise OnnxExportError(
            f"the ONNX export does not reproduce the torch model (needs cosine >= {min_cosine}"
            + (f", |diff| <= {atol}" if atol is not None else "")
            + f"): {'; '.join(bad)}"
        )
    return report
