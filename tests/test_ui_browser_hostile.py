"""Documents carrying scripts are shown as inert text: headless Chromium, a real server, no mocks.

A corpus document holds `<script>`, `<img onerror>`, `<svg onload>`, `javascript:` links (HTML, Markdown
inline and reference style) and Markdown/LaTeX markup. Each payload would set `window.__xss` or open a
dialog; the test asks questions whose answers and retrieved passages show those lines, hovers and clicks
everything in them, and checks that nothing ran and that the payload is on the page as text.
Skips without Chromium or playwright, except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import pytest
from browserkit import chromium_problem, launched_chromium, under_ci

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]

PROBLEM = chromium_problem()
if PROBLEM and not under_ci():
    pytest.skip(f"{PROBLEM} (sudo apt-get install -y chromium; pip install playwright)", allow_module_level=True)

HOSTILE = """---
title: Harbour notes <script>window.__xss='title'</script>
date: 2024-05-01
---
The harbour festival starts at noon on the north pier. <script>window.__xss = 'script'; alert('script')</script>

The lighthouse keeper is Ada Quinlan. <img src=x onerror="window.__xss='img'; alert('img')">

Festival tickets are sold at [the blue kiosk](javascript:window.__xss='md-link') beside ![the map](javascript:window.__xss='md-img').

The ferry leaves from <a href="javascript:window.__xss='a-href'" onclick="window.__xss='onclick'">dock seven</a> every hour. <svg onload="window.__xss='svg'"></svg>

The parade route passes <iframe srcdoc="<script>parent.__xss='iframe'</script>"></iframe> the old fish market. <b onmouseover="window.__xss='hover'">Hover me</b>.

The fireworks begin at ten o'clock, said [the organiser][x]. **Bold** _italic_ `code` $x^2$ <style>body{display:none}</style>

[x]: javascript:window.__xss='ref-link'
"""
QUESTIONS = (
    "When does the harbour festival start?",
    "Who is the lighthouse keeper?",
    "Where are festival tickets sold?",
    "Where does the ferry leave from?",
    "What does the parade route pass?",
    "When do the fireworks begin?",
)
PAYLOAD_TEXT = ("<script>window.__xss = 'script'", "onerror=", "javascript:window.__xss='md-link'", "<svg onload=")


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, embedder):
    from types import SimpleNamespace

    from rag import Assistant
    from tests.conftest import find_free_port
    from ui.app import build_app, launch

    corpus = tmp_path_factory.mktemp("hostile_corpus")
    (corpus / "harbour.md").write_text(HOSTILE, encoding="utf-8")
    (corpus / "harbour.txt").write_text(HOSTILE.split("---\n", 2)[2], encoding="utf-8")
    assistant = Assistant.load(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("hostile_index"), embedder=embedder)
    demo = build_app(assistant, tmp_path_factory.mktemp("hostile_fb") / "feedback.jsonl", examples=[])
    try:
        _, url, _ = launch(demo, "127.0.0.1", find_free_port(), prevent_thread_lock=True, quiet=True)
        yield SimpleNamespace(url=url, assistant=assistant)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    with launched_chromium(PROBLEM) as launched:
        yield launched


def test_documents_with_scripts_are_shown_as_inert_text(browser, hostile_server):
    from playwright.sync_api import expect

    # the engine really quotes the hostile lines (else the page would have nothing to render)
    answers = [hostile_server.assistant.ask(q, top_k=6) for q in QUESTIONS]
    shown = " ".join(p.text for a in answers for p in a.passages)
    assert all(piece in shown for piece in PAYLOAD_TEXT), shown[:500]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile_server.url)
    page.wait_for_selector("#rag-question textarea")
    page.locator("#rag-settings").click()  # open Settings: show every retrieved passage, with its text
    page.get_by_label("Show all retrieved passages with scores").check()
    bot = page.locator("#rag-chat [data-testid=bot]")
    for number, question in enumerate(QUESTIONS, 1):
        box = page.locator("#rag-question textarea")
        box.fill(question)
        box.press("Enter")
        expect(bot).to_have_count(number)
    for details in page.locator("#rag-chat details").all():
        details.evaluate("e => e.open = true")
    messages = page.locator("#rag-chat .rag-answer, #rag-chat .rag-notice")
    assert messages.count() == len(QUESTIONS)
    # hover and click everything the documents put on the page
    for element in page.locator("#rag-chat .rag-passage, #rag-chat .rag-text, #rag-chat mark, #rag-chat td").all():
        element.hover()
        element.click(force=True, no_wait_after=True)
    page.wait_for_timeout(500)

    assert page.evaluate("() => window.__xss === undefined"), page.evaluate("() => String(window.__xss)")
    assert dialogs == []
    chat = page.locator("#rag-chat")
    for tag in ("script", "img", "svg", "iframe", "style", "a[href^='javascript']", "[onerror]", "[onload]"):
        assert messages.locator(tag).count() == 0, tag
    text = chat.inner_text()
    assert "<script>" in text and "onerror=" in text and "javascript:" in text  # shown, as text
    assert page.evaluate("() => getComputedStyle(document.body).display") != "none"  # the <style> did nothing
    assert page.url.rstrip("/") == hostile_server.url.rstrip("/")  # no navigation happened
    context.close()
