"""`rag add` with files it must refuse: each gets a one-line error naming the file, and nothing is left behind.

Refused before the model loads (fast): a symlink, a FIFO, /dev/zero, a folder, a file over
`Settings.max_document_bytes`, an unsupported extension, text under a `.pdf` name, binary content under a
`.txt` name, a hidden name, a missing file, a name already in the corpus with other content, two files of
one name. The slow tests at the end use the real model: a documented `--replace`, an identical re-add,
and that `rag add` and `rag index` agree on which files are documents.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Settings
from rag.cli import main
from rag.corpus import corpus_files, load_corpus
from rag.errors import DocumentError
from rag.intake import check_file_type

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DOCS = ROOT / "tests" / "fixtures" / "docs"
ORCHARD = "The orchard grows 40 kinds of apple.\n"


@pytest.fixture
def place(tmp_path):
    """A corpus of two fixture documents, an index folder (not yet built) and a folder for files to add."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("lighthouse.md", "volcano.md"):
        shutil.copy(FIXTURE_DOCS / name, corpus / name)
    src = tmp_path / "src"
    src.mkdir()
    return corpus, tmp_path / "index", src


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) with its bytes: "nothing left behind" is equality."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def add(place, *paths, extra=(), capsys=None) -> tuple[int, str]:
    corpus, index, _ = place
    code = main(["--corpus", str(corpus), "--index", str(index), *extra, "add", *map(str, paths)])
    err = capsys.readouterr().err.strip() if capsys else ""
    return code, err


def refused(place, capsys, path, message, extra=()) -> None:
    corpus, index, _ = place
    before = snapshot(corpus)
    code, err = add(place, path, extra=extra, capsys=capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rag: error: {path}: "), err
    assert message in lines[0], err
    assert "Traceback" not in err
    assert snapshot(corpus) == before  # nothing copied, no temporary file
    assert not index.exists()  # refused before the index (or the model) was touched


def test_symlink_is_refused(place, capsys):
    _, _, src = place
    real = src / "real.md"
    real.write_text(ORCHARD)
    link = src / "link.md"
    link.symlink_to(real)
    refused(place, capsys, link, "is a symbolic link (to ")


def test_directory_is_refused(place, capsys):
    _, _, src = place
    folder = src / "folder.md"
    folder.mkdir()
    refused(place, capsys, folder, "is a folder; add the files inside it")


def test_file_over_the_size_limit_is_refused(place, capsys, tmp_path):
    _, _, src = place
    big = src / "big.txt"
    with open(big, "wb") as fh:  # sparse: 10 MB + 1 byte without writing them
        fh.truncate(Settings().max_document_bytes + 1)
    refused(place, capsys, big, "is 10.0 MB, over the 10 MB limit for one document (Settings.max_document_bytes)")
    small_limit = tmp_path / "settings.json"
    small_limit.write_text('{"max_document_bytes": 1000}')
    text = src / "long.txt"
    text.write_text("A sentence about apples. " * 80)
    refused(place, capsys, text, "over the 0.001 MB limit", extra=("--settings", str(small_limit)))


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.pdf", ORCHARD.encode(), "unsupported file type '.pdf': only .txt, .md"),  # the case
        ("notes", ORCHARD.encode(), "unsupported file without an extension"),
        ("scan.txt", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x00<< /Type /Catalog >>", "is a binary file"),
        ("latin1.md", "Caf\xe9 cr\xe8me\n".encode("latin-1"), "not valid UTF-8 (byte 3)"),
        ("empty.md", b"\n\n  \n", "file has no text"),
        (".hidden.md", ORCHARD.encode(), "is a hidden file"),
    ],
)
def test_content_the_corpus_would_not_read_is_refused(place, capsys, name, content, message):
    _, _, src = place
    (src / name).write_bytes(content)
    refused(place, capsys, src / name, message)


def test_missing_file_is_refused(place, capsys):
    _, _, src = place
    refused(place, capsys, src / "nowhere.md", "cannot read file (No such file or directory)")


def test_name_of_another_corpus_document_is_refused_without_replace(place, capsys):
    _, _, src = place
    (src / "lighthouse.md").write_text("# Another lighthouse\n\nIt is painted red.\n")
    refused(place, capsys, src / "lighthouse.md", "a different document named lighthouse.md is already in the corpus")
    _, err = add(place, src / "lighthouse.md")
    assert "use `rag add --replace` to overwrite it" in capsys.readouterr().err


def test_two_files_with_one_name_are_refused(place, capsys, tmp_path):
    corpus, _, src = place
    (src / "orchard.txt").write_text(ORCHARD)
    other = tmp_path / "other"
    other.mkdir()
    (other / "orchard.txt").write_text("Another orchard.\n")
    before = snapshot(corpus)
    code, err = add(place, src / "orchard.txt", other / "orchard.txt", capsys=capsys)
    assert code == 2 and f"{other / 'orchard.txt'}: has the same name as {src / 'orchard.txt'}" in err
    assert snapshot(corpus) == before


def _special_file_refused(place, path: Path, message: str) -> None:
    """A real `rag add` process: it must neither hang (a FIFO, /dev/zero) nor copy anything."""
    corpus, index, _ = place
    before = snapshot(corpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rag", "--corpus", str(corpus), "--index", str(index), "add", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,  # opening a FIFO for reading would block here
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"rag: error: {path}: {message}"
    assert snapshot(corpus) == before and not index.exists()


def test_fifo_is_refused_without_blocking(place):
    _, _, src = place
    fifo = src / "pipe.md"
    os.mkfifo(fifo)
    _special_file_refused(place, fifo, "is a named pipe (FIFO), not a regular file")


def test_dev_zero_is_refused_without_reading_it(place):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    _special_file_refused(place, Path("/dev/zero"), "is a character device, not a regular file")


def test_add_and_index_agree_on_what_is_a_document(tmp_path):
    """Each name is either accepted by `rag add` and read by a folder load, or refused by both."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = ["a.txt", "b.md", "c.MD", "d.markdown", "e.html", "f.htm", "g.pdf", "h.docx", "i", "j.txt.bak", ".k.md"]
    for name in names:
        (corpus / name).write_text("Some text about apples.\n")
    settings = Settings()
    read = {p.name for p in corpus_files(corpus, settings)}
    for name in names:
        try:
            check_file_type(corpus / name, settings)
            accepted = True
        except DocumentError:
            accepted = False
        assert accepted == (name in read), name
    # content checks are shared too: what `rag add` refuses, a folder load skips with the same reason
    (corpus / "bad.txt").write_bytes(b"binary\x00data")
    loaded = load_corpus(corpus, settings)
    assert [e.reason for e in loaded.errors] == ["is a binary file (it holds NUL bytes), not text"]


@pytest.mark.parametrize("value", [0, -5, True, "10MB", 2.5])
def test_max_document_bytes_is_validated(value):
    with pytest.raises(ValueError, match="max_document_bytes"):
        Settings(max_document_bytes=value)


# ---- with the real model (slow) ------------------------------------------------------------------------
@pytest.fixture
def built(place, embedder):
    from rag import Assistant

    corpus, index, _ = place
    return Assistant.load(corpus_dir=corpus, index_dir=index, embedder=embedder)


def test_replace_is_documented_and_replaces(place, built):
    corpus, index, src = place
    new = src / "lighthouse.md"
    new.write_text("# The Red Lighthouse\n\nThe red lighthouse was painted in 1990 by the harbour board.\n")
    with pytest.raises(DocumentError, match="--replace"):
        built.add_documents([new])
    assert built.add_documents([new], replace=True) == ["lighthouse.md"]
    assert (corpus / "lighthouse.md").read_bytes() == new.read_bytes()
    answer = built.ask("When was the red lighthouse painted?")
    assert answer.answered and "1990" in answer.citations[0].quote
    from rag import Assistant

    again = Assistant.load(corpus_dir=corpus, index_dir=index, embedder=built.embedder)
    assert again.build_info["action"] == "loaded"  # corpus and index agree after the replace
    assert not [p for p in corpus.iterdir() if p.name.startswith(".")]


def test_identical_re_add_and_add_of_a_corpus_file_are_accepted(place, built):
    corpus, index, src = place
    shutil.copy(corpus / "volcano.md", src / "volcano.md")
    before = snapshot(corpus)
    assert built.add_documents([src / "volcano.md"]) == ["volcano.md"]
    (corpus / "notes").mkdir()
    (corpus / "notes" / "orchard.txt").write_text(ORCHARD)
    assert built.add_documents([corpus / "notes" / "orchard.txt"]) == ["notes/orchard.txt"]  # its corpus id
    assert snapshot(corpus) == {**before, "notes/orchard.txt": ORCHARD.encode()}
    from rag import Assistant

    again = Assistant.load(corpus_dir=corpus, index_dir=index, embedder=built.embedder)
    assert again.build_info["action"] == "loaded" and set(again.documents) == set(built.documents)


def test_text_named_pdf_leaves_no_orphan_for_the_next_index(place, built, capsys):
    """The issue's case, end to end: refused by `rag add`, so the next `rag index` has nothing to drop."""
    corpus, index, src = place
    (src / "notes.pdf").write_text(ORCHARD)
    with pytest.raises(DocumentError, match="unsupported file type '.pdf'"):
        built.add_documents([src / "notes.pdf"])
    assert not (corpus / "notes.pdf").exists()
    from rag import Assistant

    again = Assistant.load(corpus_dir=corpus, index_dir=index, embedder=built.embedder)
    assert again.build_info["action"] == "loaded" and "notes.pdf" not in again.documents


def test_what_rag_add_says_names_added_and_unchanged_files_apart():
    from rag.cli import describe_addition

    assert describe_addition(["a.md"], []) == "added 1 document(s): a.md"
    assert describe_addition([], ["a.md"]) == "a.md: already in the corpus, unchanged"
    both = describe_addition(["b.md"], ["a.md"])
    assert both == "added 1 document(s): b.md; already in the corpus, unchanged: a.md"


def test_re_adding_an_identical_file_says_it_was_already_there(place, built, capsys):
    """Nothing changes, and neither the API nor `rag add` claims it added anything."""
    corpus, index, src = place
    shutil.copy(corpus / "volcano.md", src / "volcano.md")
    before = snapshot(corpus), snapshot(index)
    assert built.add_documents([src / "volcano.md"]) == ["volcano.md"]
    assert built.build_info == {"action": "unchanged", "added": [], "unchanged": ["volcano.md"]}
    assert (snapshot(corpus), snapshot(index)) == before  # no copy, no index write
    (src / "orchard.txt").write_text(ORCHARD)
    assert built.add_documents([src / "volcano.md", src / "orchard.txt"]) == ["volcano.md", "orchard.txt"]
    assert (built.build_info["added"], built.build_info["unchanged"]) == (["orchard.txt"], ["volcano.md"])
    capsys.readouterr()
    code, _ = add(place, src / "volcano.md")
    out = capsys.readouterr().out
    assert code == 0 and out.strip() == "volcano.md: already in the corpus, unchanged", out
    assert "added" not in out
