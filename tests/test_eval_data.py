"""The eval sets themselves: well-formed, and every gold evidence quote is verbatim in the corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rag.corpus import load_document
from rag.evaluation.datasets import load_jsonl, parse_item, select_split
from rag.evaluation.metrics import contains_answer
from rag.sentences import split_sentences

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_SET = ROOT / "eval" / "article_qa.jsonl"
FIXTURE_SET = ROOT / "eval" / "fixture_qa.jsonl"
ARTICLE = ROOT / "corpus" / "yoon-biotech-cluster-2023-06-01.md"
FIXTURE_DOCS = ROOT / "tests" / "fixtures" / "docs"
KINDS = {"who", "what", "where", "when", "why", "how", "how-many", "yes-no"}
SPLITS = {"dev", "test"}
ARTICLE_TAGS = ("paraphrase", "two-sentence", "follow-up", "metadata", "topic-switch", "unanswerable-nearmiss")


@pytest.fixture(scope="module")
def article_items():
    return load_jsonl(ARTICLE_SET)


@pytest.fixture(scope="module")
def fixture_items():
    return load_jsonl(FIXTURE_SET)


def _raw_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("path", [ARTICLE_SET, FIXTURE_SET], ids=["article", "fixture"])
def test_schema_and_unique_ids(path):
    raw = _raw_items(path)
    ids = [item["id"] for item in raw]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    for item in raw:
        assert isinstance(item["question"], str) and item["question"].strip(), item["id"]
        assert isinstance(item.get("history", []), list), item["id"]
        assert all(isinstance(h, str) and h.strip() for h in item.get("history", [])), item["id"]
        assert isinstance(item["answerable"], bool), item["id"]
        if item["answerable"]:
            assert item["answers"] and item["evidence"], f"{item['id']}: answerable without answers/evidence"
        else:
            assert not item["evidence"], f"{item['id']}: unanswerable item with evidence"
        if "follow-up" in item.get("tags", []):
            assert item.get("history"), f"{item['id']}: follow-up without history"
        if "two-sentence" in item.get("tags", []) and item["answerable"]:
            assert len(item["evidence"]) >= 2, f"{item['id']}: two-sentence item with fewer than two evidence sentences"
        if "topic-switch" in item.get("tags", []):
            assert item.get("history"), f"{item['id']}: topic-switch without history"
        assert item.get("split") in SPLITS, (
            f"{item['id']}: split must be one of {sorted(SPLITS)}, got {item.get('split')!r}"
        )
        if any(t.startswith("unanswerable") for t in item.get("tags", [])):
            assert not item["answerable"], f"{item['id']}: tagged unanswerable but answerable"


def test_article_set_counts_and_coverage(article_items):
    assert len(article_items) >= 140
    assert sum(not i.answerable for i in article_items) >= 40
    kinds = {i.kind for i in article_items if i.answerable}
    assert KINDS <= kinds, f"missing kinds: {KINDS - kinds}"
    tags = Counter(t for i in article_items for t in i.tags)
    for tag in ARTICLE_TAGS:
        assert tags[tag] > 0, f"no {tag} questions"
    assert tags["topic-switch"] >= 8


def test_fixture_set_counts(fixture_items):
    assert len(fixture_items) >= 20
    assert sum(not i.answerable for i in fixture_items) >= 4
    assert len({i.doc for i in fixture_items if i.doc}) >= 3
    assert sum("topic-switch" in i.tags for i in fixture_items) >= 4


@pytest.mark.parametrize("path", [ARTICLE_SET, FIXTURE_SET], ids=["article", "fixture"])
def test_dev_test_split_is_stratified(path):
    """About a third dev; dev and test each hold every tag (used twice or more) and both answerabilities."""
    items = load_jsonl(path)
    dev, test = select_split(items, "dev"), select_split(items, "test")
    assert len(dev) + len(test) == len(items)
    assert 0.2 <= len(dev) / len(items) <= 0.45, f"dev share {len(dev)}/{len(items)}"
    for part, name in ((dev, "dev"), (test, "test")):
        assert {i.answerable for i in part} == {True, False}, f"{name} lacks answerable or unanswerable items"
    tags = Counter(t for i in items for t in i.tags)
    for tag, n in tags.items():
        if n >= 2:
            assert any(tag in i.tags for i in dev), f"no {tag} item in dev"
            assert any(tag in i.tags for i in test), f"no {tag} item in test"


def test_loader_keeps_split():
    base = {"id": "x", "question": "q?", "answers": [], "evidence": [], "answerable": False}
    assert parse_item(base).split == "test"
    assert parse_item({**base, "split": "dev"}).split == "dev"
    with pytest.raises(ValueError, match="split"):
        parse_item({**base, "split": "train"}, "here")


def test_article_evidence_is_verbatim(article_items):
    raw = ARTICLE.read_text(encoding="utf-8")
    loaded = load_document(ARTICLE).text
    for item in article_items:
        for quote in item.evidence:
            assert quote in raw, f"{item.id}: not verbatim in {ARTICLE.name}: {quote!r}"
            assert quote in loaded, f"{item.id}: not in the text the engine loads: {quote!r}"


def test_fixture_evidence_is_verbatim(fixture_items):
    texts = {}
    for item in fixture_items:
        if not item.answerable:
            continue
        assert item.doc, f"{item.id}: fixture item without doc"
        path = FIXTURE_DOCS / item.doc
        assert path.is_file(), f"{item.id}: no such fixture document {item.doc}"
        if item.doc not in texts:
            texts[item.doc] = load_document(path).text  # HTML: the visible text the engine indexes
        for quote in item.evidence:
            assert quote in texts[item.doc], f"{item.id}: not verbatim in {item.doc}: {quote!r}"


def _sentences(path: Path) -> set[str]:
    text = load_document(path).text
    return {text[s.start : s.end] for s in split_sentences(text)}


def test_evidence_is_whole_engine_sentences(article_items, fixture_items):
    """Each evidence quote is one whole sentence as the engine splits it (so a citation can equal it)."""
    sentences = {ARTICLE: _sentences(ARTICLE)}
    for item in article_items:
        for quote in item.evidence:
            assert quote in sentences[ARTICLE], f"{item.id}: not a whole sentence of {ARTICLE.name}: {quote!r}"
    for item in fixture_items:
        if item.evidence:
            path = FIXTURE_DOCS / item.doc
            sentences.setdefault(path, _sentences(path))
            for quote in item.evidence:
                assert quote in sentences[path], f"{item.id}: not a whole sentence of {item.doc}: {quote!r}"


@pytest.mark.parametrize("path", [ARTICLE_SET, FIXTURE_SET], ids=["article", "fixture"])
def test_a_gold_answer_is_inside_the_evidence(path):
    """An extractive answer can only contain a gold answer that its evidence sentences contain."""
    for item in load_jsonl(path):
        if item.answerable:
            assert contains_answer(" ".join(item.evidence), item.answers), (
                f"{item.id}: no gold answer occurs (SQuAD-normalised) in the evidence"
            )
