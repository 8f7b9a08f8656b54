"""Load test: a real `rag serve` on 127.0.0.1 and N concurrent `gradio_client` users for a bounded time.

    python eval/load_test.py --users 1,10,50,100 --duration 60 --json docs/bench/load.json

Each user is its own `gradio_client.Client` (its own session) asking real questions from the eval sets
(`eval/article_qa.jsonl`, `eval/fixture_qa.jsonl`, follow-ups with their history) in a random order
through `/ask`. Before the load, every question is asked once alone; under load each answer must equal
that one (text, citations, related and passages: `essence`). The report gives throughput, p50/p95/p99
latency, errors, mismatches and the server's RSS sampled every second.

The load generator runs on the same machine as the server and takes CPU from it: on 2 cores the
figures are a floor for the server alone.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..paths import project_root
from .stats import stop_process

QA_FILES = ("eval/article_qa.jsonl", "eval/fixture_qa.jsonl")
SERVER_START_TIMEOUT = 240.0


@dataclass(frozen=True)
class Question:
    question: str
    history: tuple[str, ...] = ()


def load_questions(paths: Sequence[Path] | None = None) -> list[Question]:
    """Distinct (question, history) pairs from the eval sets, in file order."""
    root = project_root()
    files = list(paths) if paths else [root / name for name in QA_FILES]
    seen: dict[Question, None] = {}
    for path in files:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                seen.setdefault(Question(item["question"], tuple(item.get("history") or ())), None)
    return list(seen)


def essence(answer: dict) -> dict:
    """What must match between two answers to the same question (scores may differ in the last bits)."""
    return {
        "text": answer["text"],
        "answered": answer["answered"],
        "citations": [(c["number"], c["doc_id"], c["start"], c["end"], c["quote"]) for c in answer["citations"]],
        "related": [(c["doc_id"], c["start"], c["end"]) for c in answer["related"]],
        "passages": [p["chunk_id"] for p in answer["passages"]],
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path


@contextmanager
def serve(
    corpus: Path | None = None,
    index: Path | None = None,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> Iterator[Server]:
    """`rag serve` in a child process on 127.0.0.1:<free port>; stopped (SIGTERM, then SIGKILL) on exit."""
    import urllib.request

    root = project_root()
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        port = free_port()
        log_path = log_path or Path(tmp) / "server.log"
        corpus = corpus or root / "corpus"
        child_env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
        if index is None:  # built by `rag index` first, so the server itself never loads torch
            index = Path(tmp) / "index"
            build = [sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus), "--index", str(index)]
            subprocess.run(build, check=True, env=child_env, cwd=tmp, capture_output=True)
        command = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--corpus", str(corpus), "--index", str(index), "--feedback", str(Path(tmp) / "feedback.jsonl")]
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env, cwd=tmp)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"rag serve exited with {process.returncode}: {_tail(log_path)}")
                try:
                    with urllib.request.urlopen(url + "config", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"rag serve did not answer within {SERVER_START_TIMEOUT:.0f} s")
                time.sleep(0.5)
            yield Server(url, process, log_path)
        finally:
            stop_process(process, timeout=20)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class RssSampler(threading.Thread):
    """The RSS (MB) of a process and its children, every `interval` seconds, as (seconds since start, MB)."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()
        self.started_at = time.monotonic()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its children so far."""
        total = 0.0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except Exception:
                pass
        return total

    def read(self) -> float:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except Exception:  # a child that just exited
                pass
        return total / 2**20

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append((round(time.monotonic() - self.started_at, 1), round(self.read(), 1)))
            except Exception:  # the server exited: the caller reports that
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> list[tuple[float, float]]:
        self._stop_event.set()
        self.join(timeout=5)
        return self.samples


def _client(url: str, auth: tuple[str, str] | None = None) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, auth=auth)


def _ask(client: Any, q: Question) -> dict:
    return client.predict(q.question, list(q.history) or None, None, api_name="/ask")


def answers_alone(url: str, questions: Sequence[Question]) -> dict[Question, dict]:
    """Each question asked once, one at a time: the answers the load must reproduce."""
    client = _client(url)
    return {q: essence(_ask(client, q)) for q in questions}


@dataclass
class LoadResult:
    users: int
    duration_s: float
    requests: int = 0
    errors: int = 0
    mismatches: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)  # Answer.timings_ms["total"]: inside Assistant.ask
    error_examples: list[str] = field(default_factory=list)
    mismatch_examples: list[str] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)
    server_alive: bool = True
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        rss = [mb for _, mb in self.rss_mb]
        return {
            "users": self.users,
            "duration_s": round(self.duration_s, 1),
            "requests": self.requests,
            "throughput_qps": round(self.requests / self.duration_s, 2) if self.duration_s else 0.0,
            "p50_ms": _pct(lat, 50),
            "p95_ms": _pct(lat, 95),
            "p99_ms": _pct(lat, 99),
            "max_ms": round(lat[-1], 1) if lat else None,
            "engine_p50_ms": _pct(sorted(self.engine_ms), 50),
            "errors": self.errors,
            "mismatches": self.mismatches,
            "error_examples": self.error_examples[:5],
            "mismatch_examples": self.mismatch_examples[:5],
            "rss_start_mb": rss[0] if rss else None,
            "rss_end_mb": rss[-1] if rss else None,
            "rss_max_mb": max(rss) if rss else None,
            "rss_growth_mb": round(rss[-1] - rss[0], 1) if rss else None,
            "server_alive": self.server_alive,
            # CPU time is steadier than wall time on a shared machine: what one answer costs the server
            "server_cpu_s": round(self.server_cpu_s, 1),
            "server_cpu_ms_per_answer": round(self.server_cpu_s * 1000 / self.requests, 1) if self.requests else None,
            "client_cpu_s": round(self.client_cpu_s, 1),
        }


def _pct(sorted_values: Sequence[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return round(sorted_values[index], 1)


def run_users(
    server: Server,
    users: int,
    duration: float,
    questions: Sequence[Question],
    expected: dict[Question, dict],
    seed: int = 0,
) -> LoadResult:
    """`users` clients asking without pause for `duration` seconds; in-flight questions are waited for."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(users, 32)) as pool:
        clients = list(pool.map(lambda _: _client(server.url), range(users)))
    result = LoadResult(users=users, duration_s=0.0)
    lock = threading.Lock()
    sampler = RssSampler(server.process.pid)
    sampler.start()
    cpu_before, client_before = sampler.cpu_seconds(), time.process_time()
    started = time.monotonic()
    stop_at = started + duration

    def user(number: int) -> None:
        rng = random.Random(seed * 100_003 + number)
        client = clients[number]
        while time.monotonic() < stop_at:
            q = rng.choice(questions)
            t0 = time.perf_counter()
            try:
                answer = _ask(client, q)
            except Exception as exc:  # counted, never fatal: the load goes on
                with lock:
                    result.errors += 1
                    result.error_examples.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            same = essence(answer) == expected.get(q)
            with lock:
                result.requests += 1
                result.latencies_ms.append(elapsed)
                result.engine_ms.append(float((answer.get("timings_ms") or {}).get("total", 0.0)))
                if not same:
                    result.mismatches += 1
                    result.mismatch_examples.append(q.question)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.duration_s = time.monotonic() - started
    result.server_cpu_s = sampler.cpu_seconds() - cpu_before
    result.client_cpu_s = time.process_time() - client_before
    result.rss_mb = sampler.stop()
    result.server_alive = server.process.poll() is None
    for client in clients:
        close = getattr(client, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass
    return result


def run_load(
    users: Sequence[int],
    duration: float,
    env: dict[str, str] | None = None,
    questions: Sequence[Question] | None = None,
    log_path: Path | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """One server; answers alone first, then each user count in turn for `duration` seconds."""
    questions = list(questions or load_questions())
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with serve(env=env, log_path=log_path) as server:
        t0 = time.perf_counter()
        expected = answers_alone(server.url, questions)
        alone_s = time.perf_counter() - t0
        runs = []
        for n in users:
            result = run_users(server, n, duration, questions, expected)
            runs.append(result.summary() | {"rss_mb": result.rss_mb})
            if progress:
                progress(runs[-1])
        return {
            "started": started,
            "questions": len(questions),
            "alone_seconds": round(alone_s, 1),
            "alone_ms_per_question": round(alone_s * 1000 / len(questions), 1),
            "server_env": env or {},
            "cpu_count": os.cpu_count(),
            "runs": runs,
        }
