"""The store options every `rag` command takes (--vector-store, --milvus-uri), applied to Settings."""

from __future__ import annotations

import argparse
from typing import Any

from ..settings import Settings


def add_store_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """Declare --vector-store and --milvus-uri (credentials come from the environment, never from here)."""
    parser.add_argument(
        "--vector-store",
        choices=["faiss", "milvus"],
        default=default,
        help="where the index lives: faiss (in this process, the default) or milvus",
    )
    parser.add_argument(
        "--milvus-uri",
        default=default,
        help="Milvus Lite file (a path ending in .db; default <index>/milvus.db) or http(s)://host:19530; "
        "token and database from $MILVUS_TOKEN / $MILVUS_DB_NAME",
    )


def apply_store_options(settings: Settings, args: argparse.Namespace) -> Settings:
    """Settings with the command line's store options on top (unchanged when none were given)."""
    changes: dict[str, Any] = {}
    if getattr(args, "vector_store", None):
        changes["vector_store"] = args.vector_store
    if getattr(args, "milvus_uri", None):
        changes["milvus_uri"] = args.milvus_uri
        changes.setdefault("vector_store", "milvus")
    return settings.replace(**changes) if changes else settings
