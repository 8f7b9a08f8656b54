"""Faults, each as: the injected fault → what the user sees → proof that nothing was lost.

Disk full (RLIMIT_FSIZE in real subprocesses: a write past the limit fails with EFBIG, as on a full disk)
while saving the index or a feedback line, and damaged files in index/ (truncated, flipped, non-UTF-8,
valid JSON of the wrong shape), CURRENT included. Killed processes and concurrent builders: test_faults.py.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import numpy as np
import pytest
from faultkit import (
    A_NEW,
    A_OLD,
    NEW_DOC,
    NEW_TEXT,
    OLD_DOCS,
    Q_OLD,
    assert_answers,
    env,
    leftovers,
    live_documents,
    load,
    rag_argv,
    run_limited,
)

from rag import Assistant, Settings
from rag.corpus import load_corpus
from rag.store import current_build, load_store

OLD = set(OLD_DOCS)


def snapshot(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def index_files(place) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(place.index).items() if not k.startswith("onnx/") and k != ".lock"}


# ---- disk full -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "limit, failure",
    [
        (2_000, "writing chunks.json failed: File too large"),
        (40_000, r"writing sentence_vectors.npy failed: \d+ requested and \d+ written, out of disk space\?"),
    ],
    ids=["at-chunks-json", "at-sentence-vectors"],
)
def test_disk_full_while_rag_index_saves(place, embedder, limit, failure):
    (place.corpus / NEW_DOC).write_text(NEW_TEXT)
    before = index_files(place)
    done = run_limited(place, limit, "index")
    # the user sees: exit 2 and one clear error naming the folder and the cause, no traceback, no "built" line
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    expected = f"rag: error: cannot save the index to {re.escape(str(place.index))} \\({failure}\\); "
    assert re.fullmatch(expected + "the previous index is unchanged", last), last
    # nothing lost: the previous index is byte for byte what it was, and nothing half-written is left
    assert index_files(place) == before and leftovers(place) == []
    assert live_documents(place) == OLD
    assert_answers(load(place, embedder), with_new=True)  # once there is room, the next load builds and saves


def test_disk_full_during_rag_add_changes_nothing(place):
    corpus_before, index_before = snapshot(place.corpus), index_files(place)
    done = run_limited(place, 2_000, "add", str(place.src / NEW_DOC))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"rag: error: cannot save the index to {place.index}")
    assert "added" not in done.stdout
    assert snapshot(place.corpus) == corpus_before  # no copy, no temporary file
    assert index_files(place) == index_before and live_documents(place) == OLD


def test_disk_full_rag_ask_still_answers(place):
    (place.corpus / NEW_DOC).write_text(NEW_TEXT)  # stale index: the ask must build, and cannot save
    before = index_files(place)
    done = run_limited(place, 2_000, "ask", "How many kinds of apple does the Hollow Lane orchard grow?")
    assert done.returncode == 0, done.stderr
    assert A_NEW in done.stdout and f"{NEW_DOC}#char=" in done.stdout  # answered from the index in memory
    assert f"rag: index built but not saved to {place.index}" in done.stderr and "File too large" in done.stderr
    assert index_files(place) == before and leftovers(place) == []


FEEDBACK_SCRIPT = r"""
import json, resource, signal, sys
from pathlib import Path
from rag import Assistant
from rag.ui.feedback import FeedbackLog, make_record

corpus, index, path, question = sys.argv[1:5]
assistant = Assistant.load(corpus_dir=corpus, index_dir=index)
log = FeedbackLog(path)
answer = assistant.ask(question).to_dict()
for _ in range(3):
    log.append(make_record(question, [], answer, "up"))
size = Path(path).stat().st_size
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, hard))  # room for 100 bytes: less than one line
errors = []
for vote in ("down", "up"):
    try:
        log.append(make_record(question, [], answer, vote))
    except OSError as exc:
        errors.append(str(exc))
after_failure = Path(path).read_text()
still = assistant.ask(question)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
log.append(make_record(question, [], answer, "down"))
print(json.dumps({"errors": errors, "after_failure": after_failure, "still_answered": still.answered,
                  "still_quote": still.citations[0].quote if still.citations else "",
                  "final": Path(path).read_text()}))
"""


def test_disk_full_while_writing_a_feedback_line(place, tmp_path):
    path = tmp_path / "feedback.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", FEEDBACK_SCRIPT, str(place.corpus), str(place.index), str(path), Q_OLD],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # what the caller sees (the web chat turns it into "Your vote could not be saved …"): a clear OSError
    assert result["errors"] == [f"[Errno 27] feedback not saved to {path}: File too large"] * 2
    # nothing lost, nothing half-written: the partial line the kernel accepted was cut back off
    lines = result["after_failure"].splitlines(keepends=True)
    assert len(lines) == 3 and all(line.endswith("\n") for line in lines)
    assert [json.loads(line)["vote"] for line in lines] == ["up"] * 3
    assert result["still_answered"] and A_OLD in result["still_quote"]  # the chat goes on answering
    final = [json.loads(line) for line in result["final"].splitlines()]
    assert [r["vote"] for r in final] == ["up", "up", "up", "down"]  # writing resumes once there is space


# ---- damaged index files --------------------------------------------------------------------------------
def _garbage(data: bytes) -> bytes:
    return b"\xff\xfe\x00\x80" * 16 + data[64:]  # same size, not UTF-8, no valid header


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def _wrong_shape(data: bytes) -> bytes:
    text = b'{"x": [1, 2, 3]}'
    return text + b" " * (len(data) - len(text))  # valid JSON, same size, not what the file should hold


DAMAGE = {
    "truncate": lambda data: data[: len(data) // 2],
    "garbage": _garbage,
    "flip": _flip,
    "wrong-shape": _wrong_shape,
    "empty": lambda data: b"",
}
CASES = [
    ("CURRENT", "garbage", True),  # the case: used to fail with a bare "'utf-8' codec can't decode"
    ("CURRENT", "truncate", True),
    ("CURRENT", "empty", True),
    ("manifest.json", "garbage", True),
    ("manifest.json", "truncate", True),
    ("manifest.json", "wrong-shape", True),
    ("chunks.json", "flip", True),
    ("chunk_vectors.npy", "truncate", True),
    ("sentence_vectors.npy", "flip", True),
    ("dense.faiss", "garbage", True),
    # with Settings.verify_checksums=False the files are parsed as they are: the parse errors must name them
    ("chunks.json", "wrong-shape", False),
    ("chunk_vectors.npy", "garbage", False),
    ("dense.faiss", "garbage", False),
]


@pytest.mark.parametrize(
    "name, damage, checksums", CASES, ids=[f"{n}-{d}-{'sha' if c else 'nosha'}" for n, d, c in CASES]
)
def test_damaged_index_file_is_named_and_rebuilt(place, embedder, caplog, name, damage, checksums):
    settings = Settings(answer_model=None, verify_checksums=checksums)
    good = load_store(place.index, load_corpus(place.corpus).documents, settings)
    path = place.index / name if name == "CURRENT" else current_build(place.index) / name
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="rag"):
        again = Assistant.load(place.corpus, place.index, settings=settings, embedder=embedder, warm=False)
    # the user sees one warning naming the damaged file, and the command carries on
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("index unusable, rebuilding: ")
    assert str(path) in warnings[0], warnings[0]
    # nothing lost: the rebuilt index holds the same documents, chunks and (re-embedded) vectors
    assert again.build_info["action"] == "built"
    assert [c.chunk_id for c in again.store.chunks] == [c.chunk_id for c in good.chunks]
    assert [c.text for c in again.store.chunks] == [c.text for c in good.chunks]
    np.testing.assert_allclose(again.store.chunk_vectors, good.chunk_vectors, atol=1e-5)
    np.testing.assert_allclose(again.store.sentence_vectors, good.sentence_vectors, atol=1e-5)
    assert live_documents(place) == OLD and leftovers(place) == []
    assert (
        Assistant.load(place.corpus, place.index, settings=settings, embedder=embedder, warm=False).build_info["action"]
        == "loaded"
    )


def test_rag_ask_with_non_utf8_current_names_it_and_answers(place):
    """The issue's report, as the user ran it: `rag ask` with 0xff bytes in index/CURRENT."""
    (place.index / "CURRENT").write_bytes(b"\xff\xfebuild-\x80\n")
    done = subprocess.run(
        rag_argv(place, "ask", Q_OLD), capture_output=True, text=True, env=env(), timeout=300, cwd=place.root
    )
    assert done.returncode == 0, done.stderr
    assert A_OLD in done.stdout
    assert done.stderr.strip() == (
        f"rag: index unusable, rebuilding: {place.index / 'CURRENT'} is unreadable or not UTF-8 "
        "('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)"
    )
    assert live_documents(place) == OLD and leftovers(place) == []
