"""What the browser tests share: where Chromium is, how to start it here, and why it might be missing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def launched_chromium(problem: str | None) -> Iterator:
    """Headless Chromium for a module's tests. `problem` (chromium_problem()) fails them: the modules skip
    before this when not under CI, so it is only reached where a missing browser is a failure."""
    import pytest

    if problem:
        pytest.fail(f"{problem}: CI must run the browser test. Install it with: {INSTALL_HINT}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@contextmanager
def checked_page(browser, url: str) -> Iterator:
    """A page of the chat (open_page) that must end its test without JavaScript errors."""
    context, page = open_page(browser, url)
    yield page
    assert page.js_errors == []
    context.close()


def squash(text: str) -> str:
    return " ".join(text.split())


# ---- driving the chat page (tests/test_ui_browser*.py) ---------------------------------------------------
BOT = "#rag-chat [data-testid=bot]"
USER = "#rag-chat [data-testid=user]"


def open_page(browser, url: str, width: int = 1280, height: int = 900):
    """(context, page) at this viewport, loaded, with the page's JavaScript errors collected in page.js_errors."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    return context, page


def wait_for_reply(page, before: int):
    """The newest reply, once there are `before + 1` of them."""
    from playwright.sync_api import expect

    expect(page.locator(BOT)).to_have_count(before + 1)
    return page.locator(BOT).last


def ask(page, text: str):
    """Type `text` into the question box, press Enter and return the reply it gets."""
    before = page.locator(BOT).count()
    box = page.locator("#rag-question textarea")
    box.fill(text)
    box.press("Enter")
    return wait_for_reply(page, before)
