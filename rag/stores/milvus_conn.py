"""Connecting to Milvus and laying out its collections.

A `milvus_uri` that is a path opens Milvus Lite (embedded, a folder ending in `.db`); an `http(s)://`
URI opens a Milvus server or cluster, with the token and database name taken from the environment
(`MILVUS_TOKEN`, `MILVUS_DB_NAME`) so they never appear on a command line or in a settings file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IndexStoreError
from ..settings import Settings

DEFAULT_LITE_FILE = "milvus.db"  # under the index folder when no URI is given
TOKEN_ENV = "MILVUS_TOKEN"
DB_ENV = "MILVUS_DB_NAME"
MAX_TEXT = 65_535  # Milvus's VARCHAR limit, in bytes
MAX_ID = 1_024
MANIFEST_ID = "\x00manifest"  # the row of the documents collection that holds the manifest


@dataclass(frozen=True)
class Target:
    """Where the store lives: the URI handed to pymilvus, and how to name it in messages."""

    uri: str
    lite: bool
    label: str  # the URI without credentials

    @property
    def lite_path(self) -> Path | None:
        return Path(self.uri) if self.lite else None


def resolve_target(settings: Settings, index_dir: Path | None) -> Target:
    """The Milvus endpoint for these settings: a server URI as given, else a Milvus Lite path."""
    uri = settings.milvus_uri
    if uri and uri.startswith(("http://", "https://", "tcp://", "grpc://")):
        return Target(uri, False, uri.split("@")[-1])
    if not uri:
        if index_dir is None:
            raise ValueError("milvus_uri is not set and there is no index folder to put a Milvus Lite file in")
        path = Path(index_dir) / DEFAULT_LITE_FILE
    else:
        path = Path(uri).expanduser()
    if path.suffix != ".db":
        raise ValueError(f"milvus_uri {uri!r}: a Milvus Lite path must end in .db (or use http(s)://host:19530)")
    return Target(str(path.resolve()), True, str(path))


def connect(target: Target) -> Any:
    """An open MilvusClient; IndexStoreError names the URI when Milvus cannot be reached or opened."""
    if target.lite:  # the embedded server's keepalive GOAWAY notices are noise on stderr (set it to see them)
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # pragma: no cover - a normal install has it
        raise IndexStoreError(
            "vector_store='milvus' needs pymilvus and milvus-lite: pip install 'rag[milvus]'"
        ) from exc
    logging.getLogger("pymilvus").setLevel(logging.ERROR)  # query iterators warn about client-side timestamps
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)  # Milvus Lite lacks AllocTimestamp: logged, harmless
    kwargs: dict[str, Any] = {}
    if not target.lite:
        if os.environ.get(TOKEN_ENV):
            kwargs["token"] = os.environ[TOKEN_ENV]
        if os.environ.get(DB_ENV):
            kwargs["db_name"] = os.environ[DB_ENV]
    else:
        Path(target.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(target.uri, **kwargs)
    except Exception as exc:
        if target.lite:
            raise IndexStoreError(
                f"cannot open Milvus Lite store {target.label}: it is in use by another process or damaged "
                f"(Milvus Lite allows one process per file; to share it, run `milvus-lite server --data-dir "
                f"{target.label} --port 19530` and use --milvus-uri http://127.0.0.1:19530) [{exc}]"
            ) from exc
        raise IndexStoreError(f"cannot connect to Milvus at {target.label}: {exc}") from exc


def collection_names(settings: Settings) -> dict[str, str]:
    """The three collections of one store, named from `Settings.milvus_collection`."""
    p = settings.milvus_collection
    return {"chunks": f"{p}_chunks", "sentences": f"{p}_sentences", "documents": f"{p}_documents"}


def dense_index(settings: Settings, n_vectors: int) -> tuple[str, dict, dict]:
    """(index_type, build params, search params) for the chunk vectors, chosen as `choose_faiss_index` does."""
    kind = settings.index_type
    if kind == "auto":
        kind = "flat" if n_vectors < settings.approximate_above else settings.approximate_type
    if kind == "hnsw":
        return (
            "HNSW",
            {"M": settings.hnsw_m, "efConstruction": settings.hnsw_ef_construction},
            {"ef": settings.hnsw_ef_search},
        )
    if kind == "ivf" and n_vectors >= settings.ivf_nlist * 39:
        return "IVF_FLAT", {"nlist": settings.ivf_nlist}, {"nprobe": settings.ivf_nprobe}
    return "FLAT", {}, {}


def create_collections(client: Any, settings: Settings, dim: int, index: tuple[str, dict, dict]) -> None:
    """Chunks (dense vector + BM25 sparse vector made by Milvus's BM25 function), sentences, documents."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    names = collection_names(settings)

    def base_schema() -> Any:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=MAX_ID)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID)
        return schema

    chunks = base_schema()
    for name in ("seq", "start", "end", "first_sentence", "last_sentence"):
        chunks.add_field(name, DataType.INT64)
    chunks.add_field("kind", DataType.VARCHAR, max_length=32)
    chunks.add_field("search_text", DataType.VARCHAR, max_length=MAX_TEXT)
    # `terms` holds the text as rag.text_analysis.terms() sees it (stemmed, stop words out), so Milvus's
    # whitespace-and-word analyzer counts the same terms bm25s does.
    chunks.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True)
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    chunks.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
        )
    )
    index_type, build, _ = index
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type=index_type, metric_type="IP", params=build)
    params.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": 1.5, "bm25_b": 0.75},  # bm25s's defaults (rag/lexical.py)
    )
    client.create_collection(names["chunks"], schema=chunks, index_params=params)

    sentences = base_schema()
    for name in ("idx", "start", "end"):
        sentences.add_field(name, DataType.INT64)
    sentences.add_field("kind", DataType.VARCHAR, max_length=32)
    sentences.add_field("search_text", DataType.VARCHAR, max_length=MAX_TEXT)
    sentences.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")  # fetched by id, never searched
    client.create_collection(names["sentences"], schema=sentences, index_params=params)

    documents = base_schema()
    documents.add_field("content_hash", DataType.VARCHAR, max_length=256)
    documents.add_field("sentences", DataType.INT64)
    documents.add_field("chunks", DataType.INT64)
    documents.add_field("info", DataType.VARCHAR, max_length=MAX_TEXT)  # the manifest row's JSON
    documents.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants one vector field per collection
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    client.create_collection(names["documents"], schema=documents, index_params=params)


def quoted(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
