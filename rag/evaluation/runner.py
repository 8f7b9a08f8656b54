"""Run an eval set through `Assistant.ask` and summarise it (retrieval, answers, abstention, latency)."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import metrics as M
from .datasets import EvalItem, default_paths, load_jsonl
from .registry import PLAIN_SETS, for_set

RETRIEVAL_K = 5
WARM_UP_QUESTION = "What is this warm-up question about?"

_EMBEDDERS: dict[tuple, object] = {}
MODEL_LOAD: dict[str, float] = {}
_ANSWER_MODELS: dict[tuple, Any] = {}


def get_embedder(settings):
    """One warmed-up Embedder per model per process (the model load costs seconds; share it)."""
    from rag.embedding import Embedder

    key = (
        settings.model,
        settings.embed_batch_size,
        settings.query_cache_size,
        settings.query_threads,
        settings.query_backend,
        settings.onnx_dir,
        settings.verify_checksums,
    )
    if key not in _EMBEDDERS:
        embedder = Embedder.from_settings(settings)
        t0 = time.perf_counter()
        embedder.encode_query(WARM_UP_QUESTION)
        MODEL_LOAD[settings.model] = time.perf_counter() - t0
        _EMBEDDERS[key] = embedder
    return _EMBEDDERS[key]


def get_answer_model(settings):
    """One loaded answer model (scorer, calibration) per process and settings: each temporary index would
    otherwise export its own ONNX copy of it."""
    from rag.assistant import answer_model_for

    key = (settings.answer_model, settings.query_threads, settings.query_backend, settings.verify_checksums)
    if key not in _ANSWER_MODELS:
        _ANSWER_MODELS[key] = answer_model_for(settings)
    return _ANSWER_MODELS[key]


def clear_query_cache(embedder) -> None:
    """Forget cached question vectors, so every timed question computes its embedding."""
    clear = getattr(embedder, "clear_cache", None)
    if callable(clear):
        clear()


@contextlib.contextmanager
def open_assistant(
    corpus_dir: str | Path, settings, index_dir: str | Path | None = None, embedder=None
) -> Iterator[Any]:
    """Assistant.load over corpus_dir; a temporary index folder (deleted afterwards) unless index_dir is given."""
    from rag import Assistant

    embedder = embedder or get_embedder(settings)
    with contextlib.ExitStack() as stack:
        if index_dir is None:
            index_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-eval-index-"))
        yield Assistant.load(
            corpus_dir=corpus_dir,
            index_dir=index_dir,
            settings=settings,
            embedder=embedder,
            answer_model=get_answer_model(settings),
        )


# ---- one set ------------------------------------------------------------------------------------
def _verbatim(assistant, citations) -> tuple[int, int]:
    ok = 0
    for c in citations:
        doc = assistant.documents.get(c.doc_id)
        if doc is not None and doc.text[c.start : c.end] == c.quote:
            ok += 1
    return ok, len(citations)


def _problems(rec: dict) -> list[str]:
    out = []
    if rec["answerable"]:
        if not rec["answered"]:
            out.append("refused")
        if rec["rank"] is None:
            out.append(f"retrieval-miss@{RETRIEVAL_K}")
        elif rec["rank"] > 3:
            out.append(f"retrieval-rank-{rec['rank']}")
        if rec["answered"] and not rec["evidence_ok"]:
            out.append("wrong-evidence")
        elif rec["answered"] and not rec["evidence_strict_ok"]:
            out.append("missing-second-sentence")
        if rec["answered"] and not rec["contains"]:
            out.append("no-short-answer")
    elif rec["answered"]:
        out.append("answered-unanswerable")
    if rec["verbatim_ok"] < rec["verbatim_total"]:
        out.append("quote-not-verbatim")
    return out


def run_items(assistant, items: Sequence[EvalItem], retrieval_mode: str | None = None) -> list[dict]:
    """Ask every item once (timed, cold query cache), then fetch top-5 passages for the retrieval metrics."""
    assistant.ask(WARM_UP_QUESTION, retrieval_mode=retrieval_mode)
    clear_query_cache(assistant.embedder)
    records: list[dict] = []
    for item in items:
        history = list(item.history) or None
        t0 = time.perf_counter()
        answer = assistant.ask(item.question, history=history, retrieval_mode=retrieval_mode)
        latency = (time.perf_counter() - t0) * 1000
        if assistant.settings.top_k >= RETRIEVAL_K:
            passages = answer.passages
        else:
            passages = assistant.ask(
                item.question, history=history, top_k=RETRIEVAL_K, retrieval_mode=retrieval_mode
            ).passages
        passages = [p for p in passages if item.doc is None or p.doc_id == item.doc][:RETRIEVAL_K]
        citations = [c for c in answer.citations if item.doc is None or c.doc_id == item.doc]
        quotes = [c.quote for c in citations]
        joined = " ".join(quotes)
        ok, total = _verbatim(assistant, list(answer.citations) + list(answer.related))
        # the sentence the engine would stand behind (cited, or the first related one when it abstains)
        best_quotes = [c.quote for c in (answer.citations or answer.related[:1])]
        same_alone = None
        if "topic-switch" in item.tags:
            alone = assistant.ask(item.question, retrieval_mode=retrieval_mode)
            same_alone = alone.text == answer.text and alone.answered == answer.answered
        short = answer.short_answer.text if answer.short_answer else None
        rec = {
            "id": item.id,
            "question": item.question,
            "history": list(item.history),
            "kind": item.kind,
            "tags": list(item.tags),
            "answerable": item.answerable,
            "answered": bool(answer.answered),
            "confidence": round(float(answer.confidence), 4),
            "question_kind": answer.question_kind,
            "answer": answer.text,
            "quotes": quotes,
            "related": [c.quote for c in answer.related],
            "rank": M.first_hit_rank([p.text for p in passages], item.evidence) if item.answerable else None,
            "evidence_ok": M.evidence_quoted(quotes, item.evidence),
            "evidence_strict_ok": M.evidence_quoted(quotes, item.evidence, need_all=item.needs_all_evidence),
            "contains": bool(answer.answered) and M.contains_answer(answer.text, item.answers),
            "f1": round(M.max_f1(joined, item.answers), 4) if answer.answered and item.answers else 0.0,
            "short_answer": short,
            "short_f1": round(M.max_f1(short, item.answers), 4) if short and item.answers else 0.0,
            "short_exact": bool(short and item.answers and M.exact_match(short, item.answers)),
            "short_contains": bool(short and item.answers and M.contains_answer(short, item.answers)),
            "best_ok": item.answerable and M.evidence_quoted(best_quotes, item.evidence),
            "same_without_history": same_alone,
            "split": getattr(item, "split", "test"),
            "verbatim_ok": ok,
            "verbatim_total": total,
            "latency_ms": round(latency, 3),
            "timings_ms": {k: round(v, 3) for k, v in answer.timings_ms.items()},
        }
        rec["problems"] = _problems(rec)
        records.append(rec)
    return records


# what `summarise` reports: the registry's metrics of the JSONL sets, in its order
METRIC_KEYS = tuple(dict.fromkeys(m.key for s in PLAIN_SETS for m in for_set(s)))


def summarise(records: Sequence[dict], load_seconds: float | None = None) -> dict:
    ans = [r for r in records if r["answerable"]]
    ranks = [r["rank"] for r in ans]
    ok = sum(r["verbatim_ok"] for r in records)
    total = sum(r["verbatim_total"] for r in records)
    latencies = [r["latency_ms"] for r in records]
    out = {
        "hit_at_1": M.hit_at_k(ranks, 1),
        "hit_at_3": M.hit_at_k(ranks, 3),
        "hit_at_5": M.hit_at_k(ranks, 5),
        "mrr": M.mean_reciprocal_rank(ranks),
        "evidence_accuracy": M.rate(r["answered"] and r["evidence_ok"] for r in ans),
        "evidence_accuracy_strict": M.rate(r["answered"] and r["evidence_strict_ok"] for r in ans),
        "answer_containment": M.rate(r["answered"] and r["contains"] for r in ans),
        "token_f1": M.mean(r["f1"] for r in ans),
        "exact_quote_rate": ok / total if total else 1.0,
        **M.abstention_scores([r["answerable"] for r in records], [not r["answered"] for r in records]),
        # of the questions answered, the share answered with the right evidence (an answered unanswerable is wrong)
        "answer_precision": M.rate(r["answerable"] and r["evidence_ok"] for r in records if r["answered"]),
        "calibration_ece": M.expected_calibration_error(
            [r["confidence"] for r in records], [r.get("best_ok", False) for r in records]
        ),
        "confidence_gap": M.confidence_gap(
            [r["confidence"] for r in records],
            [r["answered"] for r in records],
            [r.get("best_ok", False) for r in records],
        ),
        "short_answer_f1": M.mean(r.get("short_f1", 0.0) for r in ans if r["answered"] and r.get("short_answer")),
        **M.short_answer_scores(ans),
        "topic_switch_same": M.rate(
            r["same_without_history"] for r in records if r.get("same_without_history") is not None
        ),
        "latency_p50_ms": M.percentile(latencies, 50),
        "latency_p95_ms": M.percentile(latencies, 95),
        "load_seconds": load_seconds,
    }
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def counts(records: Sequence[dict]) -> dict:
    ans = [r for r in records if r["answerable"]]
    return {
        "items": len(records),
        "answerable": len(ans),
        "unanswerable": len(records) - len(ans),
        "answered": sum(1 for r in records if r["answered"]),
        "two_sentence": sum(1 for r in ans if "two-sentence" in r["tags"]),
        "citations_checked": sum(r["verbatim_total"] for r in records),
        "citations_not_verbatim": sum(r["verbatim_total"] - r["verbatim_ok"] for r in records),
        "with_problems": sum(1 for r in records if r["problems"]),
    }


def by_tag(records: Sequence[dict]) -> dict[str, dict]:
    """Per tag: how many, and the answer/abstention rates (answerable tags) or the refusal rate (unanswerable)."""
    tags = sorted({t for r in records for t in r["tags"]})
    out = {}
    for tag in tags:
        rs = [r for r in records if tag in r["tags"]]
        ans = [r for r in rs if r["answerable"]]
        out[tag] = {
            "items": len(rs),
            "evidence_accuracy": M.rate(r["answered"] and r["evidence_ok"] for r in ans),
            "answer_containment": M.rate(r["answered"] and r["contains"] for r in ans),
            "hit_at_3": M.hit_at_k([r["rank"] for r in ans], 3) if ans else None,
            "refused": M.rate(not r["answered"] for r in rs),
        }
    return out


def evaluate_items(
    name: str,
    items: Sequence[EvalItem],
    corpus_dir: str | Path,
    settings,
    index_dir: str | Path | None = None,
    embedder=None,
    retrieval_mode: str | None = None,
) -> dict:
    """Load an Assistant over corpus_dir (temporary index unless index_dir) and evaluate items on it."""
    with open_assistant(corpus_dir, settings, index_dir, embedder) as assistant:
        records = run_items(assistant, items, retrieval_mode)
        load_seconds = assistant.build_info.get("load_seconds")
        action = assistant.build_info.get("action")
    return {
        "name": name,
        "corpus": str(corpus_dir),
        "index": str(index_dir) if index_dir is not None else "(temporary)",
        "index_action": action,
        "metrics": summarise(records, load_seconds),
        "counts": counts(records),
        "by_tag": by_tag(records),
        # what another answer threshold would give; right: answerable, and the sentence it stands behind holds
        # the evidence (as for the calibration error)
        "risk_coverage": M.risk_coverage(
            [r["confidence"] for r in records], [bool(r["answerable"] and r["best_ok"]) for r in records]
        ),
        "items": records,
    }


def evaluate_default_sets(
    settings=None,
    sets: Sequence[str] = ("article", "fixture"),
    corpus_dir=None,
    index_dir=None,
    article_path=None,
    fixture_path=None,
    fixture_corpus=None,
) -> dict:
    """The report `rag eval` prints: the article set on corpus/ + index/ and the fixture set in a temp index."""
    from rag import Settings
    from rag.assistant import default_dir

    settings = settings or Settings()
    paths = default_paths()
    embedder = get_embedder(settings)
    report: dict[str, Any] = {"sets": {}}
    if "article" in sets:
        items = load_jsonl(article_path or paths["article_set"])
        # another corpus without an index folder gets a temporary index, never ./index
        article_index = index_dir or (None if corpus_dir else default_dir("index"))
        report["sets"]["article"] = evaluate_items(
            "article", items, corpus_dir or default_dir("corpus"), settings, article_index, embedder
        )
    if "fixture" in sets:
        items = load_jsonl(fixture_path or paths["fixture_set"])
        report["sets"]["fixture"] = evaluate_items(
            "fixture", items, fixture_corpus or paths["fixture_corpus"], settings, None, embedder
        )
    report["model_load_seconds"] = round(MODEL_LOAD.get(settings.model, 0.0), 3)
    return report
