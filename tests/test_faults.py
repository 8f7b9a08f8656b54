"""Faults, each as: the injected fault → what the user sees → proof that nothing was lost.

SIGKILL of real `rag index` / `rag add` processes stopped at named points (rag/faultpoints.py), and two
processes building one index folder at once. Disk full and damaged index files: tests/test_faults_disk.py.
"""

from __future__ import annotations

import os
import time

import pytest
from faultkit import (
    A_NEW,
    NEW_DOC,
    NEW_TEXT,
    OLD_DOCS,
    Q_NEW,
    assert_answers,
    leftovers,
    live_documents,
    load,
    old_corpus,
    output,
    resume,
    sigkill,
    start,
    visible_corpus,
    wait_paused,
)

OLD = set(OLD_DOCS)
NEW = OLD | {NEW_DOC}


# point → which index is live right after the kill
INDEX_KILLS = {
    "before-embedding": OLD,
    "during-embedding": OLD,
    "after-embedding": OLD,
    "save:writing": OLD,
    "save:before-publish": OLD,
    "save:after-publish": NEW,
}


@pytest.mark.parametrize("point", INDEX_KILLS)
def test_sigkill_of_rag_index(place, embedder, point):
    (place.corpus / NEW_DOC).write_text(NEW_TEXT)  # the user added a file, then runs `rag index`
    proc = start(place, "index", pause_at=point)
    wait_paused(proc, place)
    sigkill(proc)
    # the user sees: the command died without a result line
    assert output(place)[0] == ""
    # nothing lost: the live index is complete (every file's size and sha256 verified) and is the old one
    # or the new one as a whole, never a mix
    assert live_documents(place) == INDEX_KILLS[point]
    assert visible_corpus(place) == {**old_corpus(), NEW_DOC: NEW_TEXT.encode()}
    # the next load answers from the corpus as it is (rebuilding if the old index is live) ...
    assistant = load(place, embedder)
    assert assistant.build_info["action"] == ("built" if INDEX_KILLS[point] == OLD else "loaded")
    assert_answers(assistant, with_new=True)
    # ... and leaves nothing half-written behind
    assert leftovers(place) == []
    assert live_documents(place) == NEW


# point → which index is live right after the kill (the corpus never shows the file until the very end)
ADD_KILLS = {
    "before-embedding": OLD,
    "during-embedding": OLD,
    "after-embedding": OLD,
    "save:writing": OLD,
    "save:before-publish": OLD,
    "save:after-publish": NEW,  # index saved; the copy not yet renamed into the corpus
    "add:during-copy": OLD,  # half the bytes in a hidden temporary file
}


@pytest.mark.parametrize("point", ADD_KILLS)
def test_sigkill_of_rag_add(place, embedder, point):
    proc = start(place, "add", str(place.src / NEW_DOC), pause_at=point)
    wait_paused(proc, place)
    sigkill(proc)
    assert "added" not in output(place)[0]  # the user never saw "added 1 document(s)"
    # nothing lost, nothing half-added: the corpus shows exactly its old files (any partial copy is hidden,
    # so no loader reads it) and the live index verifies and is the old or the new one
    assert visible_corpus(place) == old_corpus()
    assert live_documents(place) == ADD_KILLS[point]
    # the next load answers from the corpus: an index that got ahead of it is rebuilt, not trusted
    assistant = load(place, embedder)
    assert assistant.build_info["action"] == ("loaded" if ADD_KILLS[point] == OLD else "built")
    assert_answers(assistant, with_new=False)
    # running `rag add` again succeeds, sweeps what the killed one left, and the document is in
    assert assistant.add_documents([place.src / NEW_DOC]) == [NEW_DOC]
    assert leftovers(place) == []
    assert visible_corpus(place) == {**old_corpus(), NEW_DOC: NEW_TEXT.encode()}
    assert_answers(load(place, embedder), with_new=True)


def test_second_builder_waits_for_the_first(place, embedder):
    """Two `rag index --rebuild` on one folder: the second waits on the lock (and says so), never interleaves."""
    (place.corpus / NEW_DOC).write_text(NEW_TEXT)
    first = start(place, "index", "--rebuild", pause_at="save:before-publish", tag="first")
    wait_paused(first, place, tag="first")  # holds the lock, build written, not yet published
    second = start(place, "index", "--rebuild", tag="second")
    deadline_checks = 0
    while "waiting for another process" not in output(place, "second")[1]:
        assert second.poll() is None, output(place, "second")
        deadline_checks += 1
        assert deadline_checks < 1200, "the second build never waited"
        time.sleep(0.05)
    assert f"(pid {first.pid})" in output(place, "second")[1]  # the user sees who holds the folder
    assert second.poll() is None
    resume(place, tag="first")
    assert first.wait(timeout=120) == 0 and second.wait(timeout=180) == 0, (
        output(place, "first"),
        output(place, "second"),
    )
    for tag in ("first", "second"):
        assert output(place, tag)[0].startswith("built index"), output(place, tag)
    builds = sorted(p.name for p in place.index.glob("build-*"))
    assert len(builds) == 1 and (place.index / "CURRENT").read_text().strip() == builds[0]  # the second's
    assert live_documents(place) == NEW and leftovers(place) == []
    assert_answers(load(place, embedder), with_new=True)


def test_reader_that_waited_uses_the_index_just_built(place, embedder):
    """`rag ask` started during `rag index` (as `rag serve` might be): it waits, then loads that build, not a third."""
    (place.corpus / NEW_DOC).write_text(NEW_TEXT)
    live = (place.index / "CURRENT").read_text().strip()
    builder = start(place, "index", pause_at="save:before-publish", tag="builder")
    wait_paused(builder, place, tag="builder")
    (built,) = [p.name for p in place.index.glob("build-*") if p.name != live]  # complete, not yet published
    asker = start(place, "ask", Q_NEW, tag="asker")
    for _ in range(2400):
        if "waiting for another process" in output(place, "asker")[1] or asker.poll() is not None:
            break
        time.sleep(0.05)
    assert asker.poll() is None, output(place, "asker")
    resume(place, tag="builder")
    assert builder.wait(timeout=120) == 0 and asker.wait(timeout=180) == 0, output(place, "asker")
    assert A_NEW in output(place, "asker")[0]
    assert (place.index / "CURRENT").read_text().strip() == built  # the reader built nothing of its own
    assert live_documents(place) == NEW and leftovers(place) == []


def test_two_builders_at_once_leave_one_good_index(place, embedder):
    """No pause points: two real processes started together (as two terminals would): one good index after."""
    (place.corpus / NEW_DOC).write_text(NEW_TEXT)
    procs = [start(place, "index", "--rebuild", tag=f"b{i}") for i in range(2)]
    codes = [p.wait(timeout=300) for p in procs]
    assert codes == [0, 0], [output(place, f"b{i}") for i in range(2)]
    assert live_documents(place) == NEW and leftovers(place) == []
    assert len(list(place.index.glob("build-*"))) == 1
    assistant = load(place, embedder)
    assert assistant.build_info["action"] == "loaded"
    assert_answers(assistant, with_new=True)


def test_lock_wait_times_out_with_a_clear_error(tmp_path):
    """A writer that never finishes: the next one gives up after its timeout, naming the holder (fast, no model)."""
    from rag.errors import IndexStoreError
    from rag.locking import index_lock

    with index_lock(tmp_path) as first:
        assert first.held and not first.waited
        message = rf"another process \(pid {os.getpid()}\) has been writing the index in {tmp_path} for over 0 s"
        with pytest.raises(IndexStoreError, match=message), index_lock(tmp_path, timeout=0.2):
            pass
    with index_lock(tmp_path) as again:  # released on close, like on the holder's death
        assert again.held and not again.waited
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the index folder should be")
    with index_lock(blocker / "index") as none:  # no lock possible: carry on, the save reports its own error
        assert not none.held
