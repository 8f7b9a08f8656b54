"""The load test, CI-sized: a real `rag serve` child on 127.0.0.1 and 20 gradio_client users for 60 s.

Every answer under load must equal the one its question gets alone, and no request may fail
(the full figures, 1-100 users and the 10-minute soak, are in docs/reliability.md).
"""

from __future__ import annotations

import os
import random

import pytest

from rag.bench.load import essence, load_questions, run_load

pytestmark = [pytest.mark.slow, pytest.mark.server]

USERS = int(os.environ.get("RAG_LOAD_USERS", "20"))
SECONDS = float(os.environ.get("RAG_LOAD_SECONDS", "60"))


def test_questions_mix_both_eval_sets_and_follow_ups():
    questions = load_questions()
    assert len(questions) > 150
    assert any(q.history for q in questions)
    assert any("lighthouse" in q.question.lower() or "volcano" in q.question.lower() for q in questions)


def test_essence_sees_a_changed_citation():
    answer = {
        "text": "A. [1]",
        "answered": True,
        "citations": [{"number": 1, "doc_id": "d", "start": 0, "end": 2, "quote": "A."}],
        "related": [],
        "passages": [{"chunk_id": "d#0"}],
    }
    moved = {**answer, "citations": [{**answer["citations"][0], "start": 1}]}
    assert essence(answer) == essence(dict(answer)) and essence(answer) != essence(moved)


def test_twenty_users_for_a_minute_get_their_answers_alone(tmp_path):
    questions = random.Random(0).sample(load_questions(), 100)  # both sets, follow-ups included; alone: ~100 s less
    assert any(q.history for q in questions)
    report = run_load([USERS], SECONDS, questions=questions, log_path=tmp_path / "server.log")
    run = report["runs"][0]
    print(
        f"\nload: {run['users']} users {run['duration_s']} s: {run['requests']} answers, "
        f"{run['throughput_qps']}/s, p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, p99 {run['p99_ms']} ms, "
        f"RSS {run['rss_start_mb']}→{run['rss_end_mb']} MB"
    )
    assert run["server_alive"]
    assert run["errors"] == 0, run["error_examples"]
    assert run["mismatches"] == 0, run["mismatch_examples"]
    assert run["requests"] >= USERS  # every user got answers, not just a few
    assert run["duration_s"] >= SECONDS
    assert len(run["rss_mb"]) >= SECONDS * 0.5  # the server's memory was followed throughout
