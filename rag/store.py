"""The on-disk index: chunks, sentences, their vectors and a FAISS index, with a manifest.

Layout: `index/CURRENT` names the live build folder `index/build-*/`. A build is written in
full to a fresh folder and then `CURRENT` is replaced atomically, so a build killed half-way
leaves the previous index live. Every file's size and sha256 are in the manifest; a mismatch
on load is reported as IndexStoreError, and the caller rebuilds.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Chunk, Sentence, chunk_document
from .corpus import Document
from .errors import IndexStoreError
from .faultpoints import armed, checkpoint
from .hashing import file_sha256
from .settings import Settings

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"
FILES = ("chunks.json", "chunk_vectors.npy", "sentence_vectors.npy", "dense.faiss")


@dataclass
class DocumentEntry:
    """One document's share of the index; reused as is when its content hash is unchanged."""

    doc_id: str
    content_hash: str
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray


@dataclass
class IndexStore:
    settings: Settings
    model_id: str
    dimension: int
    entries: dict[str, DocumentEntry]
    faiss_index: Any  # a faiss.Index (faiss has no type stubs)
    manifest: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.chunks: list[Chunk] = [c for e in self.entries.values() for c in e.chunks]
        self.chunk_by_id: dict[str, Chunk] = {c.chunk_id: c for c in self.chunks}
        self.chunk_vectors = _stack([e.chunk_vectors for e in self.entries.values()], self.dimension)
        self.sentences: dict[tuple[str, int], Sentence] = {
            (s.doc_id, s.index): s for e in self.entries.values() for s in e.sentences
        }
        self.sentence_vectors = _stack([e.sentence_vectors for e in self.entries.values()], self.dimension)
        # Entries keep views into the stacked arrays, so each vector is held in memory once.
        self._sentence_row: dict[str, int] = {}
        s_row = c_row = 0
        for e in self.entries.values():
            self._sentence_row[e.doc_id] = s_row
            e.sentence_vectors = self.sentence_vectors[s_row : s_row + len(e.sentences)]
            e.chunk_vectors = self.chunk_vectors[c_row : c_row + len(e.chunks)]
            s_row += len(e.sentences)
            c_row += len(e.chunks)

    def sentence_row(self, doc_id: str, index: int) -> int:
        """Row of a sentence's vector in `sentence_vectors`."""
        return self._sentence_row[doc_id] + index

    def sentence_vectors_for(self, keys: Sequence[tuple[str, int]]) -> np.ndarray:
        """The vectors of these (doc_id, index) sentences, in order (the `PassageStore` lookup)."""
        rows = np.fromiter((self.sentence_row(d, i) for d, i in keys), dtype=np.int64, count=len(keys))
        return self.sentence_vectors[rows]

    def staleness(self, documents: Mapping[str, Document], settings: Settings, model_id: str) -> list[str]:
        """Why this index no longer matches (empty when it is current)."""
        reasons = []
        if self.model_id != model_id:
            reasons.append(f"model changed ({self.model_id} → {model_id})")
        built = self.manifest.get("settings", {})
        for key, value in settings.index_fingerprint().items():
            if built.get(key) != value:
                reasons.append(f"setting {key} changed ({built.get(key)!r} → {value!r})")
        for doc_id, doc in documents.items():
            entry = self.entries.get(doc_id)
            if entry is None:
                reasons.append(f"new document {doc_id}")
            elif entry.content_hash != doc.content_hash:
                reasons.append(f"document changed: {doc_id}")
        for doc_id in self.entries:
            if doc_id not in documents:
                reasons.append(f"document removed: {doc_id}")
        return reasons


def _stack(arrays: list[np.ndarray], dim: int) -> np.ndarray:
    arrays = [a for a in arrays if len(a)]
    return np.ascontiguousarray(np.vstack(arrays), dtype=np.float32) if arrays else np.zeros((0, dim), np.float32)


def choose_faiss_index(n_vectors: int, dim: int, settings: Settings):
    """Exact search while it is cheap; an approximate structure once the corpus is large."""
    import faiss

    kind = settings.index_type
    if kind == "auto":
        kind = "flat" if n_vectors < settings.approximate_above else settings.approximate_type
    if kind == "ivf" and n_vectors < settings.ivf_nlist * 39:
        kind = "flat"  # too few points to train the requested number of lists
    if kind == "flat":
        return faiss.IndexFlatIP(dim), {"type": "IndexFlatIP"}
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        index.hnsw.efSearch = settings.hnsw_ef_search
        return index, {
            "type": "IndexHNSWFlat",
            "M": settings.hnsw_m,
            "efConstruction": settings.hnsw_ef_construction,
            "efSearch": settings.hnsw_ef_search,
        }
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, settings.ivf_nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.nprobe = settings.ivf_nprobe
    return ivf, {"type": "IndexIVFFlat", "nlist": settings.ivf_nlist, "nprobe": settings.ivf_nprobe}


IVF_TRAIN_PER_LIST = 64  # k-means sample per list (faiss would take up to 256: 1M points at nlist 4096, 4× the time)


def build_faiss(vectors: np.ndarray, settings: Settings):
    index, info = choose_faiss_index(len(vectors), vectors.shape[1], settings)
    if not index.is_trained:
        sample = vectors
        limit = IVF_TRAIN_PER_LIST * getattr(index, "nlist", 1)
        if len(vectors) > limit:  # a fixed, seeded sample: the same corpus trains the same lists
            rows = np.sort(np.random.default_rng(0).choice(len(vectors), limit, replace=False))
            sample = np.ascontiguousarray(vectors[rows])
        index.train(sample)
    if len(vectors):
        index.add(vectors)
    return index, info


def apply_search_params(index, settings: Settings) -> None:
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = settings.hnsw_ef_search
    if hasattr(index, "nprobe"):
        index.nprobe = settings.ivf_nprobe


def build_store(
    documents: Mapping[str, Document],
    settings: Settings,
    embedder,
    previous: IndexStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[IndexStore, dict]:
    """Index `documents`, reusing `previous` entries whose content hash is unchanged.

    Returns the store and stats {reused, embedded_documents, embedded_texts}.
    """
    reusable = {}
    if (
        previous is not None
        and previous.model_id == embedder.model_name
        and previous.manifest.get("settings") == settings.index_fingerprint()
    ):
        reusable = {
            d: e for d, e in previous.entries.items() if d in documents and e.content_hash == documents[d].content_hash
        }
    entries: dict[str, DocumentEntry] = {}
    todo: list[tuple[Document, list[Sentence], list[Chunk]]] = []
    for doc_id in sorted(documents):
        if doc_id in reusable:
            entries[doc_id] = reusable[doc_id]
        else:
            sentences, chunks = chunk_document(documents[doc_id], settings)
            todo.append((documents[doc_id], sentences, chunks))
    # One batched encode over all new texts: faster than per-document calls.
    texts = [s.embed_text for _, ss, _ in todo for s in ss] + [c.embed_text for _, _, cs in todo for c in cs]
    checkpoint("before-embedding")
    vectors = _encode_with_progress(embedder, texts, progress)
    pos_s, pos_c = 0, sum(len(ss) for _, ss, _ in todo)
    for doc, sentences, chunks in todo:
        entries[doc.doc_id] = DocumentEntry(
            doc.doc_id,
            doc.content_hash,
            sentences,
            chunks,
            vectors[pos_s : pos_s + len(sentences)],
            vectors[pos_c : pos_c + len(chunks)],
        )
        pos_s += len(sentences)
        pos_c += len(chunks)
    entries = {d: entries[d] for d in sorted(entries)}
    dim = embedder.dimension
    chunk_vectors = _stack([e.chunk_vectors for e in entries.values()], dim)
    index, info = build_faiss(chunk_vectors, settings)
    manifest = _manifest(entries, settings, embedder.model_name, dim, info, documents)
    onnx_manifest = getattr(embedder, "onnx_manifest", None)
    onnx = onnx_manifest() if callable(onnx_manifest) else None
    if onnx:  # the ONNX export cache questions are embedded with (rag/onnx_runtime.py)
        manifest["onnx"] = onnx
    store = IndexStore(settings, embedder.model_name, dim, entries, index, manifest)
    checkpoint("after-embedding")
    stats = {"reused_documents": len(reusable), "embedded_documents": len(todo), "embedded_texts": len(texts)}
    return store, stats


def _encode_with_progress(embedder, texts: list[str], progress: Callable[[int], None] | None) -> np.ndarray:
    if progress is None and not armed("during-embedding"):
        return embedder.encode(texts)
    step = 512 if progress is not None else max(1, (len(texts) + 1) // 2)  # halves when a test pauses between
    parts = []
    for i in range(0, len(texts), step):
        parts.append(embedder.encode(texts[i : i + step]))
        if progress is not None:
            progress(len(texts[i : i + step]))
        if i == 0 and len(texts) > step:
            checkpoint("during-embedding")
    return _stack(parts, embedder.dimension) if parts else embedder.encode([])


def _library_versions() -> dict:
    versions: dict[str, str | None] = {}
    for name in ("faiss", "numpy", "sentence_transformers", "bm25s", "pysbd", "tiktoken", "onnxruntime"):
        try:
            from importlib.metadata import version

            versions[name] = version(
                {"faiss": "faiss-cpu", "sentence_transformers": "sentence-transformers"}.get(name, name)
            )
        except Exception:
            versions[name] = None
    return versions


def _manifest(entries, settings, model_id, dim, info, documents) -> dict:
    from ._version import __version__

    return {
        "format_version": FORMAT_VERSION,
        "rag_version": __version__,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model_id": model_id,
        "dimension": dim,
        "faiss": info,
        "settings": settings.index_fingerprint(),
        "documents": {
            d: {
                "content_hash": e.content_hash,
                "path": documents[d].path,
                "title": documents[d].title,
                "sentences": len(e.sentences),
                "chunks": len(e.chunks),
            }
            for d, e in entries.items()
        },
        "counts": {
            "documents": len(entries),
            "sentences": sum(len(e.sentences) for e in entries.values()),
            "chunks": sum(len(e.chunks) for e in entries.values()),
        },
        "libraries": _library_versions(),
    }


def build_manifest(entries, settings, model_id, dim, info, documents) -> dict:
    """The manifest an IndexStore of these entries records (format, model, FAISS info, settings, documents,
    counts, library versions), as `build_store` writes it: for stores assembled outside `build_store`."""
    return _manifest(entries, settings, model_id, dim, info, documents)


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


def save_store(store: IndexStore, index_dir: Path) -> Path:
    """Write a complete new build folder, then atomically point CURRENT at it.

    Any failure (disk full, file-size limit, a write error inside FAISS) removes the unfinished folder
    and raises OSError naming the file; CURRENT, and so the previous index, is left as it was.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f"build-{time.strftime('%Y%m%d%H%M%S')}-", dir=index_dir))
    pointer = index_dir / (CURRENT_FILE + f".tmp-{os.getpid()}")
    writing: list[str] = []  # the file being written, for the error message
    try:
        _write_build(store, index_dir, build, pointer, writing)
    except BaseException as exc:
        shutil.rmtree(build, ignore_errors=True)
        pointer.unlink(missing_ok=True)
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: not a save error
            raise
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        if isinstance(exc, OSError) and exc.errno is None:  # numpy's short write: "N requested and M written"
            reason += ", out of disk space?"
        what = f"writing {writing[-1]} failed: " if writing else ""
        error = OSError(f"cannot save the index to {index_dir} ({what}{reason}); the previous index is unchanged")
        error.errno = getattr(exc, "errno", None)
        raise error from exc
    checkpoint("save:after-publish")
    _remove_old_builds(index_dir, keep=build.name)
    return build


def _write_build(store: IndexStore, index_dir: Path, build: Path, pointer: Path, writing: list[str]) -> None:
    import faiss

    records = {
        d: {
            "content_hash": e.content_hash,
            "sentences": [[s.index, s.start, s.end, s.kind, s.search_text] for s in e.sentences],
            "chunks": [
                [c.chunk_id, c.start, c.end, c.first_sentence, c.last_sentence, c.kind, c.search_text] for c in e.chunks
            ],
        }
        for d, e in store.entries.items()
    }
    writing.append("chunks.json")
    _write_json(build / "chunks.json", records)
    writing.append("chunk_vectors.npy")
    np.save(build / "chunk_vectors.npy", store.chunk_vectors)
    checkpoint("save:writing")
    writing.append("sentence_vectors.npy")
    np.save(build / "sentence_vectors.npy", store.sentence_vectors)
    writing.append("dense.faiss")
    try:
        faiss.write_index(store.faiss_index, str(build / "dense.faiss"))
    except RuntimeError as exc:  # faiss reports a failed write (EFBIG, ENOSPC) as a RuntimeError
        raise OSError(f"cannot write {build / 'dense.faiss'}: {exc}") from exc
    for name in FILES:  # numpy and faiss write without fsync; the manifest below vouches for these bytes
        _fsync(build / name)
    manifest = dict(store.manifest)
    if isinstance(manifest.get("onnx"), dict) and manifest["onnx"].get("dir"):
        onnx_dir = Path(manifest["onnx"]["dir"]).resolve()
        if onnx_dir.is_relative_to(index_dir.resolve()):  # recorded relative to the index folder when inside it
            manifest["onnx"] = {**manifest["onnx"], "dir": str(onnx_dir.relative_to(index_dir.resolve()))}
    manifest["files"] = {
        name: {"bytes": (build / name).stat().st_size, "sha256": file_sha256(build / name)} for name in FILES
    }
    writing.append("manifest.json")
    _write_json(build / "manifest.json", manifest)
    store.manifest = manifest
    writing.append(pointer.name)
    with open(pointer, "w", encoding="utf-8") as fh:
        fh.write(build.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    checkpoint("save:before-publish")
    os.replace(pointer, index_dir / CURRENT_FILE)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for old in index_dir.glob("build-*"):
        if old.name == keep or not old.is_dir():
            continue
        finished = (old / "manifest.json").exists()
        abandoned = time.time() - old.stat().st_mtime > 3600
        if finished or abandoned:  # an unfinished, recent folder may be another process's build
            shutil.rmtree(old, ignore_errors=True)


def current_build(index_dir: Path) -> Path:
    pointer = Path(index_dir) / CURRENT_FILE
    if not pointer.exists():
        raise IndexStoreError(f"no index built yet in {index_dir}")
    try:
        name = pointer.read_bytes()[:4096].decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexStoreError(f"{pointer} is unreadable or not UTF-8 ({exc})") from exc
    build = Path(index_dir) / name
    if not name.startswith("build-") or not build.is_dir():
        raise IndexStoreError(f"{pointer} points at a missing build folder {name!r}")
    return build


def load_store(index_dir: Path, documents: Mapping[str, Document], settings: Settings) -> IndexStore:
    """Read the live build; IndexStoreError naming the bad file on anything missing, truncated or inconsistent."""
    import faiss

    build = current_build(index_dir)
    manifest_path = build / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
            raise ValueError("not an index manifest")
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"unreadable manifest {manifest_path}: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexStoreError(
            f"index format {manifest.get('format_version')} is not {FORMAT_VERSION} in {manifest_path}"
        )
    for name in FILES:
        path = build / name
        expected = manifest.get("files", {}).get(name, {})
        if not path.exists():
            raise IndexStoreError(f"index file missing: {path}")
        if not isinstance(expected, dict) or path.stat().st_size != expected.get("bytes"):
            raise IndexStoreError(f"index file truncated or changed: {path}")
        if settings.verify_checksums and file_sha256(path) != expected.get("sha256"):
            raise IndexStoreError(f"index file corrupt (checksum mismatch): {path}")
    readers: dict[str, Callable[[Path], Any]] = {
        "chunks.json": lambda path: json.loads(path.read_text(encoding="utf-8")),
        "chunk_vectors.npy": lambda path: np.load(path, allow_pickle=False),
        "sentence_vectors.npy": lambda path: np.load(path, allow_pickle=False),
        "dense.faiss": lambda path: faiss.read_index(str(path)),
    }
    data: dict[str, Any] = {}
    for name, read in readers.items():
        try:
            data[name] = read(build / name)
        except Exception as exc:
            raise IndexStoreError(f"cannot read index file {build / name}: {exc}") from exc
    try:
        entries = _entries(data["chunks.json"], data["sentence_vectors.npy"], data["chunk_vectors.npy"], documents)
        dim, model_id = int(manifest["dimension"]), str(manifest["model_id"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise IndexStoreError(f"index file {build / 'chunks.json'} or its manifest is malformed ({exc!r})") from exc
    index = data["dense.faiss"]
    n_s, n_c = sum(len(e.sentences) for e in entries.values()), sum(len(e.chunks) for e in entries.values())
    chunk_vectors, sentence_vectors = data["chunk_vectors.npy"], data["sentence_vectors.npy"]
    if n_s != len(sentence_vectors) or n_c != len(chunk_vectors) or index.ntotal != len(chunk_vectors):
        raise IndexStoreError(f"index in {build} is inconsistent (vector counts do not match the chunk table)")
    apply_search_params(index, settings)
    return IndexStore(settings, model_id, dim, entries, index, manifest)


def _entries(records, sentence_vectors, chunk_vectors, documents: Mapping[str, Document]) -> dict[str, DocumentEntry]:
    entries: dict[str, DocumentEntry] = {}
    s_pos = c_pos = 0
    for doc_id, rec in records.items():
        doc = documents.get(doc_id)
        n_s, n_c = len(rec["sentences"]), len(rec["chunks"])
        # a changed or removed document keeps its vectors for bookkeeping; its text is unknown
        text = doc.text if doc is not None and doc.content_hash == rec["content_hash"] else None
        sentences = [
            Sentence(doc_id, i, a, b, text[a:b] if text is not None else "", k, st)
            for i, a, b, k, st in rec["sentences"]
        ]
        chunks = [
            Chunk(cid, doc_id, a, b, first, last, text[a:b] if text is not None else "", k, st)
            for cid, a, b, first, last, k, st in rec["chunks"]
        ]
        entries[doc_id] = DocumentEntry(
            doc_id,
            rec["content_hash"],
            sentences,
            chunks,
            sentence_vectors[s_pos : s_pos + n_s],
            chunk_vectors[c_pos : c_pos + n_c],
        )
        s_pos += n_s
        c_pos += n_c
    return entries
