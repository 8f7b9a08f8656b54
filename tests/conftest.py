"""Shared pytest fixtures."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a source checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

# the fault tests' fixtures (a template index per module, a private copy per test): tests/faultkit.py
pytest_plugins = ("faultkit",)


# ===== web chat (ui/) section: fixtures used by tests/test_ui_*.py — generic, safe to reuse =====
def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def corpus_assistant(tmp_path_factory):
    """One real Assistant over the repository's corpus/ for the whole session (model loads once).

    The index goes to a temporary folder so tests never touch ./index.
    """
    from rag import Assistant

    return Assistant.load(corpus_dir=ROOT / "corpus", index_dir=tmp_path_factory.mktemp("corpus_index"))


@pytest.fixture(scope="module")
def chat_server(corpus_assistant, tmp_path_factory):
    """The web chat (ui.app) served on 127.0.0.1:<free port> for one test module, stopped afterwards.

    Yields a namespace: url, demo, assistant, feedback_path, examples.
    """
    from types import SimpleNamespace

    from ui.app import build_app, launch, limit_torch_threads

    previous_threads = limit_torch_threads()  # as `rag serve` runs it
    feedback_path = tmp_path_factory.mktemp("chat_feedback") / "feedback.jsonl"
    demo = build_app(corpus_assistant, feedback_path)
    try:
        _, url, _ = launch(demo, "127.0.0.1", find_free_port(), prevent_thread_lock=True, quiet=True)
        yield SimpleNamespace(
            url=url, demo=demo, assistant=corpus_assistant, feedback_path=feedback_path, examples=demo.rag_examples
        )
    finally:
        demo.close()
        if previous_threads:
            limit_torch_threads(previous_threads)


# ===== end of web chat (ui/) section =====


# ===== engine (rag/) section: fixtures used by tests/test_corpus.py, test_store.py, test_assistant.py =====
FIXTURE_DOCS = ROOT / "tests" / "fixtures" / "docs"


@pytest.fixture(scope="session")
def embedder(corpus_assistant):
    """The one loaded embedding model, shared by every Assistant a test builds."""
    return corpus_assistant.embedder


@pytest.fixture
def fixture_corpus(tmp_path):
    """A private, writable copy of the fixture documents."""
    import shutil

    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_DOCS, target)
    return target


# ===== end of engine (rag/) section =====


# ===== speed classes: `pytest -m "not slow"` is the few-second loop (no model, server or browser) =====
SLOW_FIXTURES = {
    "corpus_assistant",
    "embedder",
    "chat_server",
    "client",
    "tiny",
    "dirs",
    "results",
    "fixture_report",
    "tiny_set",
}
# test_readme marks its one slow test itself: its parsing and PATH checks belong to the few-second loop
SLOW_MODULES = {"test_bench", "test_milvus_store", "test_onnx", "test_ui_api", "test_ui_browser"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        slow_name = item.name.startswith(
            ("test_squad_mode", "test_folder_options", "test_two_processes_read", "test_a_second_process")
        )
        if module in SLOW_MODULES or slow_name or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
