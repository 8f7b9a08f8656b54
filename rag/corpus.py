"""Documents: reading files into normalised text with metadata, a stable id and a content hash.

Offsets everywhere downstream index into `Document.text`, so normalisation happens once, here.
"""

from __future__ import annotations

import hashlib
import html.parser
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError, DocumentError
from .settings import Settings

FRONT_MATTER_RE = re.compile(r"\A---\n(.*?\n)---\n", re.S)
FIELD_RE = re.compile(r"^([A-Za-z_][\w-]*):[ \t]*(.*?)[ \t]*$", re.M)


@dataclass(frozen=True)
class MetadataField:
    """One front-matter line; `start:end` spans the whole `key: value` line in `Document.text`."""

    key: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: str
    text: str
    title: str
    metadata: Mapping[str, str]
    metadata_fields: tuple[MetadataField, ...]
    body_start: int
    content_hash: str

    @property
    def date(self) -> str | None:
        return self.metadata.get("published") or self.metadata.get("date")


@dataclass
class LoadResult:
    documents: dict[str, Document] = field(default_factory=dict)
    errors: list[DocumentError] = field(default_factory=list)


class _VisibleText(html.parser.HTMLParser):
    """Collects the text a browser would show; drops script/style/head and marks block breaks."""

    HIDDEN = {"script", "style", "head", "noscript", "template", "svg"}
    BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "blockquote",
        "pre",
        "hr",
        "title",
        "main",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden_depth = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.HIDDEN:
            self.hidden_depth += 1
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self.hidden_depth:
            self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, str]:
    """Visible text and <title> of an HTML page (block elements become paragraph breaks)."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v]*", "\n", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n{2,}", "\n\n", text)
    return text.strip("\n "), " ".join(parser.title.split())


def normalise_text(text: str) -> str:
    """NFC, Unix newlines, no control characters, single spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\ufeff", "")
    text = re.sub(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t]", " ", text)
    text = re.sub(r"[\u200b-\u200d\u2060]", "", text)
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    text = re.sub(r" {2,}", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def strip_boilerplate(text: str, patterns: Iterable[str]) -> str:
    compiled = [re.compile(p) for p in patterns]
    kept = [line for line in text.split("\n") if not any(p.search(line.strip()) for p in compiled)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _parse_front_matter(text: str) -> tuple[tuple[MetadataField, ...], int]:
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return (), 0
    fields = []
    block_start = match.start(1)
    for m in FIELD_RE.finditer(match.group(1)):
        if m.group(2):
            fields.append(MetadataField(m.group(1).lower(), m.group(2), block_start + m.start(), block_start + m.end()))
    return tuple(fields), match.end()


def _first_line_title(text: str, body_start: int) -> str:
    for line in text[body_start:].split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return ""


def load_document(path: Path, doc_id: str | None = None, settings: Settings | None = None) -> Document:
    """Read one file; raises DocumentError naming the file when it cannot be used."""
    settings = settings or Settings()
    path = Path(path)
    return parse_document(read_document_bytes(path, settings.max_document_bytes), path, doc_id, settings)


def describe_file_type(mode: int) -> str:
    """What a non-regular file is, in words a user knows."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_document_bytes(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most `max_bytes`; DocumentError otherwise.

    Why not `read_bytes()`: a FIFO would block forever and /dev/zero never ends. The type is checked
    before opening, opened non-blocking, checked again on the open descriptor (the path may have been
    swapped in between), and reading stops one byte past the limit.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise DocumentError(str(path), f"is {describe_file_type(os.stat(path).st_mode)}, not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise DocumentError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(str(path), f"is {describe_file_type(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise DocumentError(str(path), _too_big(info.st_size, max_bytes))
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    if len(raw) > max_bytes:  # grew while being read
        raise DocumentError(str(path), _too_big(len(raw), max_bytes))
    return raw


def _too_big(size: int, limit: int) -> str:
    return (
        f"is {size / 1e6:.1f} MB, over the {limit / 1e6:g} MB limit for one document "
        "(Settings.max_document_bytes); split it into smaller files"
    )


def parse_document(raw: bytes, path: Path, doc_id: str | None = None, settings: Settings | None = None) -> Document:
    """Turn a file's bytes into a Document; DocumentError naming the file when they are not usable text."""
    settings = settings or Settings()
    if b"\x00" in raw[:65536]:
        raise DocumentError(str(path), "is a binary file (it holds NUL bytes), not text")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(str(path), f"not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from exc
    html_title = ""
    if path.suffix.lower() in (".html", ".htm"):
        decoded, html_title = html_to_text(decoded)
    text = strip_boilerplate(normalise_text(decoded), settings.boilerplate_patterns)
    fields, body_start = _parse_front_matter(text)
    if not text[body_start:].strip():
        raise DocumentError(str(path), "file has no text")
    metadata = {f.key: f.value for f in fields}
    title = metadata.get("title") or html_title or _first_line_title(text, body_start) or path.stem
    return Document(
        doc_id=doc_id or path.name,
        path=str(path),
        text=text,
        title=title,
        metadata=metadata,
        metadata_fields=fields,
        body_start=body_start,
        content_hash=content_hash(text),
    )


def corpus_files(corpus_dir: Path, settings: Settings | None = None) -> list[Path]:
    settings = settings or Settings()
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in settings.file_extensions
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def load_corpus(corpus_dir: Path, settings: Settings | None = None) -> LoadResult:
    """Load every supported file under `corpus_dir`; bad files are reported, not fatal."""
    corpus_dir = Path(corpus_dir)
    result = LoadResult()
    for path in corpus_files(corpus_dir, settings):
        doc_id = path.relative_to(corpus_dir).as_posix()
        try:
            result.documents[doc_id] = load_document(path, doc_id, settings)
        except DocumentError as exc:
            result.errors.append(exc)
    return result
