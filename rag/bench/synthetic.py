"""Synthetic inputs: a vocabulary and Zipf text, real English paragraphs, corpora, model-like vectors, stores."""

from __future__ import annotations

from pathlib import Path

_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ren",
    "to",
    "sa",
    "vel",
    "dor",
    "ni",
    "qua",
    "bri",
    "tes",
    "mon",
    "ga",
    "pel",
    "sor",
    "lin",
    "ca",
    "dem",
    "ul",
    "ra",
    "fen",
    "ti",
    "bo",
    "nar",
    "es",
    "vi",
    "hal",
    "gro",
    "mun",
)
_COMMON = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "by",
    "at",
    "from",
    "it",
    "an",
    "be",
    "are",
    "this",
    "which",
    "has",
    "have",
    "its",
    "were",
    "will",
    "said",
    "government",
    "company",
    "year",
    "new",
    "their",
    "more",
    "also",
    "after",
    "first",
    "two",
    "people",
    "city",
    "plan",
    "market",
    "research",
    "cluster",
    "export",
    "meeting",
    "support",
    "build",
    "global",
    "biotech",
    "president",
    "industry",
    "growth",
    "university",
    "hospital",
    "investment",
    "policy",
    "project",
    "program",
    "report",
    "data",
    "system",
    "center",
    "national",
]
_DOC_MODULES = (
    "os",
    "re",
    "json",
    "collections",
    "itertools",
    "functools",
    "pathlib",
    "subprocess",
    "typing",
    "argparse",
    "logging",
    "http.client",
    "urllib.request",
    "asyncio",
    "decimal",
    "datetime",
    "statistics",
    "random",
    "string",
    "textwrap",
    "shutil",
    "tarfile",
    "zipfile",
    "csv",
    "sqlite3",
    "threading",
    "socket",
    "unittest",
    "inspect",
    "ast",
    "pickle",
    "heapq",
    "struct",
    "codecs",
    "calendar",
    "math",
    "fractions",
    "contextlib",
    "dataclasses",
    "enum",
    "io",
    "tempfile",
    "hashlib",
    "base64",
    "html",
    "email.message",
    "mimetypes",
    "uuid",
    "platform",
    "queue",
    "signal",
    "timeit",
    "warnings",
    "weakref",
    "types",
    "pprint",
    "difflib",
    "tokenize",
    "pkgutil",
    "importlib",
)


# ---- synthetic text --------------------------------------------------------------------------
def make_vocabulary(size: int = 30_000, seed: int = 7) -> list[str]:
    import random

    rng = random.Random(seed)
    words = list(dict.fromkeys(_COMMON))
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class TextGenerator:
    """Zipf-distributed words from a fixed vocabulary, sentences of 8-24 words."""

    def __init__(self, seed: int = 0, vocab_size: int = 30_000) -> None:
        import numpy as np

        self.np = np
        self.rng = np.random.default_rng(seed)
        self.words = np.array(make_vocabulary(vocab_size))
        ranks = np.arange(1, len(self.words) + 1)
        p = 1.0 / ranks**1.05
        self.p = p / p.sum()

    def sentences(self, n: int) -> list[str]:
        lengths = self.rng.integers(8, 25, n)
        flat = self.words[self.rng.choice(len(self.words), int(lengths.sum()), p=self.p)]
        out, pos = [], 0
        for length in lengths:
            ws = flat[pos : pos + length]
            pos += length
            out.append(ws[0].capitalize() + " " + " ".join(ws[1:]) + ".")
        return out

    def query_from(self, text: str, words: int = 4) -> str:
        ws = [w.strip(".").lower() for w in text.split()]
        ws = [w for w in ws if w not in _COMMON] or ws
        pick = self.rng.choice(len(ws), min(words, len(ws)), replace=False)
        return " ".join(ws[i] for i in sorted(pick))


# ---- real English ------------------------------------------------------------------------------
def real_texts(limit: int) -> list[str]:
    """English paragraphs that every Python install has offline: the standard library's docstrings."""
    import importlib
    import inspect

    texts: dict[str, None] = {}
    for name in _DOC_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a standard-library module this build of Python lacks (e.g. sqlite3)
            continue
        for _, obj in inspect.getmembers(module):
            if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)):
                continue
            doc = inspect.getdoc(obj) or ""
            for para in doc.split("\n\n")[:3]:
                para = " ".join(para.split())
                if 40 < len(para) < 400 and not para.startswith(">>>"):
                    texts[para] = None
        if len(texts) >= limit:
            break
    return list(texts)[:limit]


def write_synthetic_corpus(folder: Path, docs: int, paragraphs_per_doc: int, seed: int = 1) -> list[Path]:
    """`docs` text files of real English (standard-library docstrings, so token counts and sentence
    lengths are those of prose), topped up with generated sentences if the docstrings run out."""
    paragraphs = real_texts(docs * paragraphs_per_doc)
    gen = TextGenerator(seed)
    while len(paragraphs) < docs * paragraphs_per_doc:
        paragraphs.append(" ".join(gen.sentences(3)))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in range(docs):
        paras = paragraphs[d * paragraphs_per_doc : (d + 1) * paragraphs_per_doc]
        path = folder / f"doc-{d:05d}.txt"
        path.write_text(f"Python library notes, part {d}\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# ---- vectors ------------------------------------------------------------------------------------
def model_basis(embedder, n_texts: int, path: Path) -> dict:
    """Mean and covariance square root of the model's embeddings of real text, saved to `path`
    (so synthetic vectors have the model's spectrum and anisotropy), with a few statistics."""
    import numpy as np

    texts = real_texts(n_texts)
    e = embedder.encode(texts).astype(np.float64)
    mu = e.mean(0)
    w, v = np.linalg.eigh(np.cov((e - mu).T))
    w = np.clip(w, 0, None)
    root = (v * np.sqrt(w)).T.astype(np.float32)  # z @ root ~ N(0, cov)
    np.savez(path, mu=mu.astype(np.float32), root=root)
    sims = e @ e.T
    np.fill_diagonal(sims, -1)
    return {
        "texts": len(texts),
        "source": "docstrings of the Python standard library",
        "participation_ratio": round(float(w.sum() ** 2 / (w**2).sum()), 1),
        "mean_vector_norm": round(float(np.linalg.norm(mu)), 3),
        "nn_cosine_median": round(float(np.median(sims.max(1))), 3),
        "unrelated_cosine_median": round(float(np.median(sims[np.triu_indices(len(e), 1)])), 3),
    }


def make_vectors(n: int, dim: int = 384, kind: str = "model", seed: int = 1, basis: str | Path | None = None):
    """Unit float32 vectors, generated in blocks.

    "model": a hierarchical cloud with the model's own covariance: 4000 topic centres
    (mean + N(0, Σ)), 100k sub-topic centres (topic + 0.7·N(0, Σ)), points (sub-topic + 0.7·N(0, Σ)),
    normalised, where mean and Σ come from the model's embeddings of real text (`basis`, see
    model_basis); without a basis Σ = I/dim·(trace of a unit cloud), i.e. isotropic, harder for ANN.
    "random": isotropic Gaussian, the worst case for any approximate index (no neighbourhood
    structure: the 10 nearest of 1M are barely nearer than the rest)."""
    import faiss
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    if kind == "random":
        for i in range(0, n, 100_000):
            m = min(100_000, n - i)
            out[i : i + m] = rng.standard_normal((m, dim), dtype=np.float32)
    else:
        if basis is not None:
            data = np.load(basis)
            mu, root = data["mu"], data["root"]
        else:
            mu, root = np.zeros(dim, np.float32), np.eye(dim, dtype=np.float32) / np.sqrt(dim)
        topics_rng = np.random.default_rng(0)  # the same cloud for every seed: queries share the data's topics
        topics = mu + topics_rng.standard_normal((4000, dim), dtype=np.float32) @ root
        sub = topics[topics_rng.integers(0, 4000, 100_000)] + 0.7 * (
            topics_rng.standard_normal((100_000, dim), dtype=np.float32) @ root
        )
        for i in range(0, n, 100_000):
            m = min(100_000, n - i)
            centres = sub[rng.integers(0, 100_000, m)]  # drawn before the noise: the same stream as ever
            out[i : i + m] = centres + 0.7 * (rng.standard_normal((m, dim), dtype=np.float32) @ root)
    faiss.normalize_L2(out)
    return out


# ---- a store's inputs at scale ------------------------------------------------------------------
def synthetic_store_inputs(
    n_chunks: int, seed: int = 3, chunks_per_doc: int = 50, sentences_per_chunk: int = 4, dim: int = 384, basis=None
):
    """Documents, sentences and chunks as the chunker would make them (overlap 1), built directly."""
    import hashlib

    from ..chunking import Chunk, Sentence
    from ..corpus import Document
    from ..store import DocumentEntry

    gen = TextGenerator(seed)
    documents, entries = {}, {}
    n_docs = max(1, -(-n_chunks // chunks_per_doc))
    step = sentences_per_chunk - 1
    remaining = n_chunks
    all_sentences = 0
    for d in range(n_docs):
        k = min(chunks_per_doc, remaining)
        remaining -= k
        n_sent = k * step + 1
        lines = gen.sentences(n_sent)
        doc_id = f"doc-{d:06d}.txt"
        title = f"Synthetic document {d}"
        text = title + "\n\n" + " ".join(lines)
        pos = len(title) + 2
        sentences = []
        for i, line in enumerate(lines):
            sentences.append(Sentence(doc_id, i, pos, pos + len(line), line))
            pos += len(line) + 1
        chunks = []
        for c in range(k):
            a, b = sentences[c * step], sentences[min(c * step + step, n_sent - 1)]
            chunks.append(Chunk(f"{doc_id}#{c}", doc_id, a.start, b.end, a.index, b.index, text[a.start : b.end]))
        documents[doc_id] = Document(doc_id, doc_id, text, title, {}, (), 0, hashlib.sha256(text.encode()).hexdigest())
        entries[doc_id] = (sentences, chunks)
        all_sentences += n_sent
    s_vec = make_vectors(all_sentences, dim, "model", seed, basis)
    c_vec = make_vectors(n_chunks, dim, "model", seed + 1, basis)
    out, s_pos, c_pos = {}, 0, 0
    for doc_id, (sentences, chunks) in entries.items():
        out[doc_id] = DocumentEntry(
            doc_id,
            documents[doc_id].content_hash,
            sentences,
            chunks,
            s_vec[s_pos : s_pos + len(sentences)],
            c_vec[c_pos : c_pos + len(chunks)],
        )
        s_pos += len(sentences)
        c_pos += len(chunks)
    return documents, out, gen
