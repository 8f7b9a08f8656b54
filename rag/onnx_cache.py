"""The ONNX export cache: one exported file, its record (size, sha256, source identity), staleness.

`OnnxArtifact(folder, name).ensure(identity, export)` returns a usable export's record, exporting it
under a file lock when it is missing, corrupt or stale, and recording nothing when the export is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import OnnxExportError
from .hashing import file_sha256, sha256_matches, stat_signature

RECORD_FORMAT = 1


def _announce(message: str) -> None:
    print(f"rag: {message}", file=sys.stderr, flush=True)


# ---- the cache: one exported file, its record, staleness ------------------------------------------
def library_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for dist in ("onnxruntime", "onnx", "torch", "transformers", "sentence-transformers", "tokenizers"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


def weights_identity(
    folder: str | os.PathLike,
    previous: Mapping[str, Any] | None = None,
    candidates: Sequence[str] = ("model.safetensors", "pytorch_model.bin"),
) -> dict[str, Any]:
    """{file, path, bytes, mtime_ns, ctime_ns, inode, sha256} of a model folder's weights file.

    The sha256 of a 90 MB file costs 0.1-0.3 s, so it is taken from `previous` (an earlier result) when the
    path and stat signature (`hashing.stat_signature`) are unchanged, and computed otherwise.
    """
    folder = Path(folder)
    for name in candidates:
        path = folder / name
        if path.is_file():
            break
    else:
        raise OnnxExportError(f"no weights file ({', '.join(candidates)}) in {folder}")
    info: dict[str, Any] = {"file": name, "path": str(path.resolve()), **stat_signature(path)}
    if previous and all(previous.get(k) == v for k, v in info.items()) and previous.get("sha256"):
        info["sha256"] = previous["sha256"]
    else:
        info["sha256"] = file_sha256(path)
    return info


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """An exclusive lock on `folder/.lock` (POSIX; elsewhere, or on a read-only folder, no lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        fh = open(folder / ".lock", "a+")
    except OSError:
        yield
        return
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


class OnnxArtifact:
    """`<folder>/<name>.onnx` and its record `<folder>/<name>.json`.

    `identity` is whatever makes an export stale when it changes: at least the source model's name,
    path and weights sha256 (see `weights_identity`), plus anything that shapes the graph (opset, max length).
    """

    def __init__(self, folder: str | os.PathLike, name: str) -> None:
        self.folder = Path(folder)
        self.name = name

    @property
    def onnx_path(self) -> Path:
        return self.folder / f"{self.name}.onnx"

    @property
    def record_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    def read_record(self) -> dict | None:
        try:
            record = json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("format") == RECORD_FORMAT else None

    def problems(
        self, identity: Mapping[str, Any], verify_checksums: bool = True, record: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Why the cached export cannot be used for `identity` (empty: it can)."""
        record = record if record is not None else self.read_record()
        if record is None:
            return [f"no ONNX export recorded in {self.record_path}"]
        if record.get("identity") != dict(identity):
            old = record.get("identity") or {}
            changed = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
            return [f"the source model changed ({', '.join(changed)})"]
        path = self.onnx_path
        if not path.is_file():
            return [f"ONNX file missing: {path}"]
        if path.stat().st_size != record.get("bytes"):
            return [f"ONNX file truncated or changed (size): {path}"]
        if verify_checksums and not sha256_matches(path, record.get("sha256"), record.get("verified_stat")):
            return [f"ONNX file corrupt or edited (sha256 mismatch): {path}"]
        return []

    def ensure(
        self,
        identity: Mapping[str, Any],
        export: Callable[[Path], Mapping[str, Any]],
        *,
        verify_checksums: bool = True,
        what: str = "the model",
        extra: Mapping[str, Any] | None = None,
        announce: Callable[[str], None] | None = _announce,
    ) -> dict:
        """The record of a usable export for `identity`, exporting (under a lock) when needed.

        `export(tmp_path)` must write the ONNX file at tmp_path, verify it (raise OnnxExportError on a
        mismatch) and return the verification report, which is recorded (with `extra`, free-form fields
        that do not decide staleness). Progress goes to `announce`.
        """
        record = self.read_record()
        if not self.problems(identity, verify_checksums, record):
            return self._remember_verified(dict(record or {}), verify_checksums)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OnnxExportError(f"cannot create the ONNX cache folder {self.folder}: {exc}") from exc
        with _folder_lock(self.folder):
            record = self.read_record()  # another process may have exported meanwhile
            reasons = self.problems(identity, verify_checksums, record)
            if not reasons:
                return dict(record or {})
            started = time.perf_counter()
            if announce:
                announce(f"exporting {what} to ONNX (once; {reasons[0]}) -> {self.onnx_path}")
            tmp = self.folder / f".{self.name}.export-{os.getpid()}.onnx"
            try:
                report = dict(export(tmp))
                sha = file_sha256(tmp)
                size = tmp.stat().st_size
                self.record_path.unlink(missing_ok=True)  # never a record beside a file it does not describe
                os.replace(tmp, self.onnx_path)
            except OnnxExportError:
                self._discard()
                raise
            except OSError as exc:
                raise OnnxExportError(f"cannot write the ONNX export to {self.folder}: {exc}") from exc
            finally:
                tmp.unlink(missing_ok=True)
            record = {
                "format": RECORD_FORMAT,
                "file": self.onnx_path.name,
                "bytes": size,
                "sha256": sha,
                "identity": dict(identity),
                "verification": report,
                "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "export_seconds": round(time.perf_counter() - started, 2),
                "libraries": library_versions(),
                "verified_stat": stat_signature(self.onnx_path),
                **dict(extra or {}),
            }
            self._write_record(record)
            if announce:
                announce(
                    f"ONNX export of {what} verified (min cosine {report.get('min_cosine', float('nan')):.6f} "
                    f"on {report.get('rows', '?')} texts) in {time.perf_counter() - started:.1f} s"
                )
            return record

    def _remember_verified(self, record: dict, verified: bool) -> dict:
        """Record the stat signature of a file whose sha256 was just checked in full, so the next load of the
        unchanged file skips re-reading it (best effort)."""
        if verified and self.onnx_path.is_file():
            signature = stat_signature(self.onnx_path)
            if record.get("verified_stat") != signature:
                self.update_record(verified_stat=signature)
                record["verified_stat"] = signature
        return record

    def _write_record(self, record: Mapping[str, Any]) -> None:
        tmp_record = self.folder / f".{self.name}.json.tmp-{os.getpid()}"
        tmp_record.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp_record, self.record_path)

    def update_record(self, **fields: Any) -> None:
        """Rewrite free-form fields of a valid record (best effort: a read-only folder keeps the old one)."""
        record = self.read_record()
        if record is None:
            return
        record.update(fields)
        with contextlib.suppress(OSError):
            self._write_record(record)

    def _discard(self) -> None:
        """Remove a refused or stale export so that nothing uses it."""
        for path in (self.record_path, self.onnx_path):
            with contextlib.suppress(OSError):
                path.unlink()
