"""The web chat's reader-facing details, in headless Chromium: what notices say and carry, whole-sentence related
passages, the scores table's header, and what a phone shows before the first question.

Skips when Chromium or playwright is missing, except under CI (env CI=true), where that is a failure.
"""

from __future__ import annotations

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
)

from rag.sentences import split_sentences
from ui.messages import NO_WORDS_MESSAGE, TOO_LONG_MESSAGE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]

MEETING = "Where was the fifth export strategy meeting held?"
ABSTAINED = ("What is the capital of France?", "Who won the 2022 World Cup?")
PHONE = {"width": 390, "height": 664}  # a 390 x 844 phone's browser, less its address and tool bars

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


# ---- notices ---------------------------------------------------------------------------------------------
def test_input_without_words_is_told_that_it_needs_words(page):
    from playwright.sync_api import expect

    reply = ask(page, "🙂🙂🙂")
    expect(page.locator(USER).last).to_have_text("🙂🙂🙂")  # the reader did type: it is shown ...
    expect(reply.locator(".rag-notice-h")).to_have_text(NO_WORDS_MESSAGE)  # ... and told what is missing
    assert "type a question" not in reply.inner_text().lower()


def test_an_overlong_question_gets_one_plain_sentence(page, chat_server):
    from playwright.sync_api import expect

    reply = ask(page, "why " * 1250)  # 5,000 characters
    limit = chat_server.assistant.settings.max_question_chars
    expect(reply.locator(".rag-notice-h")).to_have_text(TOO_LONG_MESSAGE.format(limit=limit))
    expect(reply.locator(".rag-notice .rag-muted")).to_have_count(0)  # no second line of error wording
    text = reply.inner_text()
    assert "the limit is" not in text and "5000" not in text
    expect(page.locator(USER).last).to_contain_text("5,000 characters")


# Whether each reply offers 👍/👎: the Like button drawn right after its message, if it is visible.
VOTES_JS = """() => [...document.querySelectorAll('#rag-chat [data-testid=bot]')].map(bot => {
  const message = bot.closest('.message');
  const buttons = message && message.nextElementSibling;
  const like = buttons && buttons.classList.contains('message-buttons') ? buttons.querySelector('button[aria-label=Like]') : null;
  const shown = !!like && like.getBoundingClientRect().width > 0 && getComputedStyle(like).visibility !== 'hidden';
  return {kind: bot.querySelector('.rag-notice') ? 'notice' : (bot.querySelector('.rag-abstain') ? 'abstention' : 'answer'), votes: shown};
})"""


def test_thumbs_are_offered_on_answers_and_abstentions_only(page, chat_server):
    from playwright.sync_api import expect

    assert not chat_server.assistant.ask(ABSTAINED[0]).answered
    ask(page, MEETING)
    ask(page, ABSTAINED[0])
    ask(page, "🙂🙂🙂")  # a notice under a shown question
    ask(page, "")  # a notice on its own
    replies = page.evaluate(VOTES_JS)
    assert [r["kind"] for r in replies] == ["answer", "abstention", "notice", "notice"], replies
    assert [r["votes"] for r in replies] == [True, True, False, False], replies
    expect(page.locator("#rag-chat button[aria-label=Like]:visible")).to_have_count(2)
    expect(page.locator("#rag-chat button[aria-label=Dislike]:visible")).to_have_count(2)


def test_repeated_empty_submissions_show_one_notice_at_a_time(page, chat_server):
    from playwright.sync_api import expect

    examples = chat_server.examples
    assert len(examples) >= 3
    ask(page, MEETING)
    box = page.locator("#rag-question textarea")
    reply = ask(page, "")
    expect(reply.locator(".rag-notice .rag-muted")).to_contain_text(examples[0])
    for example in examples[1:3]:  # each repeat replaces the notice, offering the next example
        box.fill("")
        box.press("Enter")
        expect(page.locator("#rag-chat .rag-notice .rag-muted")).to_contain_text(example)
        expect(page.locator("#rag-chat .rag-notice")).to_have_count(1)
        expect(page.locator(BOT)).to_have_count(2)  # the answer and one notice
    box.fill(MEETING)
    box.press("Enter")  # a real question takes the notice's place
    expect(page.locator(USER)).to_have_count(2)
    expect(page.locator(f"{BOT} .rag-answer")).to_have_count(2)
    expect(page.locator("#rag-chat .rag-notice")).to_have_count(0)


# ---- related passages ----------------------------------------------------------------------------------
def _whole_sentences(shown: str, text: str) -> bool:
    """Whether `shown` (whitespace aside) is a run of whole sentences of `text`, first to last."""
    spans = split_sentences(text)
    want = squash(shown)
    return any(
        squash(text[spans[i].start : spans[j].end]) == want for i in range(len(spans)) for j in range(i, len(spans))
    )


def test_related_passages_are_whole_sentences_with_the_related_one_highlighted(page, chat_server):
    from playwright.sync_api import expect

    assistant = chat_server.assistant
    outside = 0  # related sentences whose passage is not among those retrieved: shown from the document itself
    for question in ABSTAINED:
        expected = assistant.ask(question)
        assert not expected.answered and expected.related, question
        outside += sum(
            not any(p.doc_id == c.doc_id and p.start <= c.start and c.end <= p.end for p in expected.passages)
            for c in expected.related
        )
        reply = ask(page, question)
        expect(reply.locator(".rag-related mark.rag-related-quote")).to_have_count(len(expected.related))
        marked = reply.locator(".rag-related mark.rag-related-quote").all_inner_texts()
        assert sorted(map(squash, marked)) == sorted(squash(c.quote) for c in expected.related)
        passages = reply.locator(".rag-related .rag-passage")  # sentences of one passage share it
        text = next(iter(assistant.documents.values())).text
        for i in range(passages.count()):
            shown = passages.nth(i).inner_text()
            assert _whole_sentences(shown, text), (question, shown)
            assert passages.nth(i).locator("mark.rag-related-quote").count() >= 1
    assert outside, "no related sentence came from outside the retrieved passages: the window path went untested"


# ---- the scores table and the phone's first screen ---------------------------------------------------------
def test_the_scores_table_header_does_not_wrap_at_phone_width(browser, chat_server):
    from playwright.sync_api import expect

    context, page = open_page(browser, chat_server.url, **PHONE)
    try:
        page.locator("#rag-settings").get_by_text("Settings").click()
        page.get_by_label("Show all retrieved passages with scores").check()
        reply = ask(page, MEETING)
        header = reply.locator("details.rag-retrieved thead th")
        expect(header.nth(2)).to_have_text("dense")
        lines = header.evaluate_all("""ths => ths.map(th => { const r = document.createRange();
            r.selectNodeContents(th); return [th.textContent, new Set([...r.getClientRects()].map(x => Math.round(x.top))).size]; })""")
        assert all(count == 1 for _, count in lines), lines  # "dense" on one line, not "dens" / "e"
        assert page.js_errors == []
    finally:
        context.close()


FIRST_SCREEN_JS = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; };
  const chat = document.querySelector('#rag-chat');
  const placeholder = chat.querySelector('.placeholder-content p');
  return {
    viewport: {width: window.innerWidth, height: window.innerHeight}, scroll_width: document.documentElement.scrollWidth,
    about: box(document.querySelector('#rag-header .rag-about')), chat: box(chat), input: box(document.querySelector('#rag-question textarea')),
    examples: [...document.querySelectorAll('.rag-examples button')].map(box),
    placeholder: placeholder ? {...box(placeholder), text: placeholder.textContent} : null,
  };
}"""


def test_a_phone_shows_the_input_the_examples_and_the_subject_on_its_first_screen(browser, chat_server, tmp_path):
    context, page = open_page(browser, chat_server.url, **PHONE)
    try:
        page.wait_for_timeout(300)  # layout settles
        view = page.evaluate(FIRST_SCREEN_JS)
        page.screenshot(path=str(tmp_path / "phone-first-screen.png"))
        print(f"\nphone first screen: {tmp_path / 'phone-first-screen.png'}")
        fold = view["viewport"]["height"]
        assert view["scroll_width"] <= view["viewport"]["width"] + 1  # no sideways scrolling
        assert len(view["examples"]) == len(chat_server.examples) >= 1
        for name, rect in [("about line", view["about"]), ("input", view["input"])] + [
            (f"example {i + 1}", r) for i, r in enumerate(view["examples"])
        ]:
            assert 0 <= rect["top"] and rect["bottom"] <= fold, (name, rect, view)
        # before the first question the chat is one padded line, not a screen-high empty box
        assert view["chat"]["height"] <= 120, view
        placeholder = view["placeholder"]
        assert placeholder and placeholder["text"].strip(), view
        assert placeholder["left"] - view["chat"]["left"] >= 8, view  # not flush against the box's edge
        assert page.js_errors == []
    finally:
        context.close()
