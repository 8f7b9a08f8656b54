"""Read-only mappings over a MilvusStore: chunks and sentences by id, fetched on demand (not held whole)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ..chunking import Chunk, Sentence

if TYPE_CHECKING:
    from .milvus_store import MilvusStore


class SentenceView(Mapping[tuple[str, int], Sentence]):
    """Sentences by (doc_id, index), fetched on demand; iterating streams the whole collection."""

    def __init__(self, store: MilvusStore) -> None:
        self._store = store

    def __getitem__(self, key: tuple[str, int]) -> Sentence:
        found = self._store.fetch_sentences([key])
        if key not in found:
            raise KeyError(key)
        return found[key]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for s in self._store.iter_sentences():
            yield (s.doc_id, s.index)

    def __len__(self) -> int:
        return int(self._store.manifest.get("counts", {}).get("sentences", 0))

    def items(self) -> Iterator[tuple[tuple[str, int], Sentence]]:  # type: ignore[override]
        """All sentences, streamed in batches (one pass, no per-key round trip)."""
        for s in self._store.iter_sentences():
            yield (s.doc_id, s.index), s


class ChunkView(Mapping[str, Chunk]):
    def __init__(self, store: MilvusStore) -> None:
        self._store = store

    def __getitem__(self, chunk_id: str) -> Chunk:
        found = self._store.fetch_chunks([chunk_id])
        if chunk_id not in found:
            raise KeyError(chunk_id)
        return found[chunk_id]

    def __iter__(self) -> Iterator[str]:
        raise TypeError("MilvusStore chunks are looked up by id, not listed")

    def __len__(self) -> int:
        return int(self._store.manifest.get("counts", {}).get("chunks", 0))
