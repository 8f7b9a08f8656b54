"""FAISS at scale: exact IndexFlatIP vs the store's approximate index (build, bytes, latency, recall@10, sweeps)."""

from __future__ import annotations

import gc
import os
import tempfile
import time
from pathlib import Path

from .stats import summary
from .synthetic import make_vectors


def _latency_ms(index, queries, threads: int) -> list[float]:
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        out = []
        for q in queries:
            q = q.reshape(1, -1)
            t = time.perf_counter()
            index.search(q, 10)
            out.append((time.perf_counter() - t) * 1000)
        return out
    finally:
        faiss.omp_set_num_threads(before)


def exact_top10(xb, xq, block: int = 100_000):
    """Exact top-10 inner-product neighbours by blocked matrix products (numpy's BLAS is much faster
    here than IndexFlatIP's batched search on this machine)."""
    import numpy as np

    best_s = np.full((len(xq), 0), -np.inf, np.float32)
    best_i = np.zeros((len(xq), 0), np.int64)
    for start in range(0, len(xb), block):
        scores = xq @ xb[start : start + block].T
        k = min(10, scores.shape[1])
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_s = np.hstack([best_s, np.take_along_axis(scores, part, 1)])
        best_i = np.hstack([best_i, part + start])
        if best_s.shape[1] > 10:
            keep = np.argpartition(-best_s, 9, axis=1)[:, :10]
            best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    order = np.argsort(-best_s, axis=1, kind="stable")
    return np.take_along_axis(best_i, order, 1)


def _recall(index, queries, truth) -> float:
    _, found = index.search(queries, 10)
    hits = sum(len(set(f[f >= 0].tolist()) & set(t.tolist())) for f, t in zip(found, truth))
    return round(float(hits) / (10 * len(truth)), 4) if len(truth) else 1.0


def _bytes_on_disk(index, tmp: Path) -> int:
    import faiss

    fd, path = tempfile.mkstemp(suffix=".faiss", dir=tmp)
    os.close(fd)
    try:
        faiss.write_index(index, path)
        return os.path.getsize(path)
    finally:
        os.unlink(path)


def _sweep_values(info: dict) -> tuple[str, list[int]]:
    if info.get("type") == "IndexHNSWFlat":
        return "efSearch", [16, 32, 64, 128, 256, 512]
    if info.get("type") == "IndexIVFFlat":
        return "nprobe", [4, 8, 16, 32, 64, 128]
    return "", []


def _set_param(index, name: str, value: int) -> None:
    if name == "efSearch":
        index.hnsw.efSearch = value
    elif name == "nprobe":
        index.nprobe = value


def bench_faiss(n: int, settings, kind: str, queries: int, threads: int, tmp: Path, basis=None) -> dict:
    """Exact IndexFlatIP vs the store's approximate index (its own build_faiss) on n unit vectors."""
    import faiss

    from ..store import apply_search_params, build_faiss, choose_faiss_index

    cores = os.cpu_count() or 1
    faiss.omp_set_num_threads(cores)
    t = time.perf_counter()
    xb = make_vectors(n, 384, kind, seed=1, basis=basis)
    xq = make_vectors(queries, 384, kind, seed=2, basis=basis)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(384)
    flat.add(xb)
    flat_build = time.perf_counter() - t
    truth = exact_top10(xb, xq)
    flat_q = xq[: max(10, min(queries, 50 if n >= 500_000 else queries))]  # exact search at 1M is slow: fewer
    flat_lat = _latency_ms(flat, flat_q, threads)
    result = {
        "n": n,
        "dim": 384,
        "vectors": kind,
        "queries": len(xq),
        "threads": threads,
        "generate_s": round(gen_s, 2),
        "auto_choice": choose_faiss_index(n, 384, settings)[1]["type"],
        "flat": {
            "build_s": round(flat_build, 3),
            "bytes": _bytes_on_disk(flat, tmp),
            "latency_ms": summary(flat_lat),
            "recall_at_10": 1.0,
        },
    }
    del flat
    gc.collect()
    approx_settings = settings.replace(index_type=settings.approximate_type)
    t = time.perf_counter()
    index, info = build_faiss(xb, approx_settings)
    build_s = time.perf_counter() - t
    apply_search_params(index, approx_settings)
    lat = _latency_ms(index, xq, threads)
    approx = {
        "info": info,
        "build_s": round(build_s, 2),
        "bytes": _bytes_on_disk(index, tmp),
        "latency_ms": summary(lat),
        "recall_at_10": _recall(index, xq, truth),
    }
    name, values = _sweep_values(info)
    sweep = []
    for v in values:
        _set_param(index, name, v)
        sweep.append(
            {
                name: v,
                "recall_at_10": _recall(index, xq, truth),
                "latency_ms": summary(_latency_ms(index, xq[: min(len(xq), 100)], threads)),
            }
        )
    apply_search_params(index, approx_settings)
    approx["sweep"] = sweep
    approx["sweep_param"] = name
    result["approx"] = approx
    del index, xb
    return result
