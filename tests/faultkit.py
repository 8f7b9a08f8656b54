"""Helpers for the fault tests (tests/test_faults*.py): a small corpus, real `rag` processes, proofs of no loss.

Each test works in its own folder: a corpus of two fixture documents, an index folder whose `onnx/` holds
hard links to the session's verified ONNX exports (so no process re-exports the models), and `src/` for a
file to add. The question about the old corpus and the one about the added document have known answers.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DOCS = ROOT / "tests" / "fixtures" / "docs"
OLD_DOCS = ("lighthouse.md", "volcano.md")
NEW_DOC = "orchard.txt"
NEW_TEXT = "The Hollow Lane orchard grows 40 kinds of apple, most of them russets.\n"
Q_OLD, A_OLD = "How tall is the tower?", "31.5 m"
Q_NEW, A_NEW = "How many kinds of apple does the Hollow Lane orchard grow?", "40 kinds"


@dataclass
class Place:
    root: Path
    corpus: Path
    index: Path
    src: Path

    @property
    def pause(self) -> Path:
        return self.root / "paused"


def make_place(root: Path, onnx_template: Path) -> Place:
    """A fresh corpus (two documents), an index folder with the ONNX exports linked in, and src/orchard.txt."""
    place = Place(root, root / "corpus", root / "index", root / "src")
    place.corpus.mkdir(parents=True)
    for name in OLD_DOCS:
        shutil.copy(FIXTURE_DOCS / name, place.corpus / name)
    place.src.mkdir()
    (place.src / NEW_DOC).write_text(NEW_TEXT)
    seed_onnx(place.index, onnx_template)
    return place


def clone_place(template: Place, root: Path, onnx_template: Path) -> Place:
    """A private copy of a built place (corpus, src, live build and CURRENT): no model work per test."""
    place = Place(root, root / "corpus", root / "index", root / "src")
    shutil.copytree(template.corpus, place.corpus)
    shutil.copytree(template.src, place.src)
    place.index.mkdir()
    live = (template.index / "CURRENT").read_text().strip()
    shutil.copytree(template.index / live, place.index / live)
    shutil.copy(template.index / "CURRENT", place.index / "CURRENT")
    seed_onnx(place.index, onnx_template)
    return place


def seed_onnx(index: Path, template: Path) -> None:
    """Hard-link the verified ONNX exports into `index/onnx` (copies if linking fails): no re-export."""
    target = index / "onnx"
    target.mkdir(parents=True, exist_ok=True)
    for file in template.iterdir():
        if file.is_file() and not file.name.startswith("."):
            try:
                os.link(file, target / file.name)
            except OSError:
                shutil.copy2(file, target / file.name)


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**base, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1", **extra}


def rag_argv(place: Place, *args: str) -> list[str]:
    return [sys.executable, "-m", "rag", "--corpus", str(place.corpus), "--index", str(place.index), *args]


def start(place: Place, *args: str, pause_at: str | None = None, tag: str = "rag") -> subprocess.Popen:
    """A real `rag` process, output to files under place.root; with `pause_at`, it stops at that point."""
    extra = {"RAG_PAUSE_AT": pause_at, "RAG_PAUSE_FILE": str(place.root / f"{tag}.paused")} if pause_at else {}
    out = open(place.root / f"{tag}.out", "wb")  # noqa: SIM115 - closed by the child's exit
    err = open(place.root / f"{tag}.err", "wb")  # noqa: SIM115
    try:
        return subprocess.Popen(rag_argv(place, *args), stdout=out, stderr=err, env=env(**extra), cwd=place.root)
    finally:
        out.close()
        err.close()


def output(place: Place, tag: str = "rag") -> tuple[str, str]:
    return (place.root / f"{tag}.out").read_text(), (place.root / f"{tag}.err").read_text()


def wait_paused(proc: subprocess.Popen, place: Place, tag: str = "rag", timeout: float = 180) -> None:
    """Until the process reports it is paused at its point (fails if it exits first)."""
    flag = place.root / f"{tag}.paused"
    deadline = time.monotonic() + timeout
    while not (flag.exists() and flag.read_text().strip() == str(proc.pid)):
        if proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}) before pausing: {output(place, tag)}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"process never reached its pause point: {output(place, tag)}")
        time.sleep(0.05)


def resume(place: Place, tag: str = "rag") -> None:
    (place.root / f"{tag}.paused").unlink()


def sigkill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def run_limited(place: Place, max_file_bytes: int, *args: str) -> subprocess.CompletedProcess:
    """`rag …` with RLIMIT_FSIZE: a write past `max_file_bytes` fails with EFBIG, as on a full disk.

    SIGXFSZ is ignored (its default action kills the process), so the write raises OSError instead.
    Output goes to pipes, which the limit does not cover.
    """

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        rag_argv(place, *args), capture_output=True, text=True, env=env(), cwd=place.root, preexec_fn=limit, timeout=300
    )


def leftovers(place: Place) -> list[str]:
    """Half-written things: unpublished build folders without a manifest, pointer temp files, corpus temp copies."""
    found = [p.name for p in place.index.glob("build-*") if not (p / "manifest.json").exists()]
    found += [p.name for p in place.index.glob("CURRENT.tmp-*")]
    found += [p.name for p in place.corpus.iterdir() if p.name.startswith(".")]
    return found


def visible_corpus(place: Place) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in place.corpus.iterdir() if not p.name.startswith(".")}


def old_corpus() -> dict[str, bytes]:
    return {name: (FIXTURE_DOCS / name).read_bytes() for name in OLD_DOCS}


def live_documents(place: Place) -> set[str]:
    """The documents of the live build, after verifying every file of it (sizes and sha256)."""
    from rag import Settings
    from rag.corpus import load_corpus
    from rag.store import load_store

    store = load_store(place.index, load_corpus(place.corpus).documents, Settings())
    return set(store.entries)


def load(place: Place, embedder):
    from rag import Assistant

    return Assistant.load(corpus_dir=place.corpus, index_dir=place.index, embedder=embedder)


def build_only(place: Place, embedder) -> dict:
    """Build the index without the answer model (the index does not depend on it): setup, not the subject."""
    from rag import Assistant, Settings

    settings = Settings(answer_model=None)
    assistant = Assistant.load(place.corpus, place.index, settings=settings, embedder=embedder, warm=False)
    return assistant.build_info


def assert_answers(assistant, with_new: bool) -> None:
    """The old question keeps its answer; the new document answers its question exactly when it is in."""
    old = assistant.ask(Q_OLD)
    assert old.answered and A_OLD in old.citations[0].quote
    new = assistant.ask(Q_NEW)
    if with_new:
        assert new.answered and A_NEW in new.citations[0].quote and new.citations[0].doc_id == NEW_DOC
    else:
        assert NEW_DOC not in {c.doc_id for c in new.citations + new.related}


# ---- fixtures both fault modules use (imported there, so each module gets its own template) ----
@pytest.fixture(scope="module")
def onnx_template(corpus_assistant):
    """The session's verified ONNX exports (made once by the shared assistant), linked into each index."""
    return corpus_assistant.index_dir / "onnx"


@pytest.fixture(scope="module")
def template(tmp_path_factory, onnx_template, embedder):
    """Two documents, indexed once per module; src/orchard.txt ready to add."""
    place = make_place(tmp_path_factory.mktemp("template"), onnx_template)
    assert build_only(place, embedder)["action"] == "built"
    return place


@pytest.fixture
def place(tmp_path, template, onnx_template):
    """A private copy of the template: each test damages or kills its own."""
    return clone_place(template, tmp_path / "place", onnx_template)
