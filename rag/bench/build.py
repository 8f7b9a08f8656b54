"""Index build: a fresh build's passages/s against `model.encode` alone, a one-document update, a reload."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .synthetic import write_synthetic_corpus


def bench_build(embedder, settings, tmp: Path, docs: int, paragraphs_per_doc: int) -> dict:
    """Fresh build passages/s vs `model.encode` alone on the same texts; then a one-document update."""
    from ..assistant import Assistant
    from ..chunking import chunk_document
    from ..corpus import load_corpus

    corpus = tmp / "build-corpus"
    index_dir = tmp / "build-index"
    paths = write_synthetic_corpus(corpus, docs, paragraphs_per_doc)
    embedder.clear_cache()
    t = time.perf_counter()
    a = Assistant.load(corpus_dir=corpus, index_dir=index_dir, settings=settings, rebuild=True, embedder=embedder)
    build_s = time.perf_counter() - t
    info = dict(a.build_info)
    counts = a.store.manifest["counts"]  # the same for either store (FAISS or Milvus)
    chunks, sentences = counts["chunks"], counts["sentences"]
    # The floor: the very texts the build embedded, in one encode call, nothing else.
    loaded = load_corpus(corpus, settings)
    sent_texts, chunk_texts = [], []
    for doc in loaded.documents.values():
        ss, cs = chunk_document(doc, settings)
        sent_texts += [s.embed_text for s in ss]
        chunk_texts += [c.embed_text for c in cs]
    model = embedder.model
    kw = {
        "batch_size": embedder.batch_size,
        "normalize_embeddings": True,
        "convert_to_numpy": True,
        "show_progress_bar": False,
    }
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # the floor gets every core, as a bulk encode should
    try:
        t = time.perf_counter()
        model.encode(sent_texts + chunk_texts, **kw)
        encode_all_s = time.perf_counter() - t
        t = time.perf_counter()
        model.encode(chunk_texts, **kw)
        encode_chunks_s = time.perf_counter() - t
    finally:
        torch.set_num_threads(threads)
    # Incremental: change one document, reload.
    paths[0].write_text(
        paths[0].read_text(encoding="utf-8") + "\nOne more sentence was added today.\n", encoding="utf-8"
    )
    t = time.perf_counter()
    b = Assistant.load(corpus_dir=corpus, index_dir=index_dir, settings=settings, embedder=embedder)
    update_s = time.perf_counter() - t
    # And a plain reload of an unchanged index (no embedding at all).
    t = time.perf_counter()
    c = Assistant.load(corpus_dir=corpus, index_dir=index_dir, settings=settings, embedder=embedder)
    reload_s = time.perf_counter() - t
    texts = len(sent_texts) + len(chunk_texts)
    return {
        "documents": docs,
        "sentences": sentences,
        "chunks": chunks,
        "texts_embedded": info.get("embedded_texts"),
        "texts_expected": texts,
        "build_s": round(build_s, 3),
        "encode_floor_s": round(encode_all_s, 3),
        "encode_chunks_only_s": round(encode_chunks_s, 3),
        "passages_per_s": round(chunks / build_s, 1),
        "floor_passages_per_s": round(chunks / encode_all_s, 1),
        "texts_per_s": round(texts / build_s, 1),
        "ratio": round(encode_all_s / build_s, 3),
        "overhead_s": round(build_s - encode_all_s, 3),
        "incremental_s": round(update_s, 3),
        "incremental_action": b.build_info.get("action"),
        "incremental_embedded_documents": b.build_info.get("embedded_documents"),
        "incremental_embedded_texts": b.build_info.get("embedded_texts"),
        "incremental_reused_documents": b.build_info.get("reused_documents"),
        "reload_s": round(reload_s, 3),
        "reload_action": c.build_info.get("action"),
    }
