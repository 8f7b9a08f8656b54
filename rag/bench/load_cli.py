"""Command line of the load test (`python eval/load_test.py` or `python -m rag.bench.load_cli`)."""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from .load import load_questions, run_load


def _table_row(run: dict[str, Any], label: str = "") -> str:
    return (
        f"{label}{run['users']:>4} users {run['duration_s']:>6.1f} s  {run['requests']:>6} answers  "
        f"{run['throughput_qps']:>6.2f}/s  p50 {run['p50_ms']} ms  p95 {run['p95_ms']} ms  p99 {run['p99_ms']} ms  "
        f"(engine p50 {run.get('engine_p50_ms')} ms)  errors {run['errors']}  mismatches {run['mismatches']}  "
        f"RSS {run['rss_start_mb']}→{run['rss_end_mb']} MB "
        f"(max {run['rss_max_mb']})  server CPU {run['server_cpu_ms_per_answer']} ms/answer  "
        f"client CPU {run['client_cpu_s']} s  alive {run['server_alive']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", default="1,10,50,100", help="comma-separated concurrent users (one run each)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    parser.add_argument(
        "--tune",
        default=None,
        help="comma-separated RAG_QUEUE_CONCURRENCY values: a fresh server for each, at every --users",
    )
    parser.add_argument("--questions", type=int, default=None, help="a fixed random sample of N distinct questions")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--log", type=Path, default=None, help="the server's output (default: a temp file)")
    args = parser.parse_args(argv)
    users = [int(u) for u in args.users.split(",") if u.strip()]
    env = dict(item.split("=", 1) for item in args.env)
    questions = load_questions()
    if args.questions:
        questions = random.Random(0).sample(questions, min(args.questions, len(questions)))

    def show(run: dict[str, Any]) -> None:
        print(_table_row(run), flush=True)

    results: list[dict[str, Any]] = []
    for concurrency in args.tune.split(",") if args.tune else [None]:
        server_env = dict(env)
        if concurrency is not None:
            server_env["RAG_QUEUE_CONCURRENCY"] = concurrency.strip()
        print(f"server env {server_env or '(defaults)'}", flush=True)
        result = run_load(users, args.duration, env=server_env, questions=questions, log_path=args.log, progress=show)
        print(
            f"  {result['questions']} distinct questions asked alone first: {result['alone_ms_per_question']} ms each",
            flush=True,
        )
        results.append(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    bad = sum(r["errors"] + r["mismatches"] + (not r["server_alive"]) for res in results for r in res["runs"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
