"""Retrieval on a four-sentence corpus with exact expected rankings, per mode."""

from __future__ import annotations

import pytest

from rag import Assistant, Settings
from rag.lexical import BM25Index


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, embedder):
    corpus = tmp_path_factory.mktemp("tiny")
    texts = {
        "cats.txt": "Cats sleep for most of the day and hunt at night.",
        "python.txt": "Python is a programming language with a large standard library.",
        "bread.txt": "Sourdough bread rises slowly because of wild yeast.",
        "rain.txt": "Monsoon rain floods the river valley every summer.",
    }
    for name, text in texts.items():
        (corpus / name).write_text(text + "\n")
    settings = Settings(abstain_threshold=0.0)
    return Assistant.load(
        corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("tiny_index"), settings=settings, embedder=embedder
    )


def ranking(answer):
    return [p.doc_id for p in answer.passages]


def test_bm25_ranks_by_shared_words(tiny):
    assert ranking(tiny.ask("wild yeast bread", top_k=1, retrieval_mode="bm25")) == ["bread.txt"]
    assert ranking(tiny.ask("river valley floods", top_k=1, retrieval_mode="bm25")) == ["rain.txt"]


def test_dense_finds_paraphrases_bm25_cannot(tiny):
    answer = tiny.ask("Which animal is nocturnal?", top_k=1, retrieval_mode="dense")
    assert ranking(answer) == ["cats.txt"]
    assert answer.passages[0].dense_score > 0.2 and answer.passages[0].bm25_score is None


def test_hybrid_fuses_both_rankings(tiny):
    answer = tiny.ask("coding language with a big standard library", top_k=4)
    assert ranking(answer)[0] == "python.txt"
    top = answer.passages[0]
    assert top.dense_score is not None and top.bm25_score is not None
    s = Settings()
    assert top.score == pytest.approx((s.dense_weight + s.bm25_weight) / (s.rrf_k + 1))  # rank 1 in both lists
    assert [p.rank for p in answer.passages] == [1, 2, 3, 4]


def test_bm25_index_has_no_python_loop_over_documents():
    # "gamma" twice in a short text beats once in a longer one: one exact ranking
    index = BM25Index(["alpha beta", "beta gamma gamma", "gamma delta epsilon zeta"])
    assert [row for row, _ in index.search("gamma", 3)] == [1, 2]
    assert index.search("unknownword", 3) == []
