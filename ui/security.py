"""What `rag serve` exposes, and to whom: the bind address, optional login, request size and error text.

- **Bind address.** `rag serve` listens on 127.0.0.1 unless `--host` says otherwise; a host other than
  loopback without a login prints a warning (`exposure_warning`).
- **Login.** Gradio's own `auth`, from `RAG_AUTH=user:password` or `RAG_AUTH_FILE` (one `user:password` a
  line, `#` comments); never a command-line option, which `ps` and shell history would show.
- **Request size.** Bodies over `RAG_MAX_REQUEST_BYTES` (default 2 MB) get 413 before Gradio reads them
  (`BodySizeLimit`); questions are limited anyway to `Settings.max_question_chars`.
- **Uploads.** The app takes no files, but Gradio 6 always mounts `/gradio_api/upload`, which would let
  anyone store files in the server's temp folder: refused with 403 (and `max_file_size` 1 MB behind that).
- **Error text.** `public_message` strips file-system paths from anything shown to a web user.
- **Files.** `blocked_paths` keeps the corpus, index and feedback file out of Gradio's file routes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

AUTH_ENV = "RAG_AUTH"
AUTH_FILE_ENV = "RAG_AUTH_FILE"
MAX_REQUEST_ENV = "RAG_MAX_REQUEST_BYTES"
DEFAULT_MAX_REQUEST_BYTES = 2 * 1024 * 1024  # a 1,000-character question with 20 history items is ~100 KB at most
MAX_UPLOAD = "1mb"  # the app takes no files; Gradio's /upload route still exists, so it gets a small limit
ALL_INTERFACES = ("0.0.0.0", "::", "", "*")

# An absolute POSIX or Windows path, or a ~/ path, as it may appear inside an exception message.
_PATH = re.compile(r"""(?:(?<![\w.:/])~?/(?:[^\s'":,;()<>\[\]{}]+/?)+|\b[A-Za-z]:\\[^\s'":,;()<>]+)""")


class AuthConfigError(ValueError):
    """RAG_AUTH or RAG_AUTH_FILE is set but unusable; the message never holds a password."""


def _parse_pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    user = user.strip()
    if not sep or not user or not password:
        raise AuthConfigError(f"{where}: expected user:password (a user name, a colon, a non-empty password)")
    return user, password


def auth_from_env(environ: dict[str, str] | None = None) -> list[tuple[str, str]] | None:
    """The (user, password) pairs Gradio should require, from RAG_AUTH and RAG_AUTH_FILE; None: no login."""
    env = os.environ if environ is None else environ
    pairs: list[tuple[str, str]] = []
    single = env.get(AUTH_ENV, "")
    if single.strip():
        pairs.append(_parse_pair(single.strip("\r\n"), AUTH_ENV))
    file_name = env.get(AUTH_FILE_ENV, "").strip()
    if file_name:
        try:
            text = Path(file_name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthConfigError(f"{AUTH_FILE_ENV}: cannot read {file_name}: {exc.__class__.__name__}") from None
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                pairs.append(_parse_pair(line.strip(), f"{AUTH_FILE_ENV} line {number}"))
        if not pairs:
            raise AuthConfigError(f"{AUTH_FILE_ENV}: {file_name} holds no user:password line")
    return pairs or None


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, has_auth: bool) -> str | None:
    """A warning for a server other machines can reach without a login; None when there is nothing to say."""
    if has_auth or is_loopback(host):
        return None
    where = "all network interfaces" if host.strip() in ALL_INTERFACES else f"{host}, reachable from other machines"
    return (
        f"warning: serving on {where} without a login: anyone who can reach this port can use the chat. "
        f"Set {AUTH_ENV}=user:password or {AUTH_FILE_ENV}=FILE, or serve on 127.0.0.1."
    )


def public_message(message: Any, replacement: str = "<path>") -> str:
    """`message` as text safe to show a web user: file-system paths replaced, one line, at most 500 characters."""
    text = _PATH.sub(replacement, str(message))
    text = " ".join(text.split())
    return text if len(text) <= 500 else text[:497] + "…"


def max_request_bytes(environ: dict[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    try:
        value = int(env.get(MAX_REQUEST_ENV, "") or DEFAULT_MAX_REQUEST_BYTES)
    except ValueError:
        value = DEFAULT_MAX_REQUEST_BYTES
    return max(value, 64 * 1024)


class BodySizeLimit:
    """ASGI middleware: a request body over `max_bytes` gets 413 (by Content-Length; a chunked body is cut
    off at the limit, which Gradio then answers with 400), and a POST to Gradio's upload route gets 403.

    Gradio 6 reads whole JSON bodies into memory and limits only file uploads (`max_file_size`), so a
    100 MB "question" would be parsed before our question-length check could refuse it.
    """

    def __init__(self, app: Any, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "POST" and str(scope.get("path", "")).rstrip("/").endswith("/upload"):
            await self._send_json(send, 403, "this app takes no file uploads")
            return
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await self._refuse(send)
                    return
        seen = 0
        refused = False

        async def limited_receive() -> dict:
            nonlocal seen, refused
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    raise _TooLarge()
            return message

        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)
        except Exception:
            if refused and not started:
                await self._refuse(send)
            else:
                raise

    async def _refuse(self, send: Any) -> None:
        await self._send_json(
            send, 413, f"request too large: the limit is {self.max_bytes:,} bytes ({MAX_REQUEST_ENV})"
        )

    @staticmethod
    async def _send_json(send: Any, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def blocked_paths(paths: Iterable[str | os.PathLike | None]) -> list[str]:
    """Absolute forms of the given files and folders (those that exist), for Gradio's `blocked_paths`."""
    out: list[str] = []
    for path in paths:
        if path is None:
            continue
        resolved = Path(path).expanduser().resolve()
        if str(resolved) not in out:
            out.append(str(resolved))
    return out


def security_options(
    private_paths: Sequence[str | os.PathLike | None] = (), environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch`: login, size limits, blocked paths (see the module docstring)."""
    from starlette.middleware import Middleware

    auth = auth_from_env(environ)
    return {
        "auth": auth,
        "max_file_size": MAX_UPLOAD,
        "allowed_paths": [],
        "blocked_paths": blocked_paths(private_paths),
        "app_kwargs": {"middleware": [Middleware(BodySizeLimit, max_bytes=max_request_bytes(environ))]},
    }
