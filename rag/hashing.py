"""Content hashes: the one sha256 every checked file (index, ONNX export, model weights) is recorded with."""

from __future__ import annotations

import hashlib
import os


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks so large index files never sit in memory twice."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stat_signature(path: str | os.PathLike) -> dict[str, int]:
    """What changes whenever a file's bytes do: size, mtime, inode and ctime (ctime cannot be set back, so a
    rewrite that restores the old mtime still shows). Equal signatures let a verified sha256 stand."""
    st = os.stat(path)
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}


def sha256_matches(path: str | os.PathLike, expected: str | None, verified: object = None) -> bool:
    """Whether the file's sha256 is `expected`; read in full only when its stat signature differs from
    `verified`, the signature recorded when it last matched (hashing a 90 MB model costs 0.1-0.3 s)."""
    if not expected:
        return False
    if verified is not None and verified == stat_signature(path):
        return True
    return file_sha256(path) == expected
