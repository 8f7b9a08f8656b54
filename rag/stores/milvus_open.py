"""Opening the Milvus store for `Assistant.load`: load it when current, update or rebuild it when not."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..corpus import Document
from ..errors import IndexStoreError
from ..settings import Settings
from .milvus_conn import resolve_target
from .milvus_store import MilvusStore

log = logging.getLogger("rag")


def open_milvus(
    documents: Mapping[str, Document],
    settings: Settings,
    embedder: Any,
    index_dir: Path | None,
    rebuild: bool = False,
    progress: Callable[[int, int], Callable[[int], None] | None] | None = None,
) -> tuple[MilvusStore, dict]:
    """The Milvus side of `Assistant.load`: open the store, then load it, update it or rebuild it."""
    store = MilvusStore(resolve_target(settings, index_dir), settings, documents)
    reasons: list[str] = []
    if rebuild:
        reasons = ["rebuild requested"]
    else:
        try:
            store.open_existing()
            reasons = store.staleness(documents, settings, embedder.model_name)
        except IndexStoreError as exc:
            present = set(store.client.list_collections()) & set(store.names.values())
            if present and not store.target.lite:  # other processes may be reading or writing it right now
                raise IndexStoreError(
                    f"{exc}; a shared Milvus store is never rebuilt implicitly: run "
                    f"`rag index --rebuild --vector-store milvus --milvus-uri {store.target.label}`"
                ) from exc
            if present:
                log.warning("Milvus store unusable, rebuilding: %s", exc)
            store.manifest = {}
            reasons = [str(exc)]
        if store.manifest and not reasons:
            return store, {"action": "loaded", "reasons": []}
    callback = None
    if progress is not None:
        changed = sum(1 for r in reasons if r.startswith(("new document", "document changed")))
        callback = progress(changed if store.manifest else len(documents), len(documents))
    stats = store.sync(documents, settings, embedder, rebuild=rebuild or not store.manifest, progress=callback)
    return store, {"action": "built", "reasons": reasons, **stats}
