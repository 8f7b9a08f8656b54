"""The `rag` command: answers, JSON, index status, chat, and one-line errors with exit codes."""
from __future__ import annotations

import json
import os
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


def test_ask_json_and_abstention(dirs, capsys):
    assert main([*dirs, "ask", "--json", "--top-k", "2", "How much money will Korea invest?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answered"] is False and data["citations"] == [] and len(data["passages"]) == 2


def test_index_reports_what_it_did(dirs, capsys):
    assert main([*dirs, "index"]) == 0
    assert main([*dirs, "index"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("built index") and any(line.startswith("loaded index") for line in out)


def test_chat_keeps_the_conversation(dirs, capsys, monkeypatch):
    lines = iter(["Who led the export strategy meeting?", "", ])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main([*dirs, "chat"]) == 0
    assert "rag>" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["ask", ""], "question is empty"),
    (["ask", "x" * 2000], "limit is 1000"),
    (["--corpus", "/no/such/folder", "ask", "hi there"], "corpus folder not found"),
])
def test_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rag: error:") and message in err[0]


def test_console_script_end_to_end(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "rag.cli", "--index", str(tmp_path / "i"), "ask", "   "],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "question is empty" in done.stderr


def test_folder_options_work_before_or_after_the_command(tmp_path, capsys):
    index = str(tmp_path / "index")
    assert main(["index", "--corpus", str(ROOT / "corpus"), "--index", index]) == 0
    assert main(["--corpus", str(ROOT / "corpus"), "--index", index, "index"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("built index") and any(line.startswith(f"loaded index in {index}") for line in out)
