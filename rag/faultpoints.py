"""Named pause points for fault-injection tests: stop a real `rag` process at a known moment.

Why: a SIGKILL "during the save" is only testable if the test knows the process is there. With
`RAG_PAUSE_AT=<point>` and `RAG_PAUSE_FILE=<path>` in its environment, a process reaching that point
writes its pid to the file and waits (up to 120 s) until the file is deleted; the test then kills it
(`SIGKILL`) or deletes the file to let it go on. Unset (always, outside tests), a point costs one
environment lookup.

Points, in the order a build reaches them:
  before-embedding    documents chunked, nothing embedded
  during-embedding    half of the new texts embedded
  after-embedding     vectors and FAISS index in memory, nothing written
  save:writing        build folder holds chunks.json and chunk_vectors.npy only (no manifest)
  save:before-publish build folder complete, CURRENT not yet replaced
  save:after-publish  CURRENT replaced, older builds not yet removed
  add:during-copy     `rag add`: half of a file's bytes written to its hidden temporary copy in corpus/
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_AT = "RAG_PAUSE_AT"
PAUSE_FILE = "RAG_PAUSE_FILE"
MAX_PAUSE_SECONDS = 120.0


def armed(point: str) -> bool:
    """True when this process is asked to pause at `point`."""
    return os.environ.get(PAUSE_AT) == point


def checkpoint(point: str) -> None:
    """Pause here if `RAG_PAUSE_AT` names this point (tests only); otherwise return at once."""
    if os.environ.get(PAUSE_AT) != point or not os.environ.get(PAUSE_FILE):
        return
    flag = Path(os.environ[PAUSE_FILE])
    flag.write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + MAX_PAUSE_SECONDS
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
