"""`rag bench`'s options, its configuration and the whole run (every section in order, then the report)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from ..paths import project_root
from .build import bench_build
from .cold import bench_cold, bench_imports, bench_serve_memory
from .faiss_scale import bench_faiss
from .report import format_table, headline, memory_summary, write_plots
from .serve_start import bench_serve_start, serve_start_line
from .synthetic import model_basis
from .text_scale import run_text_child
from .warm import bench_backends, bench_warm, load_questions

DEFAULT_OUT = Path("docs/bench/results.json")
SERVE_START_OUT = Path("docs/bench/serve_start.json")  # `--serve-start` alone writes here, not over the full run
SERVE_START_QUESTION = "Where was the fifth export strategy meeting held?"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (500, 2_000)
TEXT_MAX = 100_000  # synthetic text corpora (BM25, store) up to this size; FAISS-only above


# ---- command line ----------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated corpus sizes for the scale section (default 10000,100000,1000000)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repetitions (a smoke run)")
    parser.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where to write the results (default {DEFAULT_OUT}); plots go beside it",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--qa", type=Path, default=None, help="questions (default eval/article_qa.jsonl)")
    parser.add_argument("--questions", type=int, default=None, help="use only the first N questions")
    parser.add_argument("--passes", type=int, default=None, help="timed passes over the questions (default 3)")
    parser.add_argument(
        "--cold-runs",
        type=int,
        default=None,
        help="fresh-process runs for cold start (default 3; 0 skips cold start and serving RSS)",
    )
    parser.add_argument(
        "--build-docs",
        type=int,
        default=None,
        help="documents of 20 real paragraphs in the build benchmark (default 20)",
    )
    parser.add_argument(
        "--vectors",
        default="model",
        choices=("model", "random", "both"),
        help="synthetic vectors for the FAISS layer: model-like (default: clustered, with the "
        "covariance of the model's embeddings of real text) or random (the ANN worst case)",
    )
    parser.add_argument("--queries", type=int, default=None, help="FAISS/BM25 queries per size (default 200)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="FAISS OpenMP threads while timing single queries (default 1; builds use all cores)",
    )
    parser.add_argument(
        "--serve-start",
        action="store_true",
        help="only the serve-start benchmark: launch of `rag serve` to its first answered /ask, against a "
        f"process that only imports gradio, and their ratio (target ≤ 1.5); writes {SERVE_START_OUT}",
    )
    parser.add_argument(
        "--serve-runs",
        type=int,
        default=None,
        help="launches (and `import gradio` processes) in the serve-start benchmark (default 3; 1 with --quick)",
    )
    parser.add_argument(
        "--backends",
        action="store_true",
        help="also time int8 (torch dynamic quantisation) and sentence-transformers' ONNX backend",
    )


def _config(args) -> dict:
    quick = bool(getattr(args, "quick", False))
    sizes = getattr(args, "sizes", None)
    if sizes:
        sizes = tuple(int(s.replace("_", "")) for s in str(sizes).split(",") if s.strip())
    else:
        sizes = QUICK_SIZES if quick else DEFAULT_SIZES

    def pick(name, full, small):
        value = getattr(args, name, None)
        return value if value is not None else (small if quick else full)

    corpus = getattr(args, "corpus", None)
    if corpus is None:
        from ..assistant import default_dir

        corpus = default_dir("corpus")
    qa = getattr(args, "qa", None) or project_root() / "eval" / "article_qa.jsonl"
    return {
        "quick": quick,
        "sizes": list(sizes),
        "corpus": str(corpus),
        "qa": str(qa),
        "questions": pick("questions", None, 10),
        "passes": pick("passes", 3, 1),
        "cold_runs": pick("cold_runs", 3, 1),
        "build_docs": pick("build_docs", 20, 5),
        "build_paragraphs_per_doc": 5 if quick else 20,
        "queries": pick("queries", 200, 50),
        "vectors": getattr(args, "vectors", "model"),
        "basis_texts": 100 if quick else 1500,
        "threads": getattr(args, "threads", 1),
        "backends": bool(getattr(args, "backends", False)),
        "serve_runs": pick("serve_runs", 3, 1),
        "plots": not getattr(args, "no_plots", False),
        "json_path": str(getattr(args, "json_path", DEFAULT_OUT)),
    }


def run(args) -> int:
    config = _config(args)
    if getattr(args, "serve_start", False):
        return run_serve_start(config, getattr(args, "json_path", DEFAULT_OUT))
    t0 = time.perf_counter()
    results = run_benchmark(
        config, log=lambda msg: print(f"bench [{time.perf_counter() - t0:6.1f}s]: {msg}", file=sys.stderr, flush=True)
    )
    print(format_table(results))
    out = Path(config["json_path"])
    out.parent.mkdir(parents=True, exist_ok=True)
    if config["plots"]:
        results["plots"] = write_plots(results, out.parent)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}" + (f" and {len(results.get('plots', []))} plots" if config["plots"] else ""))
    return 0


def run_serve_start(config: dict, json_path: Path) -> int:
    """`rag bench --serve-start`: the article index built (untimed), then the serve-start benchmark alone."""
    out = SERVE_START_OUT if Path(json_path) == DEFAULT_OUT else Path(json_path)
    started = time.perf_counter()
    meta = machine_info(config) | {"command": f"rag bench --serve-start --serve-runs {config['serve_runs']}"}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        index_dir = Path(tmp) / "article-index"
        _build_index(config["corpus"], index_dir)
        result = bench_serve_start(config["corpus"], index_dir, SERVE_START_QUESTION, config["serve_runs"])
    print(serve_start_line(result))
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results = {"meta": meta, "serve_start": result}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


def _build_index(corpus, index_dir: Path) -> None:
    """The index and its ONNX exports, by `rag index` in a child process (this one stays free of torch)."""
    import subprocess

    from .stats import child_env

    command = [sys.executable, "-m", "rag.cli", "--corpus", str(corpus), "--index", str(index_dir), "index"]
    done = subprocess.run(command, env=child_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building the index for the serve-start benchmark failed: {done.stderr[-1000:]}")


# ---- the whole run ---------------------------------------------------------------------------
def run_benchmark(config: dict, log=lambda msg: None) -> dict:
    started = time.perf_counter()
    from ..settings import Settings

    settings = Settings()
    results: dict = {"meta": machine_info(config), "settings": _index_settings(settings)}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp_name:
        tmp = Path(tmp_name)
        log("loading the article index")
        from ..assistant import Assistant

        index_dir = tmp / "article-index"
        assistant = Assistant.load(corpus_dir=config["corpus"], index_dir=index_dir, settings=settings)
        questions = load_questions(config["qa"], config["questions"])
        log(f"warm ask over {len(questions)} questions × {config['passes']} passes")
        results["warm"] = bench_warm(assistant, questions, config["passes"])
        if config["backends"]:
            log("alternative inference backends (int8, ONNX)")
            results["backends"] = bench_backends(assistant, questions, config["passes"], results["warm"])
        if config["cold_runs"] > 0:
            log(f"cold start × {config['cold_runs']}")
            results["cold"] = bench_cold(config["corpus"], index_dir, questions[0]["question"], config["cold_runs"])
            log("serving process RSS")
            results["serve"] = bench_serve_memory(config["corpus"], index_dir, config["qa"], config["questions"])
            log(f"serve start × {config['serve_runs']}: launch → first /ask vs import gradio")
            results["serve_start"] = bench_serve_start(
                config["corpus"], index_dir, SERVE_START_QUESTION, config["serve_runs"]
            )
        else:
            results["cold"] = {"skipped": True}
            results["serve"] = {"skipped": True}
            results["serve_start"] = {"skipped": True}
        results["imports"] = bench_imports()
        log(f"index build over {config['build_docs']} synthetic documents")
        results["build"] = bench_build(
            assistant.embedder, settings, tmp, config["build_docs"], config["build_paragraphs_per_doc"]
        )
        log(f"model basis from {config['basis_texts']} real texts")
        basis = tmp / "basis.npz"
        results["vector_model"] = model_basis(assistant.embedder, config["basis_texts"], basis)
        del assistant
        gc.collect()
        results["text"] = []
        for n in [s for s in config["sizes"] if s <= TEXT_MAX]:
            log(f"text corpus of {n} passages (child process)")
            results["text"].append(run_text_child(n, config["queries"], tmp, basis))
        results["faiss"] = []
        kinds = ("model", "random") if config["vectors"] == "both" else (config["vectors"],)
        for kind in kinds:
            for n in config["sizes"]:
                log(f"FAISS at {n} {kind} vectors")
                results["faiss"].append(
                    bench_faiss(n, settings, kind, config["queries"], config["threads"], tmp, basis)
                )
                gc.collect()
    results["memory"] = memory_summary(results)
    results["headline"] = headline(results)
    results["meta"]["duration_s"] = round(time.perf_counter() - started, 1)
    results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def machine_info(config: dict) -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb: float | None = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    versions: dict[str, str | None] = {}
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("faiss-cpu", "numpy", "torch", "sentence-transformers", "transformers", "bm25s", "onnxruntime"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
        "config": {k: v for k, v in config.items() if k != "json_path"},
        "command": "rag bench"
        + (" --quick" if config["quick"] else "")
        + (
            ""
            if config["sizes"] in (list(DEFAULT_SIZES), list(QUICK_SIZES))
            else " --sizes " + ",".join(map(str, config["sizes"]))
        ),
    }


def _index_settings(settings) -> dict:
    keys = (
        "index_type",
        "approximate_above",
        "approximate_type",
        "hnsw_m",
        "hnsw_ef_construction",
        "hnsw_ef_search",
        "ivf_nlist",
        "ivf_nprobe",
    )
    return {k: getattr(settings, k) for k in keys}
