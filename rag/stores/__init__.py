"""Where the passages live: the in-process FAISS + bm25s index (rag/store.py, the default) or Milvus.

`base.PassageStore` is what the retriever and composer read through; `milvus_store.MilvusStore` keeps
chunks, sentences, dense vectors and BM25 in Milvus (Milvus Lite for a path, a server for an http(s) URI).
pymilvus is imported only when `Settings(vector_store="milvus")`.
"""

from __future__ import annotations

from .base import PassageStore

__all__ = ["PassageStore"]
