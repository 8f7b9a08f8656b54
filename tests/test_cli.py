"""The `rag` command: answers, JSON, index status, chat, and one-line errors with exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dirs(tmp_path):
    return ["--corpus", str(ROOT / "corpus"), "--index", str(tmp_path / "index")]


def test_ask_prints_quote_and_citation(dirs, capsys):
    assert main([*dirs, "ask", "Where was the fifth export strategy meeting held?"]) == 0
    out = capsys.readouterr().out
    assert "Seoul Startup Hub M+" in out and "[1]" in out
    assert "yoon-biotech-cluster-2023-06-01.md#char=" in out


def test_ask_says_how_it_read_a_misspelt_question(dirs, capsys):
    assert main([*dirs, "ask", "Where was the fifth export strategy meetng held?"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "(read as: Where was the fifth export strategy meeting held?)"
    assert "Seoul Startup Hub M+" in out[1]


def test_ask_json_and_abstention(dirs, capsys):
    assert main([*dirs, "ask", "--json", "--top-k", "2", "How much money will Korea invest?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answered"] is False and data["citations"] == [] and len(data["passages"]) == 2


def test_index_reports_what_it_did(dirs, capsys):
    assert main([*dirs, "index"]) == 0
    assert main([*dirs, "index"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("built index") and any(line.startswith("loaded index") for line in out)
    # The build says what it timed; loading a current index embeds nothing.
    assert re.search(r"\(in [\d.]+ s: model load [\d.]+ s, embedding \d+ texts [\d.]+ s\)$", out[0]), out[0]
    loaded = next(line for line in out if line.startswith("loaded index"))
    assert re.search(r"\(in [\d.]+ s(: model load [\d.]+ s)?, nothing to embed\)$", loaded), loaded


FIRST = "Who presided over the fifth export strategy meeting?"
FOLLOW_UP = "Where was it held?"


def _chat(dirs, lines, capsys, monkeypatch):
    """Run `rag chat` with `lines` on stdin; returns (the reply to each input line, the history each ask got)."""
    from rag.assistant import Assistant

    asked: list[tuple[str, list[str]]] = []
    real_ask = Assistant.ask

    def recording_ask(self, question, history=None, **kwargs):
        asked.append((question, list(history or [])))  # a copy: the CLI keeps appending to its list
        return real_ask(self, question, history=history, **kwargs)

    monkeypatch.setattr(Assistant, "ask", recording_ask)
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    assert main([*dirs, "chat"]) == 0
    out = capsys.readouterr().out
    replies = [part.strip() for part in out.split("you> ")[1:]]  # the prompt precedes each reply
    return replies, asked


def test_chat_keeps_the_conversation(dirs, capsys, monkeypatch):
    replies, asked = _chat(dirs, [FIRST, FOLLOW_UP, ""], capsys, monkeypatch)
    assert asked == [(FIRST, []), (FOLLOW_UP, [FIRST])]
    # The follow-up's printed answer is the one the conversation gives, not the one the question alone gives.
    from rag.cli import _print_answer

    def printed(answer):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            _print_answer(answer, False)
        return buffer.getvalue().strip()

    from rag import Assistant

    assistant = Assistant.load(corpus_dir=dirs[1], index_dir=dirs[3])
    with_history = printed(assistant.ask(FOLLOW_UP, history=[FIRST]))
    alone = printed(assistant.ask(FOLLOW_UP))
    assert with_history != alone, "the follow-up must depend on the conversation for this test to mean anything"
    assert replies[1] == f"rag> {with_history}"


def test_chat_clear_confirms_and_forgets(dirs, capsys, monkeypatch):
    replies, asked = _chat(dirs, [FIRST, FOLLOW_UP, "/clear", FOLLOW_UP, ""], capsys, monkeypatch)
    assert replies[2] == "rag> Conversation cleared."
    assert asked == [(FIRST, []), (FOLLOW_UP, [FIRST]), (FOLLOW_UP, [])]
    # Same question, before and after /clear: the reply changes because the conversation is gone.
    assert replies[1].startswith("rag> ") and replies[3].startswith("rag> ")
    assert replies[1] != replies[3]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ask", ""], "question is empty"),
        (["ask", "x" * 2000], "limit is 1000"),
        (["--corpus", "/no/such/folder", "ask", "hi there"], "corpus folder not found"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rag: error:") and message in err[0]


def test_console_script_end_to_end(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "--index", str(tmp_path / "i"), "ask", "   "],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and "question is empty" in done.stderr


def test_folder_options_work_before_or_after_the_command(tmp_path, capsys):
    index = str(tmp_path / "index")
    assert main(["index", "--corpus", str(ROOT / "corpus"), "--index", index]) == 0
    assert main(["--corpus", str(ROOT / "corpus"), "--index", index, "index"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("built index") and any(line.startswith(f"loaded index in {index}") for line in out)
