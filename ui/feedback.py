"""👍/👎 votes as JSON lines: one `os.write` per event on an O_APPEND file, so concurrent votes never interleave."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

fcntl: Any
try:  # POSIX: also serialise writers from other processes sharing the file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

VOTES = {
    "up": "up",
    "down": "down",
    "like": "up",
    "dislike": "down",
    "👍": "up",
    "👎": "down",
    "+1": "up",
    "-1": "down",
}


def normalise_vote(vote: object) -> str:
    """'up' or 'down' from True/False, 'up'/'down', 'like'/'dislike' or 👍/👎; ValueError otherwise."""
    if vote is True:
        return "up"
    if vote is False:
        return "down"
    if isinstance(vote, str) and vote.strip().lower() in VOTES:
        return VOTES[vote.strip().lower()]
    raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")


def make_record(question: str, history: list[str], answer: dict, vote: str, top_k: int | None = None) -> dict:
    """The line written for one vote: enough to turn a real question into an eval item."""
    return {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "vote": normalise_vote(vote),
        "question": question,
        "history": list(history or []),
        "answer": answer.get("text", ""),
        "answered": bool(answer.get("answered")),
        "confidence": answer.get("confidence"),
        "citations": list(answer.get("citations", [])),
        "related": list(answer.get("related", [])),
        "top_k": top_k,
    }


class FeedbackLog:
    """Appends one JSON object per line; safe to share between threads and processes.

    A write that fails part-way (disk full, file-size limit) is cut back off, so the file stays valid
    JSON lines, and raises OSError saying the vote was not saved.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size  # where this line starts (we hold the lock)
                view = memoryview(line)
                try:
                    while view:  # one call in practice; loop only if the kernel writes part of it
                        written = os.write(fd, view)
                        view = view[written:]
                except OSError as exc:  # disk full or file-size limit: no half line may stay behind
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, size)
                    raise OSError(exc.errno, f"feedback not saved to {self.path}: {exc.strerror or exc}") from exc
            finally:
                os.close(fd)  # closing releases the flock
