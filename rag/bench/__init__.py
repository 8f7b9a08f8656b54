"""`rag bench`: measured speed, memory and growth, from one article to a million passages.

Sections (each a function returning a JSON-ready dict), by module:

- `warm`:        `Assistant.ask` latency per stage over the eval questions vs the query-embedding floor
                 (and, with --backends, int8 and ONNX models)
- `cold`:        a fresh `rag ask` process vs a process that only loads the model and encodes a sentence;
                 peak RSS of a process serving the article index; what starting `rag` imports
- `serve_start`: `rag serve` from launch to its first answered `/ask` vs a process that only imports gradio
                 (`rag bench --serve-start` runs it alone)
- `build`:       a fresh index build (passages/s) vs `model.encode` alone, and a one-document update
- `text_scale`:  synthetic corpora (BM25, store/retriever/sentence-table build, load, search, compose,
                 memory), each in a child process so its memory is its own
- `faiss_scale`: exact vs approximate FAISS at 10k/100k/1M vectors (build, bytes, p50/p95, recall@10)

`cli` holds the options and the whole run, `stats` percentiles, memory readings and measured child
processes, `synthetic` the generated text, corpora and vectors, `report` the summaries, table and plots.
Every module imports only the standard library at module level (`rag bench --help` stays fast):
everything heavy is imported inside the functions that need it.
"""

from __future__ import annotations

from .cli import add_arguments, run
from .stats import STAGES

__all__ = ["STAGES", "add_arguments", "run"]
