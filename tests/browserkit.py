"""What the browser tests share: where Chromium is, how to start it here, and why it might be missing."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("RAG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
INSTALL_HINT = (
    "sudo apt-get install -y chromium   (Debian/Ubuntu; plus `pip install playwright` — "
    "no `playwright install` needed, the test uses /usr/bin/chromium or $RAG_CHROMIUM)"
)


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def chromium_problem() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the `playwright` Python package is not installed"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}"
    return None
