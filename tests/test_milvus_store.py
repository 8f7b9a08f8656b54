"""The Milvus store on Milvus Lite: build, query, update one document, delete, damage, two readers.

A hashing embedder stands in for the model (no torch, a few seconds in all); the real model runs in
test_milvus_answers (marked slow through the `embedder` fixture).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from milvus_helpers import HashEmbedder  # noqa: E402

from rag import Assistant, Settings  # noqa: E402
from rag.errors import IndexStoreError  # noqa: E402
from rag.stores.milvus_retrieval import request_multiplicity  # noqa: E402

HERE = Path(__file__).resolve().parent
QUESTIONS = [
    "How tall is the lighthouse?",
    "When did the volcano erupt?",
    "What does a sourdough starter need?",
    "Who voted at the city council?",
]


def load(corpus, index, store="milvus", **settings) -> Assistant:
    settings = Settings(vector_store=store, answer_model=None, **settings)
    return Assistant.load(corpus_dir=corpus, index_dir=index, settings=settings, embedder=HashEmbedder())


def chunk_order(assistant: Assistant, question: str, mode: str) -> list[str]:
    return [p.chunk_id for p in assistant.ask(question, top_k=8, retrieval_mode=mode).passages]


@pytest.fixture
def milvus(fixture_corpus, tmp_path):
    a = load(fixture_corpus, tmp_path / "index")
    yield a
    a.store.close()


def test_build_records_store_collections_and_model(milvus, tmp_path):
    m = milvus.store.manifest
    assert milvus.build_info["action"] == "built" and milvus.build_info["embedded_documents"] == 4
    assert m["store"] == "milvus" and m["model_id"] == HashEmbedder.model_name
    assert m["collections"] == {"chunks": "rag_chunks", "sentences": "rag_sentences", "documents": "rag_documents"}
    assert m["index"]["type"] == "FLAT" and m["counts"]["documents"] == 4
    assert (tmp_path / "index" / "milvus.db").is_dir()  # Milvus Lite, under the index folder by default


def test_same_passages_and_answers_as_faiss(milvus, fixture_corpus, tmp_path):
    faiss = load(fixture_corpus, tmp_path / "faiss-index", store="faiss")
    for q in QUESTIONS:
        for mode in ("hybrid", "dense", "bm25"):
            assert chunk_order(milvus, q, mode) == chunk_order(faiss, q, mode), (q, mode)
        a, b = milvus.ask(q), faiss.ask(q)
        assert (a.text, a.answered, round(a.confidence, 6)) == (b.text, b.answered, round(b.confidence, 6))
        for c in a.citations:
            assert milvus.documents[c.doc_id].text[c.start : c.end] == c.quote


def test_client_side_fusion_matches_milvus_rrf(milvus, fixture_corpus, tmp_path):
    client = Assistant(
        milvus.documents,
        milvus.store,
        Settings(vector_store="milvus", answer_model=None, milvus_ranker="client"),
        milvus.embedder,
    )
    for q in QUESTIONS:
        assert chunk_order(client, q, "hybrid") == chunk_order(milvus, q, "hybrid")


def test_weighted_ranker_is_available(milvus):
    weighted = Assistant(
        milvus.documents,
        milvus.store,
        Settings(vector_store="milvus", answer_model=None, milvus_ranker="weighted"),
        milvus.embedder,
    )
    passages = weighted.ask(QUESTIONS[0], top_k=4).passages
    assert len(passages) == 4 and passages[0].doc_id == "lighthouse.md"


def test_weights_become_request_copies():
    assert request_multiplicity(0.5, 1.0) == (1, 2, 2.0)
    assert request_multiplicity(1.0, 1.0) == (1, 1, 1.0)


def test_reload_then_update_one_document_then_delete(milvus, fixture_corpus, tmp_path):
    milvus.store.close()
    again = load(fixture_corpus, tmp_path / "index")
    assert again.build_info["action"] == "loaded"
    again.store.close()
    path = fixture_corpus / "sourdough.txt"
    path.write_text(path.read_text() + "\nA starter can also be dried into flakes for travel.\n")
    updated = load(fixture_corpus, tmp_path / "index")
    assert updated.build_info["embedded_documents"] == 1 and updated.build_info["reused_documents"] == 3
    assert "document changed: sourdough.txt" in updated.build_info["reasons"]
    answer = updated.ask("How can a starter be kept for travel?")
    assert any("dried into flakes" in c.quote for c in answer.citations + answer.related)
    updated.store.close()
    (fixture_corpus / "volcano.md").unlink()
    pruned = load(fixture_corpus, tmp_path / "index")
    assert "document removed: volcano.md" in pruned.build_info["reasons"]
    assert pruned.build_info["embedded_documents"] == 0 and pruned.build_info["removed_documents"] == 1
    assert pruned.store.manifest["counts"]["documents"] == 3
    assert all(p.doc_id != "volcano.md" for p in pruned.ask("When did the volcano erupt?", top_k=10).passages)
    pruned.store.close()


def test_add_documents_writes_only_the_new_one(milvus, tmp_path):
    new = tmp_path / "glacier.md"
    new.write_text("# Glacier\n\nThe Aletsch glacier is 23 kilometres long and lies in the Bernese Alps.\n")
    milvus.add_documents([new], copy_into_corpus=False)
    assert milvus.build_info["embedded_documents"] == 1
    answer = milvus.ask("How long is the Aletsch glacier?")
    assert "glacier.md" in {p.doc_id for p in answer.passages}


@pytest.mark.parametrize("damage", ["drop_chunks", "drop_manifest", "lose_rows"])
def test_damaged_store_is_rebuilt_with_a_warning(milvus, fixture_corpus, tmp_path, caplog, damage):
    client, names = milvus.store.client, milvus.store.names
    before = chunk_order(milvus, QUESTIONS[0], "hybrid")
    if damage == "drop_chunks":
        client.drop_collection(names["chunks"])
    elif damage == "drop_manifest":
        client.delete(names["documents"], ids=["\x00manifest"])
    else:
        client.delete(names["chunks"], filter='doc_id == "lighthouse.md"')
    client.flush(names["documents"])
    milvus.store.close()
    with caplog.at_level(logging.WARNING, logger="rag"):
        rebuilt = load(fixture_corpus, tmp_path / "index")
    assert rebuilt.build_info["action"] == "built" and rebuilt.build_info["embedded_documents"] == 4
    assert "Milvus store unusable, rebuilding" in caplog.text
    assert chunk_order(rebuilt, QUESTIONS[0], "hybrid") == before  # never a wrong answer
    rebuilt.store.close()


def test_a_second_process_on_a_lite_file_gets_a_clear_error(milvus, fixture_corpus, tmp_path):
    code = (
        "import sys; sys.path.insert(0, sys.argv[3]);"
        "from milvus_helpers import HashEmbedder; from rag import Assistant, Settings;"
        "Assistant.load(corpus_dir=sys.argv[1], index_dir=sys.argv[2],"
        " settings=Settings(vector_store='milvus', answer_model=None), embedder=HashEmbedder())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(fixture_corpus), str(tmp_path / "index"), str(HERE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "IndexStoreError" in out.stderr and "milvus.db" in out.stderr and "milvus-lite server" in out.stderr


def test_bad_uri_and_settings_name_the_argument(fixture_corpus, tmp_path):
    with pytest.raises(ValueError, match="milvus_uri"):
        load(fixture_corpus, tmp_path / "index", milvus_uri=str(tmp_path / "store.sqlite"))
    with pytest.raises(ValueError, match="vector_store"):
        Settings(vector_store="pinecone")
    with pytest.raises(ValueError, match="milvus_ranker"):
        Settings(milvus_ranker="max")


def _free_port() -> int:
    from conftest import find_free_port

    return find_free_port()


def test_two_processes_read_one_store_through_a_lite_server(fixture_corpus, tmp_path):
    """Milvus Lite is one process per file; its server lets many processes share the store."""
    port = _free_port()
    data = tmp_path / "shared.db"
    server = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        uri = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                builder = load(fixture_corpus, tmp_path / "index", milvus_uri=uri)
                break
            except IndexStoreError:
                time.sleep(0.2)
        else:
            pytest.fail(f"milvus-lite server did not start: {server.stderr.read().decode() if server.stderr else ''}")
        expected = [c.quote for c in builder.ask(QUESTIONS[0]).citations]
        builder.store.close()
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[4]);"
            "from milvus_helpers import HashEmbedder; from rag import Assistant, Settings;"
            "a = Assistant.load(corpus_dir=sys.argv[1], index_dir=sys.argv[2], settings=Settings("
            "vector_store='milvus', milvus_uri=sys.argv[3], answer_model=None), embedder=HashEmbedder());"
            f"print(json.dumps([a.build_info['action'], [c.quote for c in a.ask({QUESTIONS[0]!r}).citations]]))"
        )
        env = {**os.environ, "MILVUS_TOKEN": "", "MILVUS_DB_NAME": ""}
        readers = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(fixture_corpus), str(tmp_path / f"idx{i}"), uri, str(HERE)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i in range(2)
        ]
        for r in readers:
            stdout, stderr = r.communicate(timeout=180)
            assert r.returncode == 0, stderr[-2000:]
            assert json.loads(stdout.strip().splitlines()[-1]) == ["loaded", expected]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_compare_has_a_milvus_row():
    from rag.evaluation.compare import ablations

    rows = dict(ablations(Settings()))
    assert rows["store=milvus"].vector_store == "milvus"


def test_cli_store_options_reach_the_settings():
    from rag.cli import _settings, build_parser

    args = build_parser().parse_args(["--vector-store", "milvus", "ask", "--milvus-uri", "./x.db", "q"])
    settings = _settings(args)
    assert (settings.vector_store, settings.milvus_uri) == ("milvus", "./x.db")
    assert _settings(build_parser().parse_args(["ask", "q"])).vector_store == "faiss"


def test_milvus_answers_the_meeting_question_with_the_real_model(embedder, tmp_path):
    """The issue's done-when question, on the real model (slow: the `embedder` fixture loads it)."""
    a = Assistant.load(
        corpus_dir=HERE.parent / "corpus",
        index_dir=tmp_path / "index",
        settings=Settings(vector_store="milvus", milvus_uri=str(tmp_path / "milvus-demo.db")),
        embedder=embedder,
    )
    answer = a.ask("Where was the fifth export strategy meeting held?")
    assert answer.answered and "Seoul Startup Hub M+" in answer.citations[0].quote
    c = answer.citations[0]
    assert a.documents[c.doc_id].text[c.start : c.end] == c.quote
    a.store.close()
