"""The on-disk index: reuse, staleness, incremental updates, corruption and atomic writes."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from rag import Assistant, Settings
from rag.corpus import load_corpus
from rag.store import current_build, load_store


def load(corpus, index, embedder, **settings):
    return Assistant.load(corpus_dir=corpus, index_dir=index, settings=Settings(**settings), embedder=embedder)


def test_build_then_reuse_and_manifest(fixture_corpus, tmp_path, embedder):
    first = load(fixture_corpus, tmp_path / "index", embedder)
    assert first.build_info["action"] == "built"
    assert first.build_info["embedded_documents"] == 4
    second = load(fixture_corpus, tmp_path / "index", embedder)
    assert second.build_info["action"] == "loaded"
    manifest = json.loads((current_build(tmp_path / "index") / "manifest.json").read_text())
    assert manifest["model_id"] == Settings().model and manifest["dimension"] == 384
    assert manifest["settings"]["chunk_tokens"] == Settings().chunk_tokens
    assert manifest["faiss"]["type"] == "IndexFlatIP"
    assert set(manifest["documents"]) == set(first.documents)
    assert manifest["documents"]["volcano.md"]["content_hash"] == first.documents["volcano.md"].content_hash
    assert manifest["libraries"]["faiss"] and manifest["built_at"]


def test_changed_document_is_the_only_one_re_embedded(fixture_corpus, tmp_path, embedder):
    load(fixture_corpus, tmp_path / "index", embedder)
    path = fixture_corpus / "sourdough.txt"
    path.write_text(path.read_text() + "\nA starter can also be dried into flakes for travel.\n")
    updated = load(fixture_corpus, tmp_path / "index", embedder)
    assert updated.build_info["action"] == "built"
    assert "document changed: sourdough.txt" in updated.build_info["reasons"]
    assert updated.build_info["embedded_documents"] == 1 and updated.build_info["reused_documents"] == 3
    answer = updated.ask("How can a starter be prepared for travel?")
    assert answer.answered and "dried into flakes" in answer.citations[0].quote


def test_removed_and_added_documents(fixture_corpus, tmp_path, embedder):
    load(fixture_corpus, tmp_path / "index", embedder)
    (fixture_corpus / "volcano.md").unlink()
    (fixture_corpus / "orchard.txt").write_text("The orchard grows 40 kinds of apple.\n")
    updated = load(fixture_corpus, tmp_path / "index", embedder)
    assert {"document removed: volcano.md", "new document orchard.txt"} <= set(updated.build_info["reasons"])
    assert updated.build_info["embedded_documents"] == 1
    assert "volcano.md" not in updated.documents and all(c.doc_id != "volcano.md" for c in updated.store.chunks)


def test_settings_change_rebuilds_everything(fixture_corpus, tmp_path, embedder):
    load(fixture_corpus, tmp_path / "index", embedder)
    rebuilt = load(fixture_corpus, tmp_path / "index", embedder, chunk_tokens=48)
    assert any("chunk_tokens" in r for r in rebuilt.build_info["reasons"])
    assert rebuilt.build_info["embedded_documents"] == 4


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "garbage-pointer", "bad-manifest"])
def test_damaged_index_is_rebuilt_with_a_warning(fixture_corpus, tmp_path, embedder, caplog, damage):
    index = tmp_path / "index"
    good = load(fixture_corpus, index, embedder)
    first = good.ask("When did Mount Caldrith last erupt?")
    expected = (first.citations or first.related)[0].quote
    build = current_build(index)
    if damage == "truncate":
        data = (build / "dense.faiss").read_bytes()
        (build / "dense.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data = bytearray((build / "chunk_vectors.npy").read_bytes())
        data[-5] ^= 0xFF
        (build / "chunk_vectors.npy").write_bytes(bytes(data))
    elif damage == "delete":
        (build / "sentence_vectors.npy").unlink()
    elif damage == "garbage-pointer":
        (index / "CURRENT").write_text("../../etc\n")
    else:
        (build / "manifest.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="rag"):
        again = load(fixture_corpus, index, embedder)
    assert again.build_info["action"] == "built"
    assert any("rebuilding" in r.message for r in caplog.records)
    second = again.ask("When did Mount Caldrith last erupt?")
    assert (second.citations or second.related)[0].quote == expected
    assert load(fixture_corpus, index, embedder).build_info["action"] == "loaded"


def test_killed_build_leaves_previous_index_live(fixture_corpus, tmp_path, embedder, monkeypatch):
    index = tmp_path / "index"
    original = load(fixture_corpus, index, embedder)
    live = current_build(index)
    (fixture_corpus / "orchard.txt").write_text("The orchard grows 40 kinds of apple.\n")

    def die(*args, **kwargs):
        raise KeyboardInterrupt("killed half-way through writing the index")

    monkeypatch.setattr(np, "save", die)
    with pytest.raises(KeyboardInterrupt):
        load(fixture_corpus, index, embedder)
    monkeypatch.undo()
    assert current_build(index) == live  # pointer untouched
    docs = load_corpus(fixture_corpus).documents
    store = load_store(index, docs, Settings())  # previous build still loads and verifies
    assert set(store.entries) == set(original.documents)


def test_index_dir_unwritable_still_answers(fixture_corpus, tmp_path, embedder, caplog):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the index folder should be")
    with caplog.at_level(logging.WARNING, logger="rag"):
        assistant = load(fixture_corpus, blocker / "index", embedder)
    assert any("not saved" in r.message for r in caplog.records)
    assert assistant.ask("How tall is the tower?").answered
