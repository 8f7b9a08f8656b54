"""Sentence splitting and chunking: abbreviations, quotes, offsets, token budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.corpus import load_corpus, load_document
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.tokens import count_tokens

ROOT = Path(__file__).resolve().parent.parent


def sentences_of(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Published: 01 Jun. 2023, 16:45", ["Published: 01 Jun. 2023, 16:45"]),
        ("He met U.S. President Joe Biden. Then he left.", ["He met U.S. President Joe Biden.", "Then he left."]),
        ("During his U.S. trip, Yoon spoke. It went well.", ["During his U.S. trip, Yoon spoke.", "It went well."]),
        (
            "He visited the Massachusetts Institute of Technology (MIT) and met experts. They talked.",
            ["He visited the Massachusetts Institute of Technology (MIT) and met experts.", "They talked."],
        ),
        ('"We will build it," Yoon said. Work starts soon.', ['"We will build it," Yoon said.', "Work starts soon."]),
        ('"It is ready." "We go now." She left.', ['"It is ready."', '"We go now."', "She left."]),
        (
            "Dr. Marsh lives on Harbour St. in town. The tower is 3.5 m tall, e.g. very tall.",
            ["Dr. Marsh lives on Harbour St. in town.", "The tower is 3.5 m tall, e.g. very tall."],
        ),
        ("Title line\nFirst sentence. Second one.", ["Title line", "First sentence.", "Second one."]),
    ],
)
def test_sentence_boundaries(text, expected):
    assert sentences_of(text) == expected


def test_article_sentences_are_whole():
    doc = load_document(ROOT / "corpus" / "yoon-biotech-cluster-2023-06-01.md")
    sentences, _ = chunk_document(doc, Settings())
    texts = [s.text for s in sentences]
    assert "Published: 01 Jun. 2023, 16:45" in texts
    assert any(
        t.startswith("During his U.S. trip, Yoon visited the Massachusetts Institute of Technology (MIT)")
        and t.endswith("Harvard University.")
        for t in texts
    )
    assert any(t.startswith("This meeting discussed") and t.endswith("U.S. President Joe Biden.") for t in texts)


@pytest.mark.parametrize("folder", ["corpus", "tests/fixtures/docs"])
@pytest.mark.parametrize("chunk_tokens, overlap", [(96, 1), (24, 0), (48, 2)])
def test_offsets_always_slice_back_to_the_text(folder, chunk_tokens, overlap):
    settings = Settings(chunk_tokens=chunk_tokens, chunk_overlap_sentences=overlap)
    for doc in load_corpus(ROOT / folder, settings).documents.values():
        sentences, chunks = chunk_document(doc, settings)
        assert sentences and chunks
        for s in sentences:
            assert doc.text[s.start : s.end] == s.text
            assert s.text == s.text.strip() and s.text
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert c.start == sentences[c.first_sentence].start and c.end == sentences[c.last_sentence].end
            body = [s for s in sentences[c.first_sentence : c.last_sentence + 1]]
            if c.kind != "metadata" and len(body) > 1:
                assert sum(count_tokens(s.text) for s in body) <= chunk_tokens
        body_chunks = [c for c in chunks if c.kind != "metadata"]
        covered = {i for c in body_chunks for i in range(c.first_sentence, c.last_sentence + 1)}
        assert covered == {s.index for s in sentences if s.kind != "metadata"}  # nothing dropped
        for a, b in zip(body_chunks, body_chunks[1:]):  # consecutive chunks share `overlap` sentences
            assert b.first_sentence == max(a.first_sentence + 1, a.last_sentence + 1 - overlap)


def test_long_sentence_is_split_only_when_over_budget(tmp_path):
    long_sentence = "The committee " + " ".join(f"reviewed item {i}," for i in range(60)) + " and adjourned."
    path = tmp_path / "long.txt"
    path.write_text(f"Short one here. {long_sentence} Final words.\n", encoding="utf-8")
    doc = load_document(path)
    settings = Settings(chunk_tokens=40, chunk_overlap_sentences=0)
    sentences, chunks = chunk_document(doc, settings)
    assert sentences[0].text == "Short one here." and sentences[-1].text == "Final words."
    pieces = sentences[1:-1]
    assert len(pieces) > 1 and all(count_tokens(p.text) <= 40 for p in pieces)
    assert " ".join(p.text for p in pieces) == long_sentence
    # with room for it, the long sentence stays whole: three sentences
    assert len(chunk_document(doc, Settings(chunk_tokens=400))[0]) == 3
