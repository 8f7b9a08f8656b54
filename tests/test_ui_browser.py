"""The web chat driven in headless Chromium (Debian's `chromium` + PyPI `playwright`); no mocks.

Skips when Chromium or playwright is missing, except under CI (env CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from browserkit import (
    BOT,
    INSTALL_HINT,
    USER,
    ask,
    checked_page,
    chromium_problem,
    launched_chromium,
    open_page,
    squash,
    under_ci,
    wait_for_reply,
)

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

ROOT = Path(__file__).resolve().parent.parent
# Tests write their screenshot to a temp folder; RAG_UPDATE_SCREENSHOT=1 refreshes the README's docs/screenshot.png.
README_SCREENSHOT = ROOT / "docs" / "screenshot.png"
MEETING = "Where was the fifth export strategy meeting held?"


PROBLEM = chromium_problem()
if PROBLEM and not under_ci():  # skip before any fixture loads the model
    pytest.skip(f"{PROBLEM}. Install it with: {INSTALL_HINT}", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with launched_chromium(PROBLEM) as launched:
        yield launched


@pytest.fixture
def page(browser, chat_server):
    with checked_page(browser, chat_server.url) as checked:
        yield checked


def test_answer_shows_citation_marker_and_highlighted_source(page, chat_server):
    from playwright.sync_api import expect

    expected = chat_server.assistant.ask(MEETING)
    assert expected.answered, "the engine no longer answers the pinned question"
    reply = ask(page, MEETING)
    marker = reply.locator(".rag-text sup.rag-cite").first
    expect(marker).to_be_visible()
    expect(marker).to_have_text("[1]")
    mark = reply.locator("mark.rag-quote").first
    expect(mark).to_be_visible()
    assert squash(mark.inner_text()) == squash(expected.citations[0].quote)
    assert mark.evaluate("e => getComputedStyle(e).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    source = reply.locator(".rag-source").first
    expect(source.locator(".rag-title")).to_have_text(expected.citations[0].title)
    expect(source.locator(".rag-num")).to_have_text("1")
    expect(page.locator(USER).last).to_have_text(MEETING)
    shown = (
        reply.locator(".rag-confidence").inner_text().split()
    )  # "confidence 0.87" (scores may differ in the last bits)
    assert shown[0] == "confidence" and abs(float(shown[1]) - expected.confidence) <= 0.006, shown
    # the answer text is the quoted sentences; a short answer is bold inside the first one (placed by offsets)
    assert squash(reply.locator(".rag-text").inner_text()) == squash(
        " ".join(f"{c.quote}[{c.number}]" for c in expected.citations)
    )
    bold = reply.locator(".rag-text strong.rag-short")
    if expected.short_answer is None:
        expect(bold).to_have_count(0)
    else:
        expect(bold).to_have_count(1)
        assert squash(bold.inner_text()) == squash(expected.short_answer.text)
        assert bold.evaluate("e => Number(getComputedStyle(e).fontWeight)") >= 600
        before = reply.locator(".rag-text").evaluate("""e => { const r = document.createRange();
            r.setStart(e, 0); r.setEndBefore(e.querySelector('strong.rag-short')); return r.toString(); }""")
        sa, c = expected.short_answer, expected.citations[0]  # it lies in the first quote, at its offsets
        assert squash(before) == squash(c.quote[: sa.start - c.start])


def test_clicking_an_example_question_answers_it(page, chat_server):
    from playwright.sync_api import expect

    assert chat_server.examples, "no example questions were offered"
    example = chat_server.examples[0]
    before = page.locator(BOT).count()
    page.get_by_role("button", name=example, exact=True).click()
    reply = wait_for_reply(page, before)
    expect(page.locator(USER).last).to_have_text(example)
    expect(reply.locator(".rag-answer")).to_be_visible()
    expect(reply.locator("mark.rag-quote").first).to_be_visible()


def test_the_example_questions_in_one_conversation_each_get_their_own_answer(page, chat_server):
    """Clicked in order, each example is answered as if asked alone: history is used only by follow-ups."""
    from playwright.sync_api import expect

    examples = chat_server.examples
    assert len(examples) == 4, examples
    for question in examples:
        before = page.locator(BOT).count()
        page.get_by_role("button", name=question, exact=True).click()
        reply = wait_for_reply(page, before)
        expect(page.locator(USER).last).to_have_text(question)
        alone = chat_server.assistant.ask(question)  # no history
        assert alone.answered, question
        # the answer text is the quoted sentences with their markers; the sources highlight the same sentences
        got = squash(reply.locator(".rag-text").inner_text())
        assert got == squash(" ".join(f"{c.quote}[{c.number}]" for c in alone.citations)), (question, got)
        marks = sorted(squash(m) for m in reply.locator("mark.rag-quote").all_inner_texts())
        assert marks == sorted(squash(c.quote) for c in alone.citations), (question, marks)


@pytest.mark.parametrize("text", ["", "   "], ids=["empty", "spaces"])
def test_an_empty_message_gets_a_friendly_message(page, text):
    from playwright.sync_api import expect

    reply = ask(page, text)
    expect(reply.locator(".rag-notice")).to_contain_text("Please type a question")
    assert "Traceback" not in reply.inner_text()
    expect(page.locator(USER)).to_have_count(0)


def test_odd_input_is_shown_as_text_and_answered_politely(page):
    from playwright.sync_api import expect

    attack = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> <b>bold</b>?'
    reply = ask(page, attack)
    expect(page.locator(USER).last).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#rag-chat script, #rag-chat img[src=x], #rag-chat .rag-user b").count() == 0
    assert "Traceback" not in reply.inner_text()

    for text in ("바이오 클러스터는 어디에 만들어지나요?", "🤔🚀🧬"):
        reply = ask(page, text)
        expect(reply.locator(".rag-answer, .rag-notice")).to_be_visible()
        expect(page.locator(USER).last).to_have_text(text)

    reply = ask(page, "why " * 12_500)  # 50 KB
    expect(reply.locator(".rag-notice")).to_contain_text("too long")
    expect(page.locator(USER).last).to_contain_text("50,000 characters")


def test_an_abstention_looks_different_and_labels_related_passages(page, chat_server):
    from playwright.sync_api import expect

    question = "What is the capital of France?"
    assert not chat_server.assistant.ask(question).answered
    reply = ask(page, question)
    expect(reply.locator(".rag-abstain-h")).to_have_text("The documents don't say.")
    expect(reply.locator(".rag-abstain .rag-text")).to_have_text("No sentence in the documents answers this.")
    expect(reply.locator(".rag-related .rag-sources-h")).to_contain_text("Related passages")
    expect(reply.locator(".rag-tag-related").first).to_have_text("related")
    assert reply.locator("mark.rag-quote, .rag-text sup.rag-cite").count() == 0
    assert "confidence" not in reply.inner_text().lower()  # a score beside related passages would mislead
    # related sentences: a faint wash, not an answer's highlight and not a link (no underline, no pointer)
    related = reply.locator("mark.rag-related-quote").first
    expect(related).to_be_visible()
    style = related.evaluate("""e => { const s = getComputedStyle(e);
        return {line: s.textDecorationLine, bg: s.backgroundColor, cursor: s.cursor}; }""")
    assert style["line"] == "none", style
    assert style["cursor"] != "pointer", style
    assert style["bg"] not in ("rgba(0, 0, 0, 0)", "transparent"), style
    assert style["bg"] != "rgb(253, 230, 138)", style  # the answer quotes' yellow
    assert related.locator("xpath=ancestor::a").count() == 0


def test_a_question_in_another_language_says_so(page, chat_server):
    from playwright.sync_api import expect

    question = "바이오 클러스터는 어디에 만들어지나요?"
    expected = chat_server.assistant.ask(question)
    assert not expected.answered and expected.abstain_reason, expected
    reply = ask(page, question)
    expect(reply.locator(".rag-abstain-h")).to_have_text("The documents don't say.")
    expect(reply.locator(".rag-abstain .rag-text")).to_have_text(expected.abstain_reason)
    expect(reply.locator(".rag-abstain .rag-text")).to_contain_text("Korean")
    assert "confidence" not in reply.inner_text().lower()


def test_settings_show_all_retrieved_passages_with_scores(page, chat_server):
    from playwright.sync_api import expect

    from rag.settings import MAX_TOP_K

    page.locator("#rag-settings").get_by_text("Settings").click()
    expect(page.locator("#rag-settings")).to_contain_text("Passages shown (top k)")
    expect(page.locator("#rag-settings")).not_to_contain_text("Passages to search")
    expect(page.locator("#rag-settings input[type=range]")).to_have_attribute("max", str(MAX_TOP_K))
    page.get_by_label("Show all retrieved passages with scores").check()
    number = page.locator("#rag-settings input[type=number]")
    number.fill("3")
    number.press("Tab")
    reply = ask(page, MEETING)
    table = reply.locator("details.rag-retrieved table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(reply.locator("details.rag-retrieved summary")).to_contain_text("scores")


def test_follow_up_uses_the_conversation_and_clear_resets_it(page, chat_server):
    from playwright.sync_api import expect

    first, follow_up = "Who led the export strategy meeting?", "Where was it held?"
    ask(page, first)
    reply = ask(page, follow_up)
    expected = chat_server.assistant.ask(follow_up, history=[first])
    if expected.answered:
        assert squash(reply.locator("mark.rag-quote").first.inner_text()) == squash(expected.citations[0].quote)
    else:
        expect(reply.locator(".rag-abstain")).to_be_visible()
    page.locator("#rag-clear").click()
    expect(page.locator(BOT)).to_have_count(0)
    reply = ask(page, follow_up)
    alone = chat_server.assistant.ask(follow_up)
    expect(reply.locator(".rag-abstain" if not alone.answered else "mark.rag-quote").first).to_be_visible()


def test_a_thumbs_up_is_written_to_the_feedback_file(page, chat_server):
    path: Path = chat_server.feedback_path
    before = len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0
    ask(page, MEETING)
    page.locator("#rag-chat button[aria-label=Like]").last.click()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if len(lines) > before:
            break
        time.sleep(0.1)
    record = json.loads(lines[-1])
    assert (record["question"], record["vote"]) == (MEETING, "up")
    assert record["citations"] and record["citations"][0]["quote"] in record["answer"]


# Where the newest question and its answer are, seen from the page: the chat's scroll box, the last question, the
# first line of the last reply's answer text, the lines of that reply's text (answer and sources) visible in the
# chat, every visible button, and what is drawn on top of those lines (elementFromPoint), so an overlay covering
# the text is caught whatever it is.
CHAT_VIEW_JS = """() => {
  const root = document.querySelector('#rag-chat');
  const box = root.querySelector('[role=log]').getBoundingClientRect();
  const users = root.querySelectorAll('[data-testid=user]');
  const bots = root.querySelectorAll('[data-testid=bot]');
  const reply = bots[bots.length - 1];
  const lines = el => {  // the boxes of the text itself (one per line of each text node)
    const out = [], walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      out.push(...[...range.getClientRects()].filter(r => r.width > 1 && r.height > 1));
    }
    return out;
  };
  const answerLines = lines(reply.querySelector('.rag-text') || reply);
  const top = Math.max(box.top, 0), bottom = Math.min(box.bottom, window.innerHeight);
  const shown = lines(reply).filter(r => r.bottom > top && r.top < bottom);
  const visible = e => { const s = getComputedStyle(e), r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0; };
  const buttons = [...document.querySelectorAll('button, [role=button]')].filter(visible).map(b =>
    ({label: b.getAttribute('aria-label') || b.textContent.trim().slice(0, 40), rect: b.getBoundingClientRect().toJSON()}));
  const covered = [];
  for (const r of shown) {
    const y = (Math.max(r.top, top) + Math.min(r.bottom, bottom)) / 2;
    for (const x of [r.left + 1, (r.left + r.right) / 2, r.right - 1]) {
      const hit = document.elementFromPoint(x, y);
      if (hit && !reply.contains(hit)) covered.push({x, y, by: hit.tagName + '.' + hit.className});
    }
  }
  return {box: box.toJSON(), window: {width: window.innerWidth, height: window.innerHeight},
          user: users[users.length - 1].getBoundingClientRect().toJSON(), reply: reply.getBoundingClientRect().toJSON(),
          first_line: answerLines.length ? answerLines[0].toJSON() : null, shown: shown.map(r => r.toJSON()),
          buttons, covered};
}"""


def _inside(rect: dict, area: dict, slack: float = 1.0) -> bool:
    return (
        rect["top"] >= area["top"] - slack
        and rect["bottom"] <= area["bottom"] + slack
        and rect["left"] >= area["left"] - slack
        and rect["right"] <= area["right"] + slack
    )


def _overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def _question_and_answer_start_in_view(view: dict) -> list[str]:
    """What is wrong with the view (empty when the question and the start of its answer can be read)."""
    problems = []
    screen = {"top": 0, "left": 0, "bottom": view["window"]["height"], "right": view["window"]["width"]}
    for name, rect in (("question", view["user"]), ("first line of the answer", view["first_line"])):
        if rect is None:
            problems.append(f"no {name}")
        elif not _inside(rect, view["box"]):
            problems.append(f"the {name} {rect} is outside the chat's viewport {view['box']}")
        elif not _inside(rect, screen):
            problems.append(f"the {name} {rect} is off screen")
    for button in view["buttons"]:
        for line in view["shown"]:
            if _overlaps(button["rect"], line):
                problems.append(f"button {button['label']!r} {button['rect']} overlaps the reply's text {line}")
                break
    problems += [f"the reply's text is covered at ({c['x']:.0f}, {c['y']:.0f}) by {c['by']}" for c in view["covered"]]
    return problems


def test_works_at_phone_width(browser, chat_server, tmp_path):
    """At 390x844, after asking, the question and the start of its (long) answer are in view, nothing covers it."""
    from playwright.sync_api import expect

    context, page = open_page(browser, chat_server.url, width=390, height=844)
    try:
        ask(page, MEETING)  # an earlier turn, so the chat has something to scroll past
        question = "Which hospital will work with MIT on medical big data?"
        reply = ask(page, question)
        expect(reply.locator("mark.rag-quote").first).to_be_visible()
        expect(page.locator(USER).last).to_have_text(question)
        assert page.evaluate("document.documentElement.scrollWidth") <= 391  # no sideways scrolling
        box = reply.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391
        view = page.evaluate(CHAT_VIEW_JS)
        # a long answer: taller than the chat, so showing its end would hide the question
        assert view["reply"]["height"] > view["box"]["height"], view
        deadline = time.monotonic() + 5  # the chat scrolls the question up just after the reply is drawn
        while _question_and_answer_start_in_view(view) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
            view = page.evaluate(CHAT_VIEW_JS)
        page.wait_for_timeout(500)  # ... and it stays there
        view = page.evaluate(CHAT_VIEW_JS)
        page.screenshot(path=str(tmp_path / "phone.png"))
        print(f"\nphone-width screenshot: {tmp_path / 'phone.png'}")
        assert _question_and_answer_start_in_view(view) == [], view
        # the question is at the top of the chat, the answer right below it
        assert view["user"]["top"] - view["box"]["top"] < 80, view
        # the chat is not at its bottom now, which is when Gradio floats its scroll-down arrow over the text
        assert (
            page.locator("#rag-chat .scroll-down-button-container button").evaluate_all(
                "els => els.filter(e => e.getBoundingClientRect().width > 0).length"
            )
            == 0
        )
        assert page.js_errors == []
    finally:
        context.close()


def test_a_clicked_example_at_phone_width_is_scrolled_into_view(browser, chat_server):
    """An example button sits below the chat: after clicking it, the page too shows the question and answer."""
    context, page = open_page(browser, chat_server.url, width=390, height=844)
    try:
        ask(page, MEETING)
        example = chat_server.examples[1]
        before = page.locator(BOT).count()
        page.get_by_role("button", name=example, exact=True).click()
        wait_for_reply(page, before)
        deadline = time.monotonic() + 5
        view = page.evaluate(CHAT_VIEW_JS)
        while _question_and_answer_start_in_view(view) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
            view = page.evaluate(CHAT_VIEW_JS)
        assert _question_and_answer_start_in_view(view) == [], view
        assert page.js_errors == []
    finally:
        context.close()


def test_screenshot_for_the_readme(browser, chat_server, tmp_path):
    from playwright.sync_api import expect

    SCREENSHOT = README_SCREENSHOT if os.environ.get("RAG_UPDATE_SCREENSHOT") == "1" else tmp_path / "screenshot.png"
    context, page = open_page(browser, chat_server.url, width=1280, height=1500)
    try:
        reply = ask(page, "What did Yoon visit during his U.S. trip?")  # a cited answer above ...
        expect(reply.locator("mark.rag-quote").first).to_be_visible()
        reply = ask(page, "Who won the 2022 World Cup?")  # ... an abstention below
        expect(reply.locator(".rag-abstain")).to_be_visible()
        page.wait_for_timeout(500)  # the chat scrolls the newest question to its top: show the whole conversation
        page.evaluate("document.querySelector('#rag-chat [role=log]').scrollTop = 0; window.scrollTo(0, 0)")
        page.mouse.move(0, 0)
        page.wait_for_timeout(200)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        bottom = page.locator("#rag-clear").bounding_box()
        height = min(1500, int(bottom["y"] + bottom["height"] + 24)) if bottom else 1500
        # the viewport, cropped below the controls (a full-page capture resizes the page and loses the scroll)
        page.screenshot(path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1280, "height": height})
        assert SCREENSHOT.stat().st_size > 10_000
    finally:
        context.close()
