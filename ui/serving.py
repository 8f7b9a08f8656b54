"""How many questions the server works on at once: Gradio's queue and thread pool, tunable by environment.

Chosen with `eval/load_test.py --users 50 --tune 1,2,4,8,16` on the 2-core machine (docs/reliability.md,
"Load"; docs/bench/load-tune.json). Throughput at 50 users rose from 1 parallel question (1.84/s) to 8
(2.82/s) and fell at 16 (2.73/s), while the server's RSS grew with every step (553 → 672 → 795 MB): each
worker holds its own ONNX Runtime buffers. 8 is the default; `RAG_QUEUE_CONCURRENCY=4` gives ~93% of
it for ~90 MB less. Gradio's thread pool (`max_threads`, 40) only runs the queued workers, so it never
binds below 40 parallel questions; the queue's size bounds what a burst can hold in memory.
ONNX Runtime keeps one intra-op thread per question (`Settings.query_threads`): parallelism comes from
concurrent questions, not from splitting one.
"""

from __future__ import annotations

import os
from typing import Any

QUEUE_CONCURRENCY_ENV = "RAG_QUEUE_CONCURRENCY"
QUEUE_MAX_SIZE_ENV = "RAG_QUEUE_MAX_SIZE"
MAX_THREADS_ENV = "RAG_MAX_THREADS"

DEFAULT_QUEUE_CONCURRENCY = 8  # questions answered in parallel; the rest wait in the queue
DEFAULT_QUEUE_MAX_SIZE = 512  # a burst larger than this is refused with "queue full"
DEFAULT_MAX_THREADS = 40  # Gradio's (Starlette's) worker threads for non-queued work


def _int_env(name: str, default: int, low: int, environ: dict[str, str] | None) -> int:
    env = os.environ if environ is None else environ
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return value


def queue_options(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for `Blocks.queue`."""
    return {
        "default_concurrency_limit": _int_env(QUEUE_CONCURRENCY_ENV, DEFAULT_QUEUE_CONCURRENCY, 1, environ),
        "max_size": _int_env(QUEUE_MAX_SIZE_ENV, DEFAULT_QUEUE_MAX_SIZE, 1, environ),
    }


def thread_options(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch`."""
    return {"max_threads": _int_env(MAX_THREADS_ENV, DEFAULT_MAX_THREADS, 1, environ)}
