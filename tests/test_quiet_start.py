"""First use prints nothing stray: the Python API, `rag ask` and `rag serve`, each on a fresh index folder.

A fresh index is the case that matters: the first load exports the embedding and answer models to ONNX,
which loads them with transformers, whose load report ("BertModel LOAD REPORT … pooler.dense.* UNEXPECTED
… can be ignored") and "Loading weights" bar used to reach the user's terminal. Gradio's "To create a
public link, set `share=True`" does not apply to a server that binds 127.0.0.1 by design. Each entry point
runs as a child process with the environment a newcomer has (no TRANSFORMERS_VERBOSITY or similar set),
and every line it writes to stderr must be one of ours ("rag: …").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import find_free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
STRAY = (
    *("LOAD REPORT", "UNEXPECTED", "can be ignored", "Loading weights"),  # transformers, loading a model
    *("public link", "share=True", "Keyboard interruption", "Closing server"),  # Gradio, starting and stopping
    "Traceback",
)
TIMEOUT = 600  # a fresh index exports two models on a busy 2-core machine


def newcomer_env(tmp_path: Path) -> dict[str, str]:
    """The environment of someone who just installed the project: only the offline switch and our folders."""
    quieting = ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE", "PYTHONWARNINGS")
    env = {k: v for k, v in os.environ.items() if k not in quieting and not k.startswith("RAG_")}
    env.update(
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        RAG_CORPUS_DIR=str(ROOT / "corpus"),
        RAG_INDEX_DIR=str(tmp_path / "index"),
        RAG_FEEDBACK_PATH=str(tmp_path / "feedback.jsonl"),
    )
    return env


def stray_lines(stdout: str, stderr: str) -> list[str]:
    """Lines that are not ours: any line naming a stray message, and any stderr line not starting 'rag: '."""
    found = [line for line in (stdout + "\n" + stderr).splitlines() if any(s in line for s in STRAY)]
    return found + [line for line in stderr.splitlines() if line.strip() and not line.startswith("rag: ")]


def run_fresh(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python with `args` as a newcomer runs it on a fresh index: it must succeed, export the answer model (so
    its load did run) and print nothing stray."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=newcomer_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index" / "onnx" / "answer-model.onnx").is_file()  # the export (and its load) did run
    assert stray_lines(done.stdout, done.stderr) == [], done.stderr
    return done


def test_the_python_api_on_a_fresh_index_prints_nothing_stray(tmp_path):
    script = (
        "from rag import Assistant\n"
        "assistant = Assistant.load()\n"
        "answer = assistant.ask('Which university did Yoon visit during his U.S. trip?')\n"
        "print('answered', answer.answered)\n"
    )
    done = run_fresh(tmp_path, "-c", script)
    assert done.stdout.strip() == "answered True"


def test_rag_ask_on_a_fresh_index_prints_nothing_stray(tmp_path):
    done = run_fresh(tmp_path, "-m", "rag.cli", "ask", "Who wrote the article?")
    assert "[1]" in done.stdout


def test_rag_serve_on_a_fresh_index_prints_nothing_stray_and_says_where_it_listens(tmp_path):
    """From launch to Ctrl-C: our own lines only, the address among them."""
    port = find_free_port()
    log = tmp_path / "serve.log"
    with open(log, "w", encoding="utf-8") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=newcomer_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            assert server.poll() is None, f"rag serve exited with {server.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"rag serve did not answer:\n{log.read_text()}"
                time.sleep(0.5)
        time.sleep(1)  # anything printed just after start-up
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            stdout, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            stdout, _ = server.communicate()
    stderr = log.read_text(encoding="utf-8")
    assert server.returncode == 130, stderr  # stopped by Ctrl-C, as `rag` reports an interrupt
    assert stray_lines(stdout, stderr) == [], stdout + stderr
    assert stdout.strip() == ""
    assert f"rag: the web chat is on http://127.0.0.1:{port}/" in stderr, stderr
