"""Hostile input, property-based (hypothesis): `Assistant.ask` and the server's `/ask` take anything.

Every outcome is an answer (whose citations slice the documents exactly) or an `InvalidQuestionError`
with a short, readable message: never another exception, a traceback, a path, a 500 or a dead server.
Example counts come from the "ci" profile below (`HYPOTHESIS_PROFILE=thorough` for a longer run).
"""

from __future__ import annotations

import json
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag import Answer, InvalidQuestionError

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=list(HealthCheck)
)  # HYPOTHESIS_PROFILE=thorough
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# ---- strategies ------------------------------------------------------------------------------
SPECIAL = [
    "\x00",
    "\x00Where was the meeting?\x00",
    "\ud800",  # a lone surrogate
    "Where was the meeting?\udfff",
    "\u202eWhere was the meeting?\u202c",  # right-to-left override
    "مكان الاجتماع؟",  # Arabic, right to left
    "e\u0301\u0301\u0301\u0301" * 50,  # stacked combining marks
    "Z̷̢̛̪̩̗a̸̡̛l̶̡g̵o̷" * 20,
    "\r\n\t\x0b\x0c\x1b[31m",
    "\ufeff\u200b\u200d\u2060",
    "Where was the meeting held?" + "\u0000" * 999,
    "<script>alert(1)</script>",
    "[x](javascript:alert(1)) ![y](x onerror=alert(1))",
    "🤔" * 600,
]
# whole strings: any code point (surrogates and control characters included), plus a few large ones
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)
big_text = st.builds(
    lambda piece, size: (piece * (size // max(len(piece), 1) + 1))[:size],
    st.text(min_size=1, max_size=8),
    st.sampled_from([1_001, 65_536, 1_000_000]),
)
questions = st.one_of(
    any_text,
    st.sampled_from(SPECIAL),
    big_text,
    st.builds(lambda a, b: a + "Where was the fifth export strategy meeting held?" + b, any_text, any_text),
)
odd_values = st.one_of(
    st.none(), st.integers(), st.floats(), st.booleans(), st.binary(max_size=20), st.just([]), st.just({})
)
histories = st.one_of(
    st.none(),
    st.lists(st.one_of(any_text, st.sampled_from(SPECIAL), odd_values), max_size=30),
    st.lists(big_text, max_size=3),
    any_text,
    odd_values,
)
top_ks = st.one_of(
    st.none(), st.integers(-3, 3), st.integers(48, 53), st.sampled_from([True, 2.5, "4", 10**20, -(10**20)])
)

_PATH = re.compile(r"(?<![\w.])/(?:[\w.-]+/)+")


def _readable(message: str) -> None:
    assert message.strip(), "empty error message"
    assert len(message) <= 500, message[:200]
    assert "Traceback" not in message and 'File "' not in message, message
    assert not _PATH.search(message), message


def _check_answer(answer: dict, documents) -> None:
    assert isinstance(answer["answered"], bool)
    assert isinstance(answer["text"], str) and answer["text"]
    for c in answer["citations"] + answer["related"]:
        assert documents[c["doc_id"]].text[c["start"] : c["end"]] == c["quote"]


# ---- the Python API --------------------------------------------------------------------------
@settings(settings.get_profile(PROFILE))
@given(question=questions, history=histories, top_k=top_ks)
def test_ask_answers_or_refuses_readably(corpus_assistant, question, history, top_k):
    try:
        answer = corpus_assistant.ask(question, history=history, top_k=top_k)
    except InvalidQuestionError as exc:
        _readable(str(exc))
        return
    assert isinstance(answer, Answer)
    _check_answer(answer.to_dict(), corpus_assistant.documents)
    if isinstance(top_k, int) and not isinstance(top_k, bool):
        assert len(answer.passages) <= top_k


@pytest.mark.parametrize("top_k", [1, 50])
def test_top_k_at_its_limits_is_answered(corpus_assistant, top_k):
    answer = corpus_assistant.ask("Where was the fifth export strategy meeting held?", top_k=top_k)
    assert answer.answered
    assert 1 <= len(answer.passages) <= top_k


@pytest.mark.parametrize("top_k", [0, 51, -1, True, 2.5, "4"])
def test_top_k_past_its_limits_is_refused(corpus_assistant, top_k):
    with pytest.raises(InvalidQuestionError, match="top_k"):
        corpus_assistant.ask("Where was the meeting held?", top_k=top_k)


# ---- the server's /ask, over HTTP --------------------------------------------------------------
@pytest.fixture(scope="module")
def http(chat_server):
    import httpx

    with httpx.Client(base_url=chat_server.url.rstrip("/"), timeout=60) as client:
        yield client


def call_ask(http, payload: bytes) -> tuple[str, object]:
    """POST /gradio_api/call/ask with raw JSON bytes, then read the result: ("complete"|"error"|"http <code>", data)."""
    response = http.post("/gradio_api/call/ask", content=payload, headers={"content-type": "application/json"})
    if response.status_code != 200:
        return f"http {response.status_code}", response.text
    event_id = response.json()["event_id"]
    stream = http.get(f"/gradio_api/call/ask/{event_id}")
    assert stream.status_code == 200, stream.text[:300]
    event, data = None, None
    for line in stream.text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            raw = line.split(":", 1)[1].strip()
            data = json.loads(raw) if raw and raw != "null" else raw
    assert event in ("complete", "error"), stream.text[:300]
    return event, data


def _alive(http) -> None:
    assert http.get("/config").status_code == 200, "the server stopped answering"


def _check_outcome(http, chat_server, outcome: tuple[str, object]) -> None:
    event, data = outcome
    if event == "complete":
        assert isinstance(data, list) and isinstance(data[0], dict), data
        _check_answer(data[0], chat_server.assistant.documents)
    elif event == "error":
        _readable(str(data))
    else:  # refused before the app: only "too large" or "not valid input", never a server error
        assert event in ("http 413", "http 422"), outcome
        _readable(str(data))
    _alive(http)


@settings(settings.get_profile(PROFILE), max_examples=max(10, settings.get_profile(PROFILE).max_examples // 2))
@given(question=questions, history=histories, top_k=top_ks)
def test_ask_endpoint_answers_or_refuses_readably(http, chat_server, question, history, top_k):
    def plain(value):  # bytes are not JSON: sent as a list of numbers, as a client might
        return list(value) if isinstance(value, bytes) else value

    if isinstance(history, list):
        history = [plain(item) for item in history]
    payload = {"data": [plain(question), plain(history), top_k]}
    body = json.dumps(payload, ensure_ascii=True, allow_nan=True).encode("ascii")  # lone surrogates as \ud800
    _check_outcome(http, chat_server, call_ask(http, body))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"null",
        b'{"data": "not a list"}',
        b'{"data": []}',
        b'{"data": [null, null, null, null, null]}',
        b'{"data": ["\\ud800\\udc00\\ud800", ["\\u0000"], 4]}',
        b'{"data": ["Where?", {"a": 1}, {"b": 2}]}',
        b'{"data": ["Where?", null, NaN]}',
        b'{"data": ["Where?", null, 1e999]}',
        "\xff\xfe invalid utf-8".encode("latin-1"),
    ],
)
def test_malformed_bodies_never_give_a_server_error(http, chat_server, body):
    response = http.post("/gradio_api/call/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text[:300]
    if response.status_code == 200:
        event_id = response.json()["event_id"]
        stream = http.get(f"/gradio_api/call/ask/{event_id}")
        assert stream.status_code == 200
        assert "Traceback" not in stream.text
    _alive(http)


def test_an_oversized_body_is_refused_before_it_is_read(http, chat_server):
    from ui.security import max_request_bytes

    body = json.dumps({"data": ["x" * (max_request_bytes() + 1), None, None]}).encode()
    event, data = call_ask(http, body)
    assert event == "http 413", (event, str(data)[:200])
    assert "limit" in str(data)
    _alive(http)
    # and a question that fits the body limit but not the question limit gets the readable refusal
    event, data = call_ask(http, json.dumps({"data": ["x" * 1_000_000, None, None]}).encode())
    assert event == "error" and "limit" in str(data), (event, str(data)[:200])


def test_the_raw_protocol_answers_a_plain_question(http, chat_server):
    """The property test above reads answers this way: a plain question must come back complete."""
    body = json.dumps({"data": ["Where was the fifth export strategy meeting held?", None, None]}).encode()
    event, data = call_ask(http, body)
    assert event == "complete" and isinstance(data, list) and data[0]["answered"], (event, str(data)[:200])
    event, data = call_ask(http, json.dumps({"data": ["   ", None, None]}).encode())
    assert event == "error" and "empty" in str(data), (event, data)


@pytest.mark.parametrize(
    "question",
    [
        " 0" * 500,  # found by the property test: 500 one-token words broke the answer model's tokenizer
        "Where was the fifth export strategy meeting held, " + "and who was there " * 50 + "?",
        "Where was the fifth export strategy meeting held? " + "é" * 940,
    ],
    ids=["500-tokens", "long-words", "long-accents"],
)
def test_a_long_valid_question_is_answered_not_crashed(corpus_assistant, question):
    assert len(" ".join(question.split())) <= corpus_assistant.settings.max_question_chars
    answer = corpus_assistant.ask(question)
    assert isinstance(answer.answered, bool) and answer.text


def test_the_answer_model_cuts_only_long_questions():
    from rag.answer_model import QUESTION_TOKENS, _plain_tokenizer, fit_question

    short = "Where was the fifth export strategy meeting held?"
    assert fit_question(short) == short
    cut = fit_question("word " * 300)
    assert "word " * 10 in cut and len(_plain_tokenizer().encode(cut, add_special_tokens=False).ids) == QUESTION_TOKENS
