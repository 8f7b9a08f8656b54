"""How many questions the server works on at once: Gradio's queue and thread pool, tunable by environment.

Chosen by `eval/load_test.py --tune` on the 2-core machine (docs/reliability.md, "Load"): every question is
CPU-bound (ONNX Runtime with one intra-op thread, plus Python), so more parallel workers than cores only
adds switching; the queue holds the rest, and its size bounds the memory a burst can take.
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
