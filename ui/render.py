"""HTML for chat messages. Every piece of question or document text goes through `esc`.

Each message is one line of HTML starting with a <div>: Markdown treats it as a raw HTML block
(no Markdown parsing of document text), and Gradio's sanitiser still runs over it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from rag import Answer, Citation, Passage
from rag.types import NOT_ANSWERED, ShortAnswer

from .context import sentence_window

MAX_SHOWN_QUESTION = 400  # characters of an overlong question echoed back in the chat


def esc(text: str) -> str:
    """Escape for HTML text; newlines become <br> so the message stays a single HTML block."""
    out = html.escape(str(text), quote=True)
    out = out.replace("$", "&#36;").replace("\\", "&#92;")  # no LaTeX / Markdown escapes
    out = out.replace("\r\n", "\n").replace("\r", "\n")
    return out.replace("\n", "<br>")


def render_user(question: str) -> str:
    text = question if isinstance(question, str) else str(question)
    if len(text) > MAX_SHOWN_QUESTION:
        shown = esc(text[:MAX_SHOWN_QUESTION]) + f'<span class="rag-muted"> … ({len(text):,} characters)</span>'
    else:
        shown = esc(text)
    return f'<div class="rag-user">{shown}</div>'


NOTICE_START = '<div class="rag-notice">'


def render_notice(message: str, detail: str | None = None) -> str:
    """A friendly message for input the assistant can't take (shown instead of an answer, without 👍/👎)."""
    body = f'<div class="rag-notice-h">{esc(message)}</div>'
    if detail:
        body += f'<div class="rag-muted">{esc(detail)}</div>'
    return f"{NOTICE_START}{body}</div>"


def is_notice(message_html: str) -> bool:
    """Whether a chat message is a notice (render_notice) rather than an answer or an abstention."""
    return message_html.startswith(NOTICE_START)


def _short_in(c: Citation, short: ShortAnswer | None) -> tuple[int, int] | None:
    """Where the short answer lies inside the quote of `c` (offsets into `c.quote`), if it belongs to `c`."""
    if short is None or short.doc_id != c.doc_id or not (c.start <= short.start < short.end <= c.end):
        return None
    s, e = short.start - c.start, short.end - c.start
    return (s, e) if c.quote[s:e] == short.text else None  # offsets that disagree with the text: no bold


def _quote_html(c: Citation, short: ShortAnswer | None) -> str:
    """The escaped quote, with the short answer in <strong> when it lies inside it (placed by offsets)."""
    span = _short_in(c, short)
    if span is None:
        return esc(c.quote)
    s, e = span
    return f'{esc(c.quote[:s])}<strong class="rag-short">{esc(c.quote[s:e])}</strong>{esc(c.quote[e:])}'


def _answer_text(answer: Answer) -> str:
    """The answer built from its citations: each quote (short answer in bold) and its [n] badge."""
    if not answer.citations:  # should not happen for an answer: show its text as it is
        return esc(answer.text)
    return " ".join(
        f'{_quote_html(c, answer.short_answer)}<sup class="rag-cite" title="source {c.number}">[{c.number}]</sup>'
        for c in answer.citations
    )


def _passage_for(c: Citation, passages: Sequence[Passage]) -> Passage | None:
    for p in passages:
        if p.chunk_id == c.chunk_id and p.start <= c.start and c.end <= p.end:
            return p
    for p in passages:
        if p.doc_id == c.doc_id and p.start <= c.start and c.end <= p.end:
            return p
    return None


def _span_for(c: Citation, passages: Sequence[Passage], documents: Mapping) -> tuple[str, int, int, str]:
    """(doc_id, start, end, text) of the context shown around a quote: its passage (whole sentences), else the
    whole sentences of the document around it."""
    p = _passage_for(c, passages)
    if p is not None:
        return p.doc_id, p.start, p.end, p.text
    doc = documents.get(c.doc_id)
    if doc is None:  # should not happen: show the quote alone
        return c.doc_id, c.start, c.end, c.quote
    start, end = sentence_window(doc.text, c.start, c.end)
    return c.doc_id, start, end, doc.text[start:end]


def _highlight(
    text: str, base: int, quotes: Sequence[Citation], related: bool, short: ShortAnswer | None = None
) -> str:
    """The passage with each quoted sentence wrapped in <mark>, located by offsets (not by searching)."""
    parts: list[str] = []
    pos = 0
    cls = "rag-related-quote" if related else "rag-quote"
    for c in sorted(quotes, key=lambda q: q.start):
        s, e = c.start - base, c.end - base
        if s < pos or e > len(text) or s > e:
            continue  # overlapping or out of range: leave unmarked rather than garble
        parts.append(esc(text[pos:s]))
        tag = "" if related else f'<sup class="rag-cite">[{c.number}]</sup>'
        inner = esc(text[s:e]) if related or text[s:e] != c.quote else _quote_html(c, short)
        parts.append(f'<mark class="{cls}" data-cite="{c.number}">{inner}</mark>{tag}')
        pos = e
    parts.append(esc(text[pos:]))
    return "".join(parts)


def _sources(
    citations: Sequence[Citation],
    passages: Sequence[Passage],
    documents: Mapping,
    related: bool,
    short: ShortAnswer | None = None,
) -> str:
    groups: dict[tuple[str, int, int], dict] = {}
    for c in citations:
        doc_id, start, end, text = _span_for(c, passages, documents)
        key = (doc_id, start, end)
        groups.setdefault(key, {"text": text, "start": start, "cites": [], "doc_id": doc_id})["cites"].append(c)
    items = []
    for group in groups.values():
        cites: list[Citation] = group["cites"]
        first = cites[0]
        doc = documents.get(group["doc_id"])
        date = getattr(doc, "date", None) if doc is not None else None
        if related:
            label = '<span class="rag-tag rag-tag-related">related</span>'
        else:
            label = "".join(f'<span class="rag-num">{c.number}</span>' for c in cites)
        head = f'{label} <span class="rag-title">{esc(first.title or group["doc_id"])}</span>'
        if date:
            head += f' <span class="rag-date">· {esc(date)}</span>'
        if first.kind == "metadata":
            head += ' <span class="rag-tag">article details</span>'
        body = _highlight(group["text"], group["start"], cites, related, short)
        items.append(
            f'<div class="rag-source"><div class="rag-source-h">{head}</div><div class="rag-passage">{body}</div></div>'
        )
    return "".join(items)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _retrieved_table(passages: Sequence[Passage]) -> str:
    rows = []
    for p in passages:
        snippet = p.text if len(p.text) <= 180 else p.text[:180].rsplit(" ", 1)[0] + " …"
        rows.append(
            f"<tr><td>{p.rank}</td><td>{_fmt(p.score)}</td><td>{_fmt(p.dense_score)}</td><td>{_fmt(p.bm25_score)}</td>"
            f'<td><span class="rag-title">{esc(p.title)}</span> '
            f'<span class="rag-muted">{esc(p.kind)} · chars {p.start}–{p.end}</span>'
            f"<br>{esc(snippet)}</td></tr>"
        )
    return (
        f'<details class="rag-retrieved" open><summary>All {len(passages)} retrieved passages, with scores</summary>'
        '<div class="rag-table-wrap"><table><thead><tr><th>#</th><th>fused</th><th>dense</th><th>BM25</th>'
        f"<th>passage</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div></details>"
    )


GENERIC_ABSTAIN = "No sentence in the documents answers this."


def render_answer(answer: Answer, documents: Mapping, show_passages: bool = False) -> str:
    """An answer (quoted sentences, markers, numbered sources) or an abstention (related passages).

    Confidence is shown on answers only: on an abstention it would read as a score for the related passages.
    """
    if answer.answered:
        confidence = f'<span class="rag-muted rag-confidence">confidence {answer.confidence:.2f}</span>'
        out = (
            f'<div class="rag-answer"><div class="rag-text">{_answer_text(answer)}</div>'
            f'<div class="rag-sources"><div class="rag-sources-h">Sources {confidence}</div>'
            f"{_sources(answer.citations, answer.passages, documents, False, answer.short_answer)}</div>"
        )
    else:
        reason = answer.abstain_reason or GENERIC_ABSTAIN
        out = (
            f'<div class="rag-answer rag-abstain"><div class="rag-abstain-h">{esc(NOT_ANSWERED)}</div>'
            f'<div class="rag-text">{esc(reason)}</div>'
        )
        if answer.related:
            out += (
                '<div class="rag-sources rag-related"><div class="rag-sources-h">Related passages — not an answer'
                f"</div>{_sources(answer.related, answer.passages, documents, related=True)}</div>"
            )
    if answer.read_as:  # a misspelt word was read as a word of the documents (rag/spelling.py)
        out += f'<div class="rag-muted rag-read-as">Read as: {esc(answer.read_as)}</div>'
    if show_passages and answer.passages:
        out += _retrieved_table(answer.passages)
    return out + "</div>"
