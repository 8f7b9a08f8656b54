"""The chat's HTML (ui/render.py) for hand-made answers: no model, no server, no browser."""

from __future__ import annotations

import re
from types import SimpleNamespace

from rag import Answer, Citation, Passage
from rag.types import NOT_ANSWERED, ShortAnswer
from ui.render import GENERIC_ABSTAIN, render_answer

# "Seoul" occurs twice in the quote: the bold must follow the offsets, not the first match.
TEXT = (
    "Intro line.\n\nThe meeting moved from Seoul to <Seoul> & back, said Kim. Tail sentence here.\n\n"
    "Another <b>related</b> sentence about Boston."
)
DOC = SimpleNamespace(text=TEXT, title="A <i>title</i>", date="2023-06-01")
DOCS = {"d": DOC}


def _citation(number: int, quote: str, start: int | None = None) -> Citation:
    start = TEXT.index(quote) if start is None else start
    end = start + len(quote)
    assert TEXT[start:end] == quote
    return Citation(number, "d", DOC.title, "d#0", start, end, quote, f"d#char={start},{end}")


QUOTE = "The meeting moved from Seoul to <Seoul> & back, said Kim."
PASSAGE = Passage("d#0", "d", DOC.title, 0, len(TEXT), TEXT, 0.5)


def _answered(short: ShortAnswer | None, confidence: float = 0.87) -> Answer:
    c = _citation(1, QUOTE)
    return Answer("Where did it move?", f"{QUOTE} [1]", True, confidence, [c], [PASSAGE], short_answer=short)


def _short(text: str, nth: int = 0) -> ShortAnswer:
    base = TEXT.index(QUOTE)
    start = [m.start() for m in re.finditer(re.escape(text), QUOTE)][nth] + base
    return ShortAnswer("d", start, start + len(text), text)


def _answer_text(html: str) -> str:
    return re.search(r'<div class="rag-text">(.*?)</div>', html).group(1)


def test_an_answer_is_its_quotes_with_markers_and_shows_confidence():
    html = render_answer(_answered(None), DOCS)
    text = _answer_text(html)
    assert text == (
        "The meeting moved from Seoul to &lt;Seoul&gt; &amp; back, said Kim."
        '<sup class="rag-cite" title="source 1">[1]</sup>'
    )
    assert "confidence 0.87" in html
    assert "<strong" not in html


def test_the_short_answer_is_bold_at_its_offsets_not_at_the_first_match():
    html = render_answer(_answered(_short("<Seoul>")), DOCS)
    text = _answer_text(html)
    assert text.startswith(
        'The meeting moved from Seoul to <strong class="rag-short">&lt;Seoul&gt;</strong> &amp; back'
    )
    # in the highlighted source too, inside the quote's <mark>
    assert (
        '<mark class="rag-quote" data-cite="1">The meeting moved from Seoul to '
        '<strong class="rag-short">&lt;Seoul&gt;</strong> &amp; back, said Kim.</mark>'
    ) in html

    html = render_answer(_answered(_short("Seoul", nth=0)), DOCS)
    assert _answer_text(html).startswith(
        'The meeting moved from <strong class="rag-short">Seoul</strong> to &lt;Seoul&gt;'
    )
    assert html.count("<strong") == 2  # answer text and source, nothing else


def test_a_short_answer_whose_offsets_disagree_is_not_bolded():
    good = _short("Kim")
    for bad in (
        ShortAnswer("d", good.start, good.end, "Lee"),  # text differs from the offsets
        ShortAnswer("other", good.start, good.end, "Kim"),  # another document
        ShortAnswer("d", TEXT.index("Tail"), TEXT.index("Tail") + 4, "Tail"),
    ):  # outside the quote
        html = render_answer(_answered(bad), DOCS)
        assert "<strong" not in html, bad


def test_an_abstention_has_no_confidence_and_related_passages_are_not_quotes():
    related = [_citation(1, "Another <b>related</b> sentence about Boston.")]
    answer = Answer("Who is the mayor of Boston?", NOT_ANSWERED, False, 0.6, [], [PASSAGE], related)
    html = render_answer(answer, DOCS)
    assert "confidence" not in html and "0.60" not in html
    assert '<div class="rag-abstain-h">The documents don&#x27;t say.</div>' in html
    assert f'<div class="rag-text">{GENERIC_ABSTAIN}</div>' in html
    assert '<mark class="rag-related-quote" data-cite="1">Another &lt;b&gt;related&lt;/b&gt; sentence' in html
    assert 'class="rag-quote"' not in html and "rag-cite" not in html
    assert "<b>" not in html


def test_an_abstention_with_a_reason_shows_the_reason():
    reason = (
        "The question is in Korean text, but the documents are in Latin-script text; ask in the documents' language."
    )
    answer = Answer(
        "바이오 클러스터는 어디에 만들어지나요?", NOT_ANSWERED, False, 0.0, [], [PASSAGE], abstain_reason=reason
    )
    html = render_answer(answer, DOCS)
    assert _answer_text(html) == reason.replace("'", "&#x27;")
    assert GENERIC_ABSTAIN not in html and "confidence" not in html
    assert "rag-related" not in html


# ---- the context around a quote whose passage is not among those retrieved: whole sentences only --------
LONG = " ".join(f"Sentence number {i} says something about the harbour and its {i} boats." for i in range(1, 40))


def test_a_sentence_window_starts_and_ends_at_sentence_boundaries():
    from ui.context import CONTEXT_CHARS, sentence_window

    quote = "Sentence number 20 says something about the harbour and its 20 boats."
    start = LONG.index(quote)
    s, e = sentence_window(LONG, start, start + len(quote))
    shown = LONG[s:e]
    assert quote in shown and shown.startswith("Sentence number ") and shown.endswith("boats.")
    assert s < start and e > start + len(quote)  # neighbours on both sides fit the budget ...
    assert start - s <= CONTEXT_CHARS and e - (start + len(quote)) <= CONTEXT_CHARS  # ... and no more
    assert sentence_window(LONG, start, start + len(quote), budget=10) == (start, start + len(quote))


def test_related_passages_outside_the_retrieved_ones_are_shown_as_whole_sentences():
    doc = SimpleNamespace(text=LONG, title="Harbour", date=None)
    quote = "Sentence number 20 says something about the harbour and its 20 boats."
    start = LONG.index(quote)
    related = [Citation(1, "h", "Harbour", "h#9", start, start + len(quote), quote, f"h#char={start},{start + 1}")]
    answer = Answer("How many boats?", NOT_ANSWERED, False, 0.1, [], [], related)  # no passage holds it
    html = render_answer(answer, {"h": doc})
    passage = re.search(r'<div class="rag-passage">(.*?)</div>', html).group(1)
    plain = re.sub(r"<[^>]+>", "", passage)
    assert plain.startswith("Sentence number ") and plain.endswith("boats."), plain
    assert plain in LONG and len(plain) > len(quote)
    assert f'<mark class="rag-related-quote" data-cite="1">{quote}</mark>' in passage  # the quote stands out


def test_a_question_read_with_a_word_corrected_says_how_it_was_read():
    from dataclasses import replace

    answer = replace(_answered(None), question="Where did it <mvoe>?", read_as="Where did it <move>?")
    html = render_answer(answer, DOCS)
    assert '<div class="rag-muted rag-read-as">Read as: Where did it &lt;move&gt;?</div>' in html
    assert "rag-read-as" not in render_answer(_answered(None), DOCS)
