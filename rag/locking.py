"""One writer per index folder: an exclusive `flock` on `<index>/.lock`, plus clean-up after a crash.

Why: two processes building the same folder (`rag index` twice, `rag add` beside `rag serve`'s
start-up) could each remove the other's freshly published build, leaving CURRENT pointing at
nothing. Readers never take the lock (CURRENT is replaced atomically); writers do. `flock` is
released by the kernel when its holder dies, even by SIGKILL, so a killed build never leaves a
stale lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import IndexStoreError

fcntl: Any
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock, last writer wins
    fcntl = None

log = logging.getLogger("rag")

LOCK_FILE = ".lock"
PARTIAL_PREFIX = ".rag-partial-"  # hidden temporary copies `rag add` writes into corpus/ before renaming
DEFAULT_TIMEOUT = 600.0


@dataclass
class Lock:
    """What `index_lock` yields: whether the lock is really held and whether we had to wait for it."""

    held: bool
    waited: bool = False


@contextlib.contextmanager
def index_lock(index_dir: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Lock]:
    """Hold the index folder's write lock; waits (saying so once) while another process holds it.

    A folder where no lock file can be made (read-only, or a file in the way) yields an unheld lock:
    the save that follows fails with its own clear error, and questions are still answered.
    """
    path = Path(index_dir) / LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        log.debug("index lock not available in %s: %s", index_dir, exc)
        yield Lock(held=False)
        return
    try:
        lock = Lock(held=fcntl is not None)
        if fcntl is not None:
            lock.waited = _acquire(fd, Path(index_dir), timeout)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lock
    finally:
        os.close(fd)  # closing releases the flock


def _acquire(fd: int, index_dir: Path, timeout: float) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
    log.warning("waiting for another process (pid %s) to finish writing the index in %s", holder, index_dir)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() > deadline:
            raise IndexStoreError(
                f"another process (pid {holder}) has been writing the index in {index_dir} "
                f"for over {timeout:.0f} s; try again when it has finished"
            )
        time.sleep(0.05)


def remove_crash_leftovers(index_dir: str | os.PathLike, corpus_dir: str | os.PathLike | None = None) -> list[Path]:
    """Delete what a killed writer left: unpublished build folders, CURRENT.tmp-* files, corpus temp copies.

    Call only while holding `index_lock`: every writer holds it, so anything unfinished is abandoned.
    Returns the paths removed.
    """
    index_dir = Path(index_dir)
    removed: list[Path] = []
    live = ""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        live = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    for build in index_dir.glob("build-*"):
        if build.name != live and build.is_dir() and not (build / "manifest.json").exists():
            shutil.rmtree(build, ignore_errors=True)
            removed.append(build)
    leftovers = list(index_dir.glob("CURRENT.tmp-*"))
    if corpus_dir is not None and Path(corpus_dir).is_dir():
        leftovers += list(Path(corpus_dir).glob(PARTIAL_PREFIX + "*"))
    for path in leftovers:
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    if removed:
        log.info("removed what an interrupted build left: %s", ", ".join(p.name for p in removed))
    return removed
