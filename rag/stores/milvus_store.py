"""The index kept in Milvus: chunks with dense and BM25 vectors, sentences, per-document hashes, a manifest.

Why: one process's FAISS + bm25s tables fill a machine around 1M passages and are rebuilt whole on
every update. Here the rows live in Milvus (Milvus Lite for a path, a server or cluster for a URI),
a document is replaced or deleted by its doc_id, and a question fetches only the chunks and sentences
it reads (a bounded cache keeps recent ones).

Staleness works as for FAISS: the manifest row records model, settings fingerprint and store; each
document row records its content hash. A missing collection, a missing manifest or counts that do not
add up raise IndexStoreError, and `Assistant.load` rebuilds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..chunking import Chunk, Sentence, chunk_document
from ..corpus import Document
from ..errors import IndexStoreError
from ..settings import Settings
from ..text_analysis import terms
from .milvus_conn import (
    MANIFEST_ID,
    Target,
    collection_names,
    connect,
    create_collections,
    dense_index,
    quoted,
)
from .milvus_views import ChunkView, SentenceView

log = logging.getLogger("rag")
FORMAT = "rag-milvus-1"
CHUNK_FIELDS = ["doc_id", "seq", "start", "end", "first_sentence", "last_sentence", "kind", "search_text"]
SENTENCE_FIELDS = ["doc_id", "idx", "start", "end", "kind", "search_text"]
CACHE_ROWS = 20_000  # sentences (with vectors) kept between questions; a question needs a few dozen
BATCH = 1_000  # rows per insert call


def bm25_text(text: str) -> str:
    """The text as BM25 sees it: our own terms (stemmed, no stop words), space-separated for Milvus's analyzer."""
    return " ".join(t.replace("'", "") for t in terms(text))


def _sentence_pk(doc_id: str, index: int) -> str:
    return f"{doc_id}\x1f{index}"


class MilvusStore:
    """A `PassageStore` in Milvus, plus the writes that keep it in step with the corpus."""

    kind = "milvus"

    def __init__(self, target: Target, settings: Settings, documents: Mapping[str, Document]) -> None:
        self.target = target
        self.settings = settings
        self.documents = documents
        self.names = collection_names(settings)
        self.client = connect(target)
        self.manifest: dict = {}
        self._chunks: OrderedDict[str, Chunk] = OrderedDict()
        self._sentences: OrderedDict[tuple[str, int], tuple[Sentence, np.ndarray]] = OrderedDict()
        self._lock = threading.RLock()  # the web chat answers several questions at once

    # ---- the PassageStore interface -------------------------------------------------------
    @property
    def chunk_by_id(self) -> Mapping[str, Chunk]:
        return ChunkView(self)

    @property
    def sentences(self) -> Mapping[tuple[str, int], Sentence]:
        return SentenceView(self)

    @property
    def search_params(self) -> dict:
        return dict(self.manifest.get("index", {}).get("search", {}))

    def sentence_vectors_for(self, keys: Sequence[tuple[str, int]]) -> np.ndarray:
        with self._lock:
            return self._vectors_for(keys)

    def _vectors_for(self, keys: Sequence[tuple[str, int]]) -> np.ndarray:
        self.fetch_sentences(keys)
        dim = int(self.manifest.get("dimension", 0))
        rows = [self._sentences[k][1] if k in self._sentences else np.zeros(dim, np.float32) for k in keys]
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)

    # ---- reads ----------------------------------------------------------------------------
    def _query(self, name: str, expr: str, fields: list[str]) -> list[dict]:
        try:
            return list(self.client.query(self.names[name], filter=expr, output_fields=fields))
        except Exception as exc:
            raise IndexStoreError(f"Milvus query on {self.names[name]} in {self.target.label} failed: {exc}") from exc

    def chunk_from_row(self, row: Mapping[str, Any]) -> Chunk:
        """A Chunk from a Milvus row (its text sliced from the loaded document, as the FAISS store does)."""
        doc = self.documents.get(row["doc_id"])
        a, b = int(row["start"]), int(row["end"])
        return Chunk(
            row.get("pk") or row.get("chunk_id") or "",
            row["doc_id"],
            a,
            b,
            int(row["first_sentence"]),
            int(row["last_sentence"]),
            doc.text[a:b] if doc is not None else "",
            row["kind"],
            row["search_text"],
        )

    def remember_chunks(self, chunks: Sequence[Chunk]) -> None:
        """Keep chunks the retriever already received, so the composer need not fetch them again."""
        with self._lock:
            self._remember(chunks)

    def _remember(self, chunks: Sequence[Chunk]) -> None:
        for c in chunks:
            self._chunks[c.chunk_id] = c
            self._chunks.move_to_end(c.chunk_id)
        while len(self._chunks) > CACHE_ROWS:
            self._chunks.popitem(last=False)

    def fetch_chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        with self._lock:
            return self._fetch_chunks(ids)

    def _fetch_chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._chunks]
        if missing:
            expr = "pk in [" + ", ".join(quoted(i) for i in missing) + "]"
            rows = self._query("chunks", expr, ["pk", *CHUNK_FIELDS])
            self.remember_chunks([self.chunk_from_row(r) for r in rows])
        return {i: self._chunks[i] for i in ids if i in self._chunks}

    def _sentence_from_row(self, row: Mapping[str, Any]) -> Sentence:
        doc = self.documents.get(row["doc_id"])
        a, b = int(row["start"]), int(row["end"])
        text = doc.text[a:b] if doc is not None else ""
        return Sentence(row["doc_id"], int(row["idx"]), a, b, text, row["kind"], row["search_text"])

    def fetch_sentences(self, keys: Sequence[tuple[str, int]], around: int = 0) -> dict[tuple[str, int], Sentence]:
        """Sentences (and vectors) for keys, plus `around` neighbours each side, in one query per call."""
        with self._lock:
            return self._fetch_sentences(keys, around)

    def _fetch_sentences(self, keys: Sequence[tuple[str, int]], around: int) -> dict[tuple[str, int], Sentence]:
        wanted: dict[str, list[int]] = {}
        for d, i in keys:
            if around or (d, i) not in self._sentences:
                wanted.setdefault(d, []).extend(range(i - around, i + around + 1))
        clauses = []
        for d, idx in wanted.items():
            need = sorted({i for i in idx if i >= 0 and (d, i) not in self._sentences})
            if need:
                clauses.append(f"(doc_id == {quoted(d)} and idx >= {need[0]} and idx <= {need[-1]})")
        if clauses:
            rows = self._query("sentences", " or ".join(clauses), [*SENTENCE_FIELDS, "vector"])
            for row in rows:
                s = self._sentence_from_row(row)
                self._sentences[(s.doc_id, s.index)] = (s, np.asarray(row["vector"], np.float32))
        for k in keys:
            if k in self._sentences:
                self._sentences.move_to_end(k)
        while len(self._sentences) > CACHE_ROWS:
            self._sentences.popitem(last=False)
        return {k: self._sentences[k][0] for k in keys if k in self._sentences}

    def iter_sentences(self, batch: int = 2_000) -> Iterator[Sentence]:
        """Every sentence, streamed (for the composer's corpus-wide term statistics)."""
        it = self.client.query_iterator(
            self.names["sentences"], batch_size=batch, filter="", output_fields=SENTENCE_FIELDS
        )
        try:
            while True:
                rows = it.next()
                if not rows:
                    break
                for row in rows:
                    if row["doc_id"] in self.documents:
                        yield self._sentence_from_row(row)
        finally:
            it.close()

    def document_hashes(self) -> dict[str, str]:
        """content_hash of every stored document (streamed from the documents collection)."""
        out: dict[str, str] = {}
        it = self.client.query_iterator(
            self.names["documents"], batch_size=5_000, filter="", output_fields=["content_hash"]
        )
        try:
            while True:
                rows = it.next()
                if not rows:
                    break
                out.update({r["pk"]: r["content_hash"] for r in rows if r["pk"] != MANIFEST_ID})
        finally:
            it.close()
        return out

    # ---- opening and checking ---------------------------------------------------------------
    def open_existing(self) -> None:
        """Load the collections and manifest; IndexStoreError when anything is missing or does not add up."""
        existing = set(self.client.list_collections())
        lost = [n for n in self.names.values() if n not in existing]
        if lost:
            raise IndexStoreError(f"Milvus store {self.target.label} has no collection {', '.join(lost)}")
        try:
            for name in self.names.values():
                self.client.load_collection(name)
            rows = self.client.get(self.names["documents"], ids=[MANIFEST_ID], output_fields=["info"])
        except Exception as exc:
            raise IndexStoreError(f"cannot load Milvus store {self.target.label}: {exc}") from exc
        if not rows:
            raise IndexStoreError(f"Milvus store {self.target.label} has no manifest (an interrupted build?)")
        try:
            manifest = json.loads(rows[0]["info"])
        except ValueError as exc:
            raise IndexStoreError(f"unreadable manifest in Milvus store {self.target.label}: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise IndexStoreError(f"Milvus store format {manifest.get('format')!r} is not {FORMAT}")
        counts = manifest.get("counts", {})
        stored = {k: self._row_count(k) for k in ("chunks", "sentences")}
        if stored != {k: counts.get(k) for k in stored}:
            raise IndexStoreError(
                f"Milvus store {self.target.label} is inconsistent: rows {stored} but the manifest says "
                f"{ {k: counts.get(k) for k in stored} }"
            )
        self.manifest = manifest

    def _row_count(self, name: str) -> int:
        return int(self.client.get_collection_stats(self.names[name]).get("row_count", 0))

    def staleness(self, documents: Mapping[str, Document], settings: Settings, model_id: str) -> list[str]:
        """Why this store no longer matches the corpus (empty when current), as IndexStore.staleness."""
        reasons = []
        if self.manifest.get("model_id") != model_id:
            reasons.append(f"model changed ({self.manifest.get('model_id')} → {model_id})")
        built = self.manifest.get("settings", {})
        for key, value in settings.index_fingerprint().items():
            if built.get(key) != value:
                reasons.append(f"setting {key} changed ({built.get(key)!r} → {value!r})")
        stored = self.document_hashes()
        for doc_id, doc in documents.items():
            if doc_id not in stored:
                reasons.append(f"new document {doc_id}")
            elif stored[doc_id] != doc.content_hash:
                reasons.append(f"document changed: {doc_id}")
        reasons.extend(f"document removed: {d}" for d in stored if d not in documents)
        return reasons

    # ---- writes -------------------------------------------------------------------------------
    def _drop_all(self) -> None:
        for name in self.names.values():
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    def delete_document(self, doc_id: str) -> None:
        """Remove one document's chunks, sentences and hash row."""
        expr = f"doc_id == {quoted(doc_id)}"
        self.client.delete(self.names["documents"], ids=[doc_id])  # first: a crash now reads as "changed"
        self.client.delete(self.names["chunks"], filter=expr)
        self.client.delete(self.names["sentences"], filter=expr)
        self._forget(doc_id)

    def _forget(self, doc_id: str) -> None:
        with self._lock:
            self._forget_unlocked(doc_id)

    def _forget_unlocked(self, doc_id: str) -> None:
        for key in [k for k in self._sentences if k[0] == doc_id]:
            del self._sentences[key]
        for cid in [c for c, ch in self._chunks.items() if ch.doc_id == doc_id]:
            del self._chunks[cid]

    def _insert(self, name: str, rows: list[dict]) -> None:
        for i in range(0, len(rows), BATCH):
            self.client.insert(self.names[name], rows[i : i + BATCH])

    def put_document(
        self, doc: Document, sentences: list[Sentence], chunks: list[Chunk], s_vec: np.ndarray, c_vec: np.ndarray
    ) -> None:
        """Replace one document's rows (delete by doc_id, then insert); its hash row goes in last."""
        self.delete_document(doc.doc_id)
        self._insert(
            "chunks",
            [
                {
                    "pk": c.chunk_id,
                    "doc_id": c.doc_id,
                    "seq": seq,
                    "start": c.start,
                    "end": c.end,
                    "first_sentence": c.first_sentence,
                    "last_sentence": c.last_sentence,
                    "kind": c.kind,
                    "search_text": c.search_text,
                    "terms": bm25_text(c.embed_text) or "\x00empty",
                    "vector": v,
                }
                for seq, (c, v) in enumerate(zip(chunks, c_vec))
            ],
        )
        self._insert(
            "sentences",
            [
                {
                    "pk": _sentence_pk(s.doc_id, s.index),
                    "doc_id": s.doc_id,
                    "idx": s.index,
                    "start": s.start,
                    "end": s.end,
                    "kind": s.kind,
                    "search_text": s.search_text,
                    "vector": v,
                }
                for s, v in zip(sentences, s_vec)
            ],
        )
        row = {
            "pk": doc.doc_id,
            "doc_id": doc.doc_id,
            "content_hash": doc.content_hash,
            "sentences": len(sentences),
            "chunks": len(chunks),
            "info": json.dumps({"path": doc.path, "title": doc.title}, ensure_ascii=False)[:60_000],
            "vector": [0.0, 0.0],
        }
        self.client.upsert(self.names["documents"], [row])

    def _write_manifest(self, settings: Settings, model_id: str, dim: int, index: tuple[str, dict, dict]) -> None:
        from .._version import __version__

        for name in self.names.values():
            self.client.flush(name)
        if self.target.lite and index[0] != "FLAT":
            # Milvus Lite indexes a segment when the collection is loaded; new segments are searched
            # exhaustively until then (a server's index nodes build them by themselves)
            self.client.release_collection(self.names["chunks"])
            self.client.load_collection(self.names["chunks"])
        manifest = {
            "format": FORMAT,
            "store": "milvus",
            "uri": self.target.label,
            "collections": dict(self.names),
            "rag_version": __version__,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model_id": model_id,
            "dimension": dim,
            "index": {"type": index[0], "build": index[1], "search": index[2], "sparse": "BM25 k1=1.5 b=0.75"},
            "faiss": {"type": f"Milvus {index[0]}"},  # what `rag index` prints
            "settings": settings.index_fingerprint(),
            "counts": {
                "documents": len(self.document_hashes()),
                "chunks": self._row_count("chunks"),
                "sentences": self._row_count("sentences"),
            },
        }
        self.client.upsert(
            self.names["documents"],
            [
                {
                    "pk": MANIFEST_ID,
                    "doc_id": "",
                    "content_hash": "",
                    "sentences": 0,
                    "chunks": 0,
                    "info": json.dumps(manifest, ensure_ascii=False),
                    "vector": [0.0, 0.0],
                }
            ],
        )
        self.client.flush(self.names["documents"])
        self.manifest = manifest

    def sync(
        self,
        documents: Mapping[str, Document],
        settings: Settings,
        embedder: Any,
        rebuild: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> dict:
        """Bring the store in step with `documents`: embed only new or changed ones, delete removed ones."""
        self.documents = documents
        dim = int(embedder.dimension)
        fresh = (
            rebuild
            or not self.manifest
            or self.manifest.get("model_id") != embedder.model_name
            or self.manifest.get("settings") != settings.index_fingerprint()
            or int(self.manifest.get("dimension", -1)) != dim
        )
        if fresh:
            self._drop_all()
            self._chunks.clear()
            self._sentences.clear()
            stored: dict[str, str] = {}
            todo_docs = [documents[d] for d in sorted(documents)]
            chunked = [(doc, *chunk_document(doc, settings)) for doc in todo_docs]
            index = dense_index(settings, sum(len(c) for _, _, c in chunked))
            create_collections(self.client, settings, dim, index)
        else:
            stored = self.document_hashes()
            todo_docs = [documents[d] for d in sorted(documents) if stored.get(d) != documents[d].content_hash]
            chunked = [(doc, *chunk_document(doc, settings)) for doc in todo_docs]
            meta = self.manifest["index"]
            index = (meta["type"], meta["build"], meta["search"])
        removed = [d for d in stored if d not in documents]
        for doc_id in removed:
            self.delete_document(doc_id)
        texts = [s.embed_text for _, ss, _ in chunked for s in ss] + [c.embed_text for _, _, cs in chunked for c in cs]
        vectors = _encode(embedder, texts, progress)
        pos_s, pos_c = 0, sum(len(ss) for _, ss, _ in chunked)
        for doc, sentences, chunks in chunked:
            self.put_document(
                doc,
                sentences,
                chunks,
                vectors[pos_s : pos_s + len(sentences)],
                vectors[pos_c : pos_c + len(chunks)],
            )
            pos_s += len(sentences)
            pos_c += len(chunks)
        self._write_manifest(settings, embedder.model_name, dim, index)
        return {
            "reused_documents": len(documents) - len(todo_docs),
            "embedded_documents": len(todo_docs),
            "embedded_texts": len(texts),
            "removed_documents": len(removed),
        }

    def close(self) -> None:
        """Release the connection (and, for Milvus Lite, the file lock once no client uses it)."""
        try:
            self.client.close()
        except Exception:  # already closed
            pass


def _encode(embedder: Any, texts: list[str], progress: Callable[[int], None] | None) -> np.ndarray:
    parts = []
    for i in range(0, len(texts), 512):
        parts.append(np.asarray(embedder.encode(texts[i : i + 512]), np.float32))
        if progress is not None:
            progress(len(texts[i : i + 512]))
    return np.vstack(parts) if parts else np.zeros((0, int(embedder.dimension)), np.float32)
