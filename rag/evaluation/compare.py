"""Ablations side by side: retrieval mode, answer-type cues, chunk size (each chunk size gets its own index)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Sequence
from typing import Any

from .datasets import default_paths, load_jsonl
from .runner import evaluate_items, get_embedder
from .significance import PARTS, outcome_fields, paired_bootstrap

CHUNK_SIZES = (48, 96, 160)
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")


def describe(settings) -> str:
    mode = settings.retrieval_mode
    if mode == "hybrid" and settings.dense_weight != settings.bm25_weight:
        mode = f"hybrid {settings.dense_weight:g}:{settings.bm25_weight:g}"
    composer = f"model {settings.answer_model}" if settings.answer_model else "baseline composer"
    return f"{composer}, {mode}, cues {'on' if settings.use_answer_type_cues else 'off'}, chunk {settings.chunk_tokens}"


def ablations(base, models: Sequence[str] = ()) -> list[tuple[str, object]]:
    """(label, Settings) rows: the defaults first, then other answer models (`models`: folders, each with its
    own calibration), then one change at a time."""
    rows = [(f"default ({describe(base)})", base)]
    for folder in models:
        rows.append((f"answer model {folder}", base.replace(answer_model=str(folder), answer_threshold=None)))
    if base.answer_model is not None:
        rows.append(("baseline composer (answer_model=None)", base.replace(answer_model=None)))
    for mode in RETRIEVAL_MODES:
        if mode != base.retrieval_mode:
            rows.append((f"{mode} only" if mode != "hybrid" else "hybrid", base.replace(retrieval_mode=mode)))
    if base.retrieval_mode == "hybrid" and base.dense_weight != base.bm25_weight:
        rows.append(("hybrid, equal weights", base.replace(dense_weight=1.0, bm25_weight=1.0)))
    rows.append(
        (
            f"answer-type cues {'off' if base.use_answer_type_cues else 'on'}",
            base.replace(use_answer_type_cues=not base.use_answer_type_cues),
        )
    )
    for size in CHUNK_SIZES:
        if size != base.chunk_tokens:
            rows.append((f"chunk_tokens {size}", base.replace(chunk_tokens=size)))
    if base.vector_store == "faiss":  # the same pipeline over Milvus Lite (FLAT, BM25 function, RRFRanker)
        rows.append(("store=milvus", base.replace(vector_store="milvus", milvus_uri=None)))
    return rows


def run_compare(
    base=None,
    sets: Sequence[str] = ("article", "fixture"),
    corpus_dir=None,
    index_dir=None,
    squad_path=None,
    progress=None,
    models: Sequence[str] = (),
) -> dict:
    """Every ablation on every selected set; indexes are shared between rows with the same index settings."""
    from rag import Settings
    from rag.assistant import default_dir

    base = base or Settings()
    paths = default_paths()
    embedder = get_embedder(base)
    article_items = load_jsonl(paths["article_set"]) if "article" in sets else []
    fixture_items = load_jsonl(paths["fixture_set"]) if "fixture" in sets else []
    article_corpus = corpus_dir or default_dir("corpus")
    base_index = index_dir or (None if corpus_dir else default_dir("index"))
    rows = []
    outcomes: list[dict[str, list[dict]]] = []  # per row, per set: what each question's answer was
    with contextlib.ExitStack() as stack:
        temp_indexes: dict[tuple[str, str], str] = {}

        def index_for(corpus_name: str, settings) -> str:
            fingerprint = json.dumps({**settings.index_fingerprint(), "store": settings.vector_store}, sort_keys=True)
            if (
                corpus_name == "article"
                and base_index is not None
                and settings.index_fingerprint() == base.index_fingerprint()
                and settings.vector_store == base.vector_store
            ):
                return str(base_index)
            key = (corpus_name, fingerprint)
            if key not in temp_indexes:
                temp_indexes[key] = stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-eval-ablation-"))
            return temp_indexes[key]

        for label, settings in ablations(base, models):
            if progress:
                progress(label)
            row: dict[str, Any] = {
                "label": label,
                "settings": {
                    k: getattr(settings, k)
                    for k in ("answer_model", "retrieval_mode", "use_answer_type_cues", "chunk_tokens", "vector_store")
                },
                "sets": {},
            }
            outcomes.append({})
            if article_items:
                rep = evaluate_items(
                    "article", article_items, article_corpus, settings, index_for("article", settings), embedder
                )
                row["sets"]["article"] = {
                    "metrics": rep["metrics"],
                    "counts": rep["counts"],
                    "problems": {r["id"]: r["problems"] for r in rep["items"] if r["problems"]},
                }
                outcomes[-1]["article"] = [outcome_fields(r) for r in rep["items"]]
            if fixture_items:
                rep = evaluate_items(
                    "fixture",
                    fixture_items,
                    paths["fixture_corpus"],
                    settings,
                    index_for("fixture", settings),
                    embedder,
                )
                row["sets"]["fixture"] = {
                    "metrics": rep["metrics"],
                    "counts": rep["counts"],
                    "problems": {r["id"]: r["problems"] for r in rep["items"] if r["problems"]},
                }
                outcomes[-1]["fixture"] = [outcome_fields(r) for r in rep["items"]]
            if "squad" in sets and squad_path:
                from .squad import run_squad

                rep = run_squad(squad_path, settings, embedder)
                row["sets"]["squad"] = {"metrics": rep["metrics"], "counts": rep["counts"], "rows": rep["rows"]}
                outcomes[-1]["squad"] = [outcome_fields(r) for r in rep["items"]]
            rows.append(row)
    add_differences(rows, outcomes)
    return {"rows": rows, "sets": list(sets)}


def add_differences(rows: list[dict], outcomes: list[dict[str, list[dict]]]) -> None:
    """Each row's difference from the first (the defaults) on every metric of each set, with its paired-bootstrap
    95% interval (`significance.py`), under the row's `sets[name]["differences"]`."""
    for row, row_outcomes in list(zip(rows, outcomes))[1:]:
        for name, records in row_outcomes.items():
            base = outcomes[0].get(name)
            if not base:
                continue
            metrics = row["sets"][name]["metrics"]
            found = {m: paired_bootstrap(base, records, m) for m in PARTS if m in metrics}
            row["sets"][name]["differences"] = {m: d.to_dict() for m, d in found.items() if d is not None}
