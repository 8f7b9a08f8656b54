"""Loading documents: metadata, normalisation, HTML, boilerplate, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.corpus import html_to_text, load_corpus, load_document, normalise_text
from rag.errors import CorpusError, DocumentError

ROOT = Path(__file__).resolve().parent.parent


def test_article_metadata_and_text():
    doc = load_document(ROOT / "corpus" / "yoon-biotech-cluster-2023-06-01.md")
    assert doc.title == "President Yoon calls for faster efforts to build global biotech cluster in Korea"
    assert doc.metadata["author"] == "Sarah Kim"
    assert doc.metadata["publisher"] == "Korea JoongAng Daily"
    assert doc.metadata["published"] == "01 Jun. 2023, 16:45"
    assert doc.date == "01 Jun. 2023, 16:45"
    for field in doc.metadata_fields:  # every metadata line is citable by offsets
        assert doc.text[field.start : field.end] == f"{field.key}: {field.value}"
    assert doc.text[doc.body_start :].startswith("President Yoon calls for faster efforts")
    assert "To write comments" not in doc.text and "Standards Board Policy" not in doc.text


def test_content_hash_is_stable_and_tracks_content(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Alpha beta.\n", encoding="utf-8")
    first = load_document(path).content_hash
    assert load_document(path).content_hash == first
    path.write_text("Alpha gamma.\n", encoding="utf-8")
    assert load_document(path).content_hash != first


def test_site_boilerplate_is_removed(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(
        "Headline\n\nThe plan was announced on Thursday.\n\n"
        "To write comments, please log in to one of the accounts.\n\nStandards Board Policy (0/250자)\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.text == "Headline\n\nThe plan was announced on Thursday.\n"


def test_normalisation_of_whitespace_and_unicode():
    raw = "Cafe\u0301\u00a0 and\ttabs\r\nline\u200b two\r\n\r\n\r\n\r\nend  "
    assert normalise_text(raw) == "Café and tabs\nline two\n\nend\n"


def test_html_visible_text_only():
    text, title = html_to_text(
        "<html><head><title>Council &amp; bikes</title><style>p{color:red}</style></head>"
        "<body><nav>Home | News</nav><script>var x = 'secret';</script>"
        "<p>The council voted <b>5-2</b>.</p><p>It was late.</p></body></html>"
    )
    assert title == "Council & bikes"
    assert "secret" not in text and "color" not in text
    assert "The council voted 5-2." in text and "It was late." in text


def test_fixture_html_document(tmp_path):
    doc = load_document(ROOT / "tests" / "fixtures" / "docs" / "city-council.html")
    assert "<" not in doc.text and "function" not in doc.text
    assert "Log in to comment" not in doc.text  # footer comment box is site chrome


def test_bad_files_are_reported_and_others_still_load(tmp_path):
    (tmp_path / "good.md").write_text("# Good\n\nThis one is fine.\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF-1.4")
    result = load_corpus(tmp_path)
    assert list(result.documents) == ["good.md"]
    reasons = {Path(e.path).name: e.reason for e in result.errors}
    assert set(reasons) == {"latin1.txt", "empty.txt"}
    assert "UTF-8" in reasons["latin1.txt"]
    assert "no text" in reasons["empty.txt"]


def test_unreadable_path_names_the_file(tmp_path):
    with pytest.raises(DocumentError) as err:
        load_document(tmp_path)  # a folder cannot be read as a file
    assert str(tmp_path) in str(err.value)
    with pytest.raises(DocumentError, match="missing.txt"):
        load_document(tmp_path / "missing.txt")


def test_missing_corpus_folder(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")


def test_document_ids_are_relative_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.txt").write_text("Some text here.\n", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.txt").write_text("Hidden text.\n", encoding="utf-8")
    assert list(load_corpus(tmp_path).documents) == ["sub/x.txt"]
