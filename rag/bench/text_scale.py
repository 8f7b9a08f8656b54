"""Synthetic text corpora at scale: what a serving process builds for n passages, timed, and its memory.

`text_scale` runs in a child process (`run_text_child`) so that the memory it reports is its own.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from .stats import STAGES, peak_rss_mb, rss_mb, run_child_rss, summary
from .synthetic import make_vectors, synthetic_store_inputs


class _FixedEmbedder:
    """Stands in for the model in the scale runs: `encode_query` returns the next prepared vector,
    so `Assistant.ask` runs its real retrieval and composition over synthetic vectors."""

    def __init__(self, model_name: str, dimension: int = 384) -> None:
        self.model_name = model_name
        self.dimension = dimension
        self.batch_size = 64
        self.next = None

    def clear_cache(self) -> None:
        pass

    def encode_query(self, text: str):
        return self.next

    def encode(self, texts):
        raise RuntimeError("the scale benchmark embeds nothing")


def text_scale(n: int, queries: int, workdir: str, basis: str | None = None) -> dict:
    """Everything a serving process builds for an n-passage corpus, timed, and its memory (run in a child)."""
    import faiss
    import numpy as np

    from ..assistant import Assistant
    from ..lexical import BM25Index
    from ..settings import Settings
    from ..store import IndexStore, build_faiss, build_manifest, load_store, save_store

    settings = Settings()
    faiss.omp_set_num_threads(1)  # one serving request = one core
    # Warm-up on a tiny corpus so lazy imports (bm25s, stemmer, ...) are not counted as corpus memory.
    tiny_docs, tiny_entries, _ = synthetic_store_inputs(10, seed=5)
    tiny_vectors = np.vstack([e.chunk_vectors for e in tiny_entries.values()])
    tiny_index, _ = build_faiss(tiny_vectors, settings)
    tiny_embedder = _FixedEmbedder(settings.model)
    tiny_embedder.next = tiny_vectors[0]
    tiny = Assistant(
        tiny_docs,
        IndexStore(settings, settings.model, 384, tiny_entries, tiny_index, {}),
        settings,
        tiny_embedder,  # type: ignore[arg-type]  # a stand-in with the query interface
    )
    tiny.ask("What is the first warm-up question?")
    del tiny, tiny_embedder, tiny_docs, tiny_entries, tiny_vectors, tiny_index
    gc.collect()
    rss0 = rss_mb()
    t = time.perf_counter()
    documents, entries, gen = synthetic_store_inputs(n, basis=basis)
    gen_s = time.perf_counter() - t
    gc.collect()
    rss_data = rss_mb()
    chunk_vectors = np.vstack([e.chunk_vectors for e in entries.values()])
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t = time.perf_counter()
    index, info = build_faiss(chunk_vectors, settings)
    faiss_s = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    del chunk_vectors
    t = time.perf_counter()
    manifest = build_manifest(entries, settings, settings.model, 384, info, documents)
    store = IndexStore(settings, settings.model, 384, entries, index, manifest)
    store_s = time.perf_counter() - t
    texts = [c.embed_text for c in store.chunks]
    t = time.perf_counter()
    bm25 = BM25Index(texts)
    bm25_s = time.perf_counter() - t
    del bm25, texts
    gc.collect()
    embedder = _FixedEmbedder(settings.model)
    t = time.perf_counter()
    # builds the retriever (BM25) and sentence table
    assistant = Assistant(documents, store, settings, embedder)  # type: ignore[arg-type]  # a stand-in, as above
    serving_init_s = time.perf_counter() - t
    gc.collect()
    rss_served = rss_mb()
    qrng = np.random.default_rng(11)
    picks = qrng.integers(0, len(store.chunks), queries)
    qtexts = [gen.query_from(store.chunks[i].text) for i in picks]
    qvecs = make_vectors(queries, 384, "model", 99, basis)
    stages: dict[str, list[float]] = {s: [] for s in STAGES if s != "embed"}
    for qt, qv in zip(qtexts, qvecs):
        embedder.next = qv
        answer = assistant.ask(f"What is {qt}?")
        for s, values in stages.items():
            values.append(answer.timings_ms.get(s, 0.0))
    # Save, then time a load as a fresh process would do it (checksums on, then off).
    folder = Path(tempfile.mkdtemp(prefix=f"text-{n}-", dir=workdir))
    t = time.perf_counter()
    save_store(store, folder)
    save_s = time.perf_counter() - t
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    t = time.perf_counter()
    load_store(folder, documents, settings)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    load_store(folder, documents, settings.replace(verify_checksums=False))
    load_nocheck_s = time.perf_counter() - t
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    return {
        "passages": len(store.chunks),
        "sentences": len(store.sentences),
        "documents": len(documents),
        "faiss_type": info.get("type"),
        "generate_s": round(gen_s, 2),
        "faiss_build_s": round(faiss_s, 3),
        "store_init_s": round(store_s, 3),
        "bm25_build_s": round(bm25_s, 3),
        "serving_init_s": round(serving_init_s, 3),
        "ask_ms": {s: summary(v) for s, v in stages.items()},
        "bm25_ms": summary(stages["bm25"]),
        "save_s": round(save_s, 2),
        "index_bytes": disk,
        "load_s": round(load_s, 2),
        "load_no_checksums_s": round(load_nocheck_s, 2),
        "rss_base_mb": round(rss0, 1),
        "rss_data_mb": round(rss_data - rss0, 1),
        "rss_serving_mb": round(rss_served - rss0, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "serving_mb_per_100k": round((rss_served - rss0) * 100_000 / max(1, len(store.chunks)), 1),
    }


def run_text_child(n: int, queries: int, tmp: Path, basis: Path | None = None) -> dict:
    code = (
        "import json, sys; from rag.bench.text_scale import text_scale; "
        "print(json.dumps(text_scale(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] or None)))"
    )
    r = run_child_rss(
        [sys.executable, "-c", code, str(n), str(queries), str(tmp), str(basis or "")], cwd=tempfile.gettempdir()
    )
    if r["returncode"] != 0:
        raise RuntimeError(f"text benchmark at {n} failed: {r['stderr']}")
    data = json.loads(r["stdout"].strip().splitlines()[-1])
    data["child_wall_s"] = round(r["seconds"], 1)
    data["child_peak_rss_mb"] = round(r["peak_rss_mb"], 1)
    return data
