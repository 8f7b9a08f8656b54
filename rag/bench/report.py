"""The run's summaries (memory, headline numbers), the plain-text table and the PNG plots."""

from __future__ import annotations

from pathlib import Path

from .stats import STAGES


def memory_summary(results: dict) -> dict:
    serve = results.get("serve", {})
    texts = results.get("text") or []
    biggest = max(texts, key=lambda r: r["passages"]) if texts else None
    return {
        "serving_article_peak_rss_mb": serve.get("peak_rss_mb_wait4"),
        "per_100k_passages_mb": biggest["serving_mb_per_100k"] if biggest else None,
        "per_100k_measured_at": biggest["passages"] if biggest else None,
    }


def headline(results: dict) -> dict:
    warm, cold, build = results.get("warm", {}), results.get("cold", {}), results.get("build", {})
    faiss_rows = [r for r in results.get("faiss", []) if r["vectors"] == "model"] or results.get("faiss", [])
    top = max(faiss_rows, key=lambda r: r["n"]) if faiss_rows else None
    return {
        "warm_ask_p50_ms": warm.get("stages_ms", {}).get("total", {}).get("p50"),
        "embed_floor_p50_ms": warm.get("floor_ms", {}).get("p50"),
        "warm_ratio": warm.get("ratio_p50"),
        "cold_start_s": cold.get("rag_ask_median_s"),
        "cold_floor_s": cold.get("floor_median_s"),
        "cold_ratio": cold.get("ratio"),
        "serve_start_s": results.get("serve_start", {}).get("first_answer_median_s"),
        "import_gradio_s": results.get("serve_start", {}).get("import_gradio_median_s"),
        "serve_start_ratio": results.get("serve_start", {}).get("ratio"),
        "build_passages_per_s": build.get("passages_per_s"),
        "encode_floor_passages_per_s": build.get("floor_passages_per_s"),
        "build_ratio": build.get("ratio"),
        "incremental_update_s": build.get("incremental_s"),
        "serving_peak_rss_mb": results.get("memory", {}).get("serving_article_peak_rss_mb"),
        "per_100k_passages_mb": results.get("memory", {}).get("per_100k_passages_mb"),
        "largest_faiss_n": top["n"] if top else None,
        "largest_faiss_type": top["approx"]["info"].get("type") if top else None,
        "largest_faiss_p50_ms": top["approx"]["latency_ms"]["p50"] if top else None,
        "largest_faiss_p95_ms": top["approx"]["latency_ms"]["p95"] if top else None,
        "largest_faiss_recall_at_10": top["approx"]["recall_at_10"] if top else None,
    }


def _f(v, digits=2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def format_table(results: dict) -> str:
    """The plain-text report printed at the end of a run (docs/benchmarks.md holds the same numbers)."""
    lines = []
    w = results.get("warm")
    if w:
        lines.append(f"Warm ask ({w['questions']} questions × {w['passes']} passes, query cache cleared), ms")
        lines.append(f"  {'stage':<14}{'p50':>9}{'p95':>9}{'cached p50':>12}")
        for s in STAGES:
            lines.append(
                f"  {s:<14}{_f(w['stages_ms'][s]['p50']):>9}{_f(w['stages_ms'][s]['p95']):>9}"
                f"{_f(w['cached_ms'][s]['p50']):>12}"
            )
        lines.append(f"  {'embed floor':<14}{_f(w['floor_ms']['p50']):>9}{_f(w['floor_ms']['p95']):>9}")
        lines.append(f"  ask / floor: p50 {_f(w['ratio_p50'])}  p95 {_f(w['ratio_p95'])}  (target ≤ 1.3)")
    for name, o in (results.get("backends") or {}).items():
        if o.get("available"):
            lines.append(
                f"  backend {name}: ask p50 {_f(o['total_ms']['p50'])} ms "
                f"({_f(100 * o['faster_total_p50'], 0)}% faster; "
                f"embed {_f(100 * o['faster_embed_p50'], 0)}% faster), identical answers "
                f"{o['identical_answers']}/{o['questions']}"
            )
        else:
            lines.append(f"  backend {name}: unavailable ({o.get('error', '')[:100]})")
    c = results.get("cold", {})
    if c and not c.get("skipped"):
        lines.append(
            f"Cold start (median of {c['runs']}): rag ask {_f(c['rag_ask_median_s'])} s, floor "
            f"{_f(c['floor_median_s'])} s, ratio {_f(c['ratio'])} (target ≤ 1.3)"
        )
    start = results.get("serve_start", {})
    if start and not start.get("skipped"):
        from .serve_start import serve_start_line

        lines.append(serve_start_line(start))
    im = results.get("imports", {})
    if im and "cli_parser_s" in im:
        lines.append(
            f"  rag.cli import + parser: {_f(im['cli_parser_s'], 3)} s, heavy modules loaded: "
            f"{', '.join(im['heavy_modules_loaded']) or 'none'}"
        )
    b = results.get("build")
    if b:
        lines.append(
            f"Index build: {b['documents']} docs, {b['chunks']} passages, {b['sentences']} sentences, "
            f"{b['texts_embedded']} texts embedded"
        )
        lines.append(
            f"  build {_f(b['build_s'])} s = {_f(b['passages_per_s'], 1)} passages/s; encode floor "
            f"{_f(b['encode_floor_s'])} s = {_f(b['floor_passages_per_s'], 1)} passages/s; ratio "
            f"{_f(b['ratio'])} (target ≥ 0.9)"
        )
        lines.append(
            f"  one-document update {_f(b['incremental_s'])} s (embedded documents: "
            f"{b['incremental_embedded_documents']}, texts: {b['incremental_embedded_texts']}); "
            f"unchanged reload {_f(b['reload_s'])} s"
        )
    m = results.get("memory", {})
    s = results.get("serve", {})
    if s and not s.get("skipped") and "peak_rss_mb_wait4" in s:
        lines.append(
            f"Memory: serving the article {_f(s['peak_rss_mb_wait4'], 0)} MiB peak RSS; "
            f"per 100k passages {_f(m.get('per_100k_passages_mb'), 0)} MiB"
        )
    elif m.get("per_100k_passages_mb") is not None:
        lines.append(f"Memory: per 100k passages {_f(m['per_100k_passages_mb'], 0)} MiB")
    if results.get("text"):
        lines.append("Synthetic text corpora (one serving process each; latency ms, build s)")
        lines.append(
            f"  {'passages':>9}{'bm25 p50':>10}{'bm25 p95':>10}{'dense p50':>10}{'comp p50':>10}"
            f"{'ask-emb p50':>12}{'bm25 bld':>10}{'init':>8}{'load':>8}{'MiB':>8}"
        )
        for r in results["text"]:
            a = r["ask_ms"]
            lines.append(
                f"  {r['passages']:>9}{_f(r['bm25_ms']['p50']):>10}{_f(r['bm25_ms']['p95']):>10}"
                f"{_f(a['dense_search']['p50']):>10}{_f(a['compose']['p50']):>10}{_f(a['total']['p50']):>12}"
                f"{_f(r['bm25_build_s']):>10}{_f(r['serving_init_s']):>8}{_f(r['load_s']):>8}"
                f"{_f(r['rss_serving_mb'], 0):>8}"
            )
    if results.get("faiss"):
        lines.append(f"FAISS (dim 384, k=10, single query on {results['faiss'][0]['threads']} thread(s)); latency ms")
        lines.append(
            f"  {'n':>9} {'vectors':<10}{'index':<15}{'build s':>9}{'MiB':>8}{'p50':>8}{'p95':>8}{'recall':>8}"
        )
        for r in results["faiss"]:
            for label, row in (("IndexFlatIP", r["flat"]), (r["approx"]["info"].get("type"), r["approx"])):
                lines.append(
                    f"  {r['n']:>9} {r['vectors']:<10}{label:<15}{_f(row['build_s']):>9}"
                    f"{_f(row['bytes'] / 2**20, 1):>8}{_f(row['latency_ms']['p50'], 3):>8}"
                    f"{_f(row['latency_ms']['p95'], 3):>8}{_f(row['recall_at_10'], 3):>8}"
                )
    lines.append(f"(total {_f(results.get('meta', {}).get('duration_s'), 0)} s)")
    return "\n".join(lines)


# ---- plots -----------------------------------------------------------------------------------
def write_plots(results: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []

    w = results.get("warm")
    if w:
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
        parts = [s for s in STAGES if s != "total"]
        left = 0.0
        colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
        for s, col in zip(parts, colors):
            v = w["stages_ms"][s]["p50"] or 0.0
            ax.barh(["ask (cache cleared)"], [v], left=left, color=col, label=s)
            left += v
        ax.barh(["embedding floor"], [w["floor_ms"]["p50"]], color="#999999")
        ax.barh(["ask (cached query)"], [w["cached_ms"]["total"]["p50"]], color="#cccccc")
        ax.axvline(1.3 * w["floor_ms"]["p50"], color="k", ls="--", lw=1, label="1.3 × floor")
        ax.set_xlabel("p50 latency, ms")
        ax.set_title(f"Warm ask, split by stage (ratio to floor {w['ratio_p50']})")
        ax.legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        written.append(_save(fig, folder / "warm_latency.png", plt))

    fr = results.get("faiss") or []
    if fr:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        for kind, style in (("model", "-"), ("random", ":")):
            rows = sorted([r for r in fr if r["vectors"] == kind], key=lambda r: r["n"])
            if not rows:
                continue
            ns = [r["n"] for r in rows]
            ax.plot(
                ns,
                [r["flat"]["latency_ms"]["p50"] for r in rows],
                "o" + style,
                color="#c44e52",
                label=f"IndexFlatIP p50 ({kind})",
            )
            ax.plot(
                ns,
                [r["approx"]["latency_ms"]["p50"] for r in rows],
                "s" + style,
                color="#4c72b0",
                label=f"{rows[0]['approx']['info'].get('type')} p50 ({kind})",
            )
            ax.plot(
                ns,
                [r["approx"]["latency_ms"]["p95"] for r in rows],
                "^" + style,
                color="#4c72b0",
                alpha=0.5,
                label=f"{rows[0]['approx']['info'].get('type')} p95 ({kind})",
            )
        tr = results.get("text") or []
        if tr:
            ax.plot(
                [r["passages"] for r in tr], [r["bm25_ms"]["p50"] for r in tr], "d-", color="#55a868", label="BM25 p50"
            )
        ax.axhline(5, color="k", ls="--", lw=1, label="5 ms")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages (vectors)")
        ax.set_ylabel("query latency, ms")
        ax.set_title("Search latency vs corpus size (single query)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written.append(_save(fig, folder / "scale_latency.png", plt))

        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        for r in fr:
            sw = r["approx"].get("sweep") or []
            if not sw:
                continue
            name = r["approx"]["sweep_param"]
            xs = [p["latency_ms"]["p50"] for p in sw]
            ys = [p["recall_at_10"] for p in sw]
            ax.plot(xs, ys, "o-" if r["vectors"] == "model" else "o:", label=f"{r['n']:,} {r['vectors']}")
            for p, x, y in zip(sw, xs, ys):
                ax.annotate(str(p[name]), (x, y), fontsize=6, xytext=(2, -8), textcoords="offset points")
        ax.axhline(0.95, color="k", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(
            "p50 latency, ms (labels: "
            + ", ".join(sorted({r["approx"]["sweep_param"] for r in fr if r["approx"].get("sweep_param")}))
            + ")"
        )
        ax.set_ylabel("recall@10 vs exact")
        ax.set_title("Approximate index: recall vs latency")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written.append(_save(fig, folder / "recall_latency.png", plt))

    h = results.get("headline", {})
    bars = [
        ("warm ask / embed", h.get("warm_ratio"), 1.3),
        ("cold start / floor", h.get("cold_ratio"), 1.3),
        ("build time / encode time", (1 / h["build_ratio"]) if h.get("build_ratio") else None, 1 / 0.9),
    ]
    bars = [b for b in bars if b[1] is not None]
    if bars:
        fig, ax = plt.subplots(figsize=(6.5, 2.6))
        ax.barh([b[0] for b in bars], [b[1] for b in bars], color="#4c72b0")
        for i, b in enumerate(bars):
            ax.plot([b[2], b[2]], [i - 0.4, i + 0.4], "k--", lw=1)
            ax.annotate(f"{b[1]:.2f}", (b[1], i), xytext=(3, -3), textcoords="offset points", fontsize=8)
        ax.axvline(1.0, color="#999999", lw=1)
        ax.set_xlabel("× the floor (dashed: target)")
        ax.set_title("Headline ratios (lower is better)")
        fig.tight_layout()
        written.append(_save(fig, folder / "ratios.png", plt))
    return written


def _save(fig, path: Path, plt) -> str:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
