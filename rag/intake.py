"""Checking and copying files for `rag add` / `Assistant.add_documents`.

Why a module of its own: `rag add` used to accept anything `load_document` could decode, so a text
file named `notes.pdf` was copied into corpus/ and then dropped by the next `rag index` (which reads
only `Settings.file_extensions`), leaving an orphan. Here a file is accepted only if a folder load
would accept it too, every file is checked before anything is written, and copies are written to
hidden temporary files first, renamed into place only once the index is saved.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from .corpus import Document, describe_file_type, parse_document, read_document_bytes
from .errors import DocumentError
from .faultpoints import checkpoint
from .locking import PARTIAL_PREFIX
from .settings import Settings


@dataclass
class Addition:
    """One checked file: its bytes, its document and where (if anywhere) it is copied."""

    source: Path
    doc_id: str
    raw: bytes
    document: Document
    target: Path | None  # None: nothing to copy (not copying, or the file is already that corpus file)
    temp: Path | None = None


def prepare_additions(
    paths: Iterable[str | os.PathLike],
    settings: Settings,
    corpus_dir: Path | None,
    existing: Mapping[str, Document],
    replace_existing: bool = False,
) -> list[Addition]:
    """Check every file and read it once; DocumentError naming the first bad one, before anything changes."""
    additions: list[Addition] = []
    seen: dict[str, Path] = {}
    for given in paths:
        source = Path(given)
        check_file_type(source, settings)
        raw = read_document_bytes(source, settings.max_document_bytes)
        doc_id, target, in_corpus = _destination(source, corpus_dir)
        if doc_id in seen:
            raise DocumentError(str(source), f"has the same name as {seen[doc_id]}; one corpus cannot hold both")
        seen[doc_id] = source
        document = parse_document(raw, source, doc_id, settings)
        if target is not None:
            document = replace(document, path=str(target))
            if _same_bytes(target, raw):
                target = None  # already in the corpus, byte for byte: index it, copy nothing
            elif (target.exists() or target.is_symlink()) and not replace_existing:
                raise DocumentError(
                    str(source),
                    f"a different document named {doc_id} is already in the corpus ({target}); "
                    "rename the file, or use `rag add --replace` to overwrite it",
                )
            elif target.exists() and not target.is_file():
                kind = describe_file_type(target.stat().st_mode)
                raise DocumentError(str(source), f"{target} is in the way ({kind})")
        elif not in_corpus and _differs(existing.get(doc_id), document) and not replace_existing:
            raise DocumentError(str(source), f"a different document named {doc_id} is already loaded; rename the file")
        additions.append(Addition(source, doc_id, raw, document, target))
    return additions


def check_file_type(path: Path, settings: Settings) -> None:
    """Refuse what a folder load would not read, without opening the file (a FIFO would block)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise DocumentError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    if stat.S_ISLNK(info.st_mode):
        raise DocumentError(
            str(path), f"is a symbolic link (to {os.readlink(path)}); add the file it points to instead"
        )
    if stat.S_ISDIR(info.st_mode):
        raise DocumentError(str(path), "is a folder; add the files inside it (e.g. `rag add DIR/*.md`)")
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(str(path), f"is {describe_file_type(info.st_mode)}, not a regular file")
    if path.name.startswith("."):
        raise DocumentError(str(path), "is a hidden file (its name starts with '.'); the corpus ignores those")
    suffix = path.suffix.lower()
    if suffix not in settings.file_extensions:
        kind = f"file type {suffix!r}" if suffix else "file without an extension"
        raise DocumentError(
            str(path), f"unsupported {kind}: only {', '.join(settings.file_extensions)} files are read as documents"
        )


def _destination(source: Path, corpus_dir: Path | None) -> tuple[str, Path | None, bool]:
    """The document id, the copy's path and whether the file is already in the corpus (then kept, with its id)."""
    if corpus_dir is None:
        return source.name, None, False
    try:
        relative = source.resolve().relative_to(Path(corpus_dir).resolve())
    except ValueError:
        return source.name, Path(corpus_dir) / source.name, False
    return relative.as_posix(), None, True


def _differs(loaded: Document | None, document: Document) -> bool:
    return loaded is not None and loaded.content_hash != document.content_hash


def _same_bytes(target: Path, raw: bytes) -> bool:
    try:
        return (
            target.is_file()
            and not target.is_symlink()
            and target.stat().st_size == len(raw)
            and (target.read_bytes() == raw)
        )
    except OSError:
        return False


def stage_copies(additions: list[Addition]) -> None:
    """Write each copy to a hidden temporary file beside its target (the part that can run out of space)."""
    try:
        for item in additions:
            if item.target is None:
                continue
            item.target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"{PARTIAL_PREFIX}{item.target.name}.", dir=item.target.parent)
            item.temp = Path(name)
            with os.fdopen(fd, "wb") as fh:
                half = len(item.raw) // 2
                fh.write(item.raw[:half])
                fh.flush()
                checkpoint("add:during-copy")
                fh.write(item.raw[half:])
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        discard_copies(additions)
        raise


def discard_copies(additions: list[Addition]) -> None:
    """Remove staged temporary files (after a failed save)."""
    for item in additions:
        if item.temp is not None:
            with contextlib.suppress(OSError):
                item.temp.unlink()
            item.temp = None


def publish_copies(additions: list[Addition]) -> None:
    """Rename the staged copies into place: atomic per file, and needs no space."""
    for item in additions:
        if item.temp is not None and item.target is not None:
            os.replace(item.temp, item.target)
            item.temp = None
