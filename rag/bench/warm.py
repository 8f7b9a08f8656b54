"""Warm `Assistant.ask`: per-stage latency against the query-embedding floor, and faster model variants."""

from __future__ import annotations

import json
import time

from .stats import STAGES, summary


def load_questions(path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows.append({"id": row.get("id"), "question": row["question"], "history": row.get("history") or []})
    return rows[:limit] if limit else rows


def bench_warm(assistant, questions: list[dict], passes: int) -> dict:
    """Per-stage latency of `ask` with an empty query cache, the embedding floor, and cache hits.

    For each question, interleaved so drift hits all three alike: the floor (`encode_query` on
    the same search text with the cache cleared), a cold-cache `ask`, then the same `ask` again
    (a cache hit).
    """
    from ..retrieval import query_text

    embedder = assistant.embedder
    turns = assistant.settings.history_turns
    for q in questions[:5]:  # warm-up: first calls pay for lazy allocations
        embedder.clear_cache()
        assistant.ask(q["question"], history=q["history"] or None)
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    cached: dict[str, list[float]] = {s: [] for s in STAGES}
    floor: list[float] = []
    ratios: list[float] = []
    answers = []
    for p in range(passes):
        for q in questions:
            search = query_text(q["question"], q["history"], turns)
            embedder.clear_cache()
            t = time.perf_counter()
            embedder.encode_query(search)
            f = (time.perf_counter() - t) * 1000
            floor.append(f)
            embedder.clear_cache()
            answer = assistant.ask(q["question"], history=q["history"] or None)
            for s in STAGES:
                stages[s].append(answer.timings_ms.get(s, 0.0))
            ratios.append(answer.timings_ms["total"] / f)
            again = assistant.ask(q["question"], history=q["history"] or None)
            for s in STAGES:
                cached[s].append(again.timings_ms.get(s, 0.0))
            if p == 0:
                answers.append({"id": q["id"], "answered": answer.answered, "text": answer.text})
    embedder.clear_cache()
    total, fl = summary(stages["total"]), summary(floor)
    other = [t - e for t, e in zip(stages["total"], stages["embed"])]
    return {
        "questions": len(questions),
        "passes": passes,
        "samples": len(floor),
        "stages_ms": {s: summary(v) for s, v in stages.items()},
        "non_embed_ms": summary(other),
        "floor_ms": fl,
        "ratio_p50": round(total["p50"] / fl["p50"], 3) if fl["p50"] else None,
        "ratio_p95": round(total["p95"] / fl["p95"], 3) if fl["p95"] else None,
        "ratio_per_question_p50": summary(ratios)["p50"],
        "cached_ms": {s: summary(v) for s, v in cached.items()},
        "answered": sum(a["answered"] for a in answers),
        "answers": answers,
    }


# ---- faster inference backends (optional) -----------------------------------------------------
class ModelQueryEmbedder:
    """The query side of `rag.embedding.Embedder` over a given sentence-transformers model (an int8 or
    ONNX variant): normalised float32 vectors and a question cache, so `bench_warm` times it alike."""

    def __init__(self, model, model_name: str, batch_size: int = 64) -> None:
        self.model = model
        self.model_name = model_name
        self.batch_size = batch_size
        self.cache: dict = {}

    def clear_cache(self) -> None:
        self.cache.clear()

    def encode(self, texts, show_progress: bool = False):
        import numpy as np

        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str):
        vector = self.cache.get(text)
        if vector is None:
            vector = self.cache[text] = self.encode([text])[0]
        return vector


def _int8_model(model):
    """The same SentenceTransformer with its Linear layers dynamically quantised to int8 (torch only)."""
    import copy

    import torch

    return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def _onnx_model(model_path: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model_path, device="cpu", backend="onnx")


def bench_backends(assistant, questions: list[dict], passes: int, torch_warm: dict) -> dict:
    """The warm benchmark again with the model swapped for int8 (torch dynamic quantisation) and
    sentence-transformers' ONNX backend (needs optimum-onnx + onnxruntime), answers compared."""
    from ..embedding import resolve_model_path

    out = {}
    original = assistant.embedder
    makers = {
        "torch_int8_dynamic": lambda: _int8_model(original.model),
        "onnx": lambda: _onnx_model(resolve_model_path(assistant.settings.model)),
    }
    for name, make in makers.items():
        try:
            model = make()
        except Exception as exc:  # noqa: BLE001 - missing optimum/onnxruntime, or no exportable model
            out[name] = {"available": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        assistant.embedder = ModelQueryEmbedder(model, original.model_name, original.batch_size)
        try:
            warm = bench_warm(assistant, questions, passes)
        finally:
            assistant.embedder = original
            original.clear_cache()
        same = sum(a["text"] == b["text"] for a, b in zip(warm["answers"], torch_warm["answers"]))
        t_torch, t_new = torch_warm["stages_ms"]["total"]["p50"], warm["stages_ms"]["total"]["p50"]
        e_torch, e_new = torch_warm["floor_ms"]["p50"], warm["floor_ms"]["p50"]
        out[name] = {
            "available": True,
            "total_ms": warm["stages_ms"]["total"],
            "floor_ms": warm["floor_ms"],
            "identical_answers": same,
            "questions": len(warm["answers"]),
            "faster_total_p50": round(1 - t_new / t_torch, 3) if t_torch else None,
            "faster_embed_p50": round(1 - e_new / e_torch, 3) if e_torch else None,
        }
    return out
