"""Exposure: what the served chat lets a web user reach, through a real server on 127.0.0.1; no mocks.

Gradio 6's file routes serve nothing outside the app, the login (RAG_AUTH / RAG_AUTH_FILE) is enforced,
errors shown to users hold no paths, and `rag serve` binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from ui.security import (
    AuthConfigError,
    auth_from_env,
    exposure_warning,
    is_loopback,
    max_request_bytes,
    public_message,
)

pytestmark = [pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

ROOT = Path(__file__).resolve().parent.parent


# ---- without a server ------------------------------------------------------------------------
def test_serve_binds_loopback_by_default():
    from rag.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"
    assert not any("auth" in action.dest or "password" in action.dest for action in _serve_actions())


def _serve_actions():
    from rag.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices["serve"]._actions  # type: ignore[attr-defined]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_an_open_address_without_login_warns(host):
    warning = exposure_warning(host, has_auth=False)
    assert warning and "RAG_AUTH" in warning
    assert ("all network interfaces" in warning) == (host in ("0.0.0.0", "::"))
    assert exposure_warning(host, has_auth=True) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_does_not_warn(host):
    assert is_loopback(host)
    assert exposure_warning(host, has_auth=False) is None


def test_auth_from_env_and_file(tmp_path):
    assert auth_from_env({}) is None
    assert auth_from_env({"RAG_AUTH": "ann:s3cret:with:colons"}) == [("ann", "s3cret:with:colons")]
    users = tmp_path / "users"
    users.write_text("# who may ask\nann:one\n\nbob:two\n", encoding="utf-8")
    assert auth_from_env({"RAG_AUTH_FILE": str(users)}) == [("ann", "one"), ("bob", "two")]
    assert auth_from_env({"RAG_AUTH": "cy:three", "RAG_AUTH_FILE": str(users)}) == [
        ("cy", "three"),
        ("ann", "one"),
        ("bob", "two"),
    ]


@pytest.mark.parametrize("value", ["ann", "ann:", ":pw", "  :  "])
def test_a_malformed_login_is_refused_without_echoing_it(value):
    with pytest.raises(AuthConfigError) as info:
        auth_from_env({"RAG_AUTH": value})
    assert "user:password" in str(info.value)
    if value.strip(" :"):
        assert value.strip(" :") not in str(info.value).replace("user:password", "")


def test_a_missing_auth_file_is_named_but_not_read(tmp_path):
    with pytest.raises(AuthConfigError, match="cannot read"):
        auth_from_env({"RAG_AUTH_FILE": str(tmp_path / "nope")})
    empty = tmp_path / "empty"
    empty.write_text("# nobody\n", encoding="utf-8")
    with pytest.raises(AuthConfigError, match="no user:password"):
        auth_from_env({"RAG_AUTH_FILE": str(empty)})


def test_public_messages_hold_no_paths():
    raw = (
        "[Errno 28] No space left on device: '/work/data/index/faiss.index' (from ~/rag/x.py, "
        "C:\\Users\\ann\\corpus\\a.md)"
    )
    shown = public_message(raw)
    for piece in ("/work", "faiss.index", "~/rag", "C:\\"):
        assert piece not in shown, shown
    assert "No space left on device" in shown
    assert public_message("question is 5,000 characters; the limit is 1000") == (
        "question is 5,000 characters; the limit is 1000"
    )
    assert public_message("top_k must be an integer from 1 to 50, got 'a/b'") == (
        "top_k must be an integer from 1 to 50, got 'a/b'"
    )


def test_request_limit_setting():
    assert max_request_bytes({}) == 2 * 1024 * 1024
    assert max_request_bytes({"RAG_MAX_REQUEST_BYTES": "500000"}) == 500_000
    assert max_request_bytes({"RAG_MAX_REQUEST_BYTES": "1"}) == 64 * 1024  # never so small the page breaks
    assert max_request_bytes({"RAG_MAX_REQUEST_BYTES": "lots"}) == 2 * 1024 * 1024


# ---- through a real server -------------------------------------------------------------------
@pytest.fixture(scope="module")
def guarded_server(corpus_assistant, tmp_path_factory):
    """The chat as `rag serve` launches it (corpus, index and feedback file blocked), on 127.0.0.1."""
    from types import SimpleNamespace

    from tests.conftest import find_free_port
    from ui.app import build_app, launch

    feedback = tmp_path_factory.mktemp("guarded") / "feedback.jsonl"
    feedback.write_text('{"vote": "up"}\n', encoding="utf-8")
    demo = build_app(corpus_assistant, feedback, examples=[])
    private = (corpus_assistant.corpus_dir, corpus_assistant.index_dir, feedback)
    try:
        _, url, _ = launch(
            demo, "127.0.0.1", find_free_port(), prevent_thread_lock=True, quiet=True, private_paths=private
        )
        yield SimpleNamespace(url=url.rstrip("/"), assistant=corpus_assistant, feedback=feedback)
    finally:
        demo.close()


def _secrets(assistant, feedback: Path) -> list[Path]:
    index = Path(assistant.index_dir)
    files = [Path("/etc/passwd"), feedback, ROOT / "pyproject.toml", ROOT / "rag" / "settings.py"]
    files += sorted(p for p in index.rglob("*") if p.is_file())[:6]
    files += sorted(p for p in Path(assistant.corpus_dir).glob("*") if p.is_file())[:2]
    return files


def _routes_for(path: Path) -> list[str]:
    """Every way Gradio 6's routes (gradio/routes.py) might be asked for `path`."""
    absolute = str(path.resolve())
    quoted = urllib.parse.quote(absolute)
    relative = "../" * 12 + absolute.lstrip("/")
    dotted = urllib.parse.quote(relative, safe="")
    routes = []
    for prefix in ("", "/gradio_api"):
        routes += [
            f"{prefix}/file={absolute}",
            f"{prefix}/file={quoted}",
            f"{prefix}/file={relative}",
            f"{prefix}/file=file://{absolute}",
            f"{prefix}/file/{absolute.lstrip('/')}",
            f"{prefix}/file/{relative}",
            f"{prefix}/proxy=file://{absolute}",
            f"{prefix}/custom_component/x/client/{dotted}/{path.name}",
            f"{prefix}/stream/s/r/1/playlist-file",
            f"{prefix}/run-history/records/ask/1/assets/{dotted}",
        ]
    routes += [
        f"/static/{relative}",
        f"/static/{dotted}",
        f"/assets/{relative}",
        f"/assets/{dotted}",
        f"/svelte/{dotted}",
        f"/pwa_icon/{dotted}",
        f"/monitoring/{dotted}",
        f"/gradio_api/upload_progress?upload_id={dotted}",
        f"/{relative}",
        f"/{dotted}",
    ]
    return routes


def test_file_routes_serve_nothing_outside_the_app(guarded_server):
    import httpx

    secrets = _secrets(guarded_server.assistant, guarded_server.feedback)
    assert len(secrets) >= 6 and any(p.parent == Path(guarded_server.assistant.index_dir) for p in secrets)
    leaks, tried = [], 0
    with httpx.Client(base_url=guarded_server.url, timeout=30) as http:
        for secret in secrets:
            content = secret.read_bytes()[:200]
            for route in _routes_for(secret):
                for method in ("GET", "HEAD"):
                    response = http.request(method, route)
                    tried += 1
                    ok = response.status_code in (403, 404, 405) or (
                        response.status_code in (200, 400, 422) and content and content not in response.content
                    )
                    if not ok or (content and content in response.content):
                        leaks.append((method, route, response.status_code, response.content[:80]))
    print(f"\nfile routes: {tried} requests for {len(secrets)} private files, {len(leaks)} served")
    assert tried > 300
    assert leaks == [], leaks[:5]


def test_file_routes_answer_403_or_404_for_system_and_index_files(guarded_server):  # and uploads: 403
    """The plain forms, status by status (the issue's wording): 403 or 404, nothing else."""
    import httpx

    index_file = next(p for p in Path(guarded_server.assistant.index_dir).rglob("*") if p.is_file())
    with httpx.Client(base_url=guarded_server.url, timeout=30) as http:
        for secret in (Path("/etc/passwd"), index_file):
            for route in (f"/file={secret}", f"/gradio_api/file={secret}", f"/gradio_api/file/{secret}"):
                status = http.get(route).status_code
                assert status in (403, 404), (route, status)
            for route in ("/static/", "/assets/"):
                status = http.get(route + "../" * 10 + str(secret).lstrip("/")).status_code
                assert status in (403, 404), (route, status)
        # an upload is not a way in either: the app takes no files, so nobody may store one on the server
        for size in (10, 2_000_000):
            upload = http.post("/gradio_api/upload", files={"files": ("a.txt", b"x" * size)})
            assert upload.status_code == 403, (size, upload.status_code, upload.text[:100])
            assert "/tmp" not in upload.text


def test_a_failure_inside_the_engine_reaches_the_user_without_a_path(guarded_server, monkeypatch):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    assistant = guarded_server.assistant

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", str(Path(assistant.index_dir) / "faiss.index"))

    client = Client(guarded_server.url, verbose=False)
    monkeypatch.setattr(assistant, "ask", broken)
    with pytest.raises(AppError) as info:
        client.predict("Where was the meeting held?", api_name="/ask")
    message = str(info.value)
    assert "went wrong" in message
    assert str(assistant.index_dir) not in message and "faiss" not in message and "Errno" not in message
    monkeypatch.undo()
    assert client.predict("Where was the meeting held?", api_name="/ask")["text"]


def test_login_from_env_is_enforced(corpus_assistant, tmp_path, monkeypatch):
    import httpx
    from gradio_client import Client

    from tests.conftest import find_free_port
    from ui.app import build_app, launch

    users = tmp_path / "users"
    users.write_text("ann:correct horse\n", encoding="utf-8")
    monkeypatch.setenv("RAG_AUTH_FILE", str(users))
    monkeypatch.delenv("RAG_AUTH", raising=False)
    demo = build_app(corpus_assistant, tmp_path / "feedback.jsonl", examples=[])
    try:
        _, url, _ = launch(demo, "127.0.0.1", find_free_port(), prevent_thread_lock=True, quiet=True)
        url = url.rstrip("/")
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/config").status_code == 401
            assert http.post("/gradio_api/call/ask", json={"data": ["Where?", None, None]}).status_code == 401
            assert http.post("/login", data={"username": "ann", "password": "wrong"}).status_code == 400
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain ValueError or an HTTP error
            Client(url, verbose=False, auth=("ann", "wrong"))
        client = Client(url, verbose=False, auth=("ann", "correct horse"))
        assert client.predict("Where was the fifth export strategy meeting held?", api_name="/ask")["answered"]
    finally:
        demo.close()


def test_page_and_api_descriptions_name_no_server_paths(guarded_server):
    import httpx

    private = [str(Path(guarded_server.assistant.index_dir)), str(Path(guarded_server.assistant.corpus_dir)), str(ROOT)]
    with httpx.Client(base_url=guarded_server.url, timeout=30) as http:
        for route in ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json", "/theme.css", "/manifest.json"):
            response = http.get(route)
            assert response.status_code in (200, 404), (route, response.status_code)
            for path in private:
                assert path not in response.text, (route, path)
