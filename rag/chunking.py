"""Documents → sentences → token-budgeted chunks, all as character spans of `Document.text`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .corpus import Document
from .sentences import Span, split_sentences
from .settings import Settings
from .tokens import count_tokens

# How a metadata line is phrased for search; the quote shown to users is always the line itself.
METADATA_PHRASES = {
    "author": "This article was written by {v}; {v} wrote it and is its author, writer and reporter.",
    "byline": "Byline: the article is by {v}, the reporter who wrote it, with contact e-mail.",
    "publisher": "The article was published by {v}, the newspaper, publication, news outlet and source that ran it.",
    "published": "The article was published, posted and released on {v}, its publication date and time.",
    "date": "The document is dated {v}, its publication date.",
    "updated": "The article was last updated on {v}, its update date and time.",
    "title": "The title and headline of the article is: {v}.",
    "url": "The article's web address, link and online source is {v}.",
    "section": "The article appeared in the {v} section.",
}


@dataclass(frozen=True)
class Sentence:
    doc_id: str
    index: int
    start: int
    end: int
    text: str
    kind: str = "body"  # "body" | "heading" (a title-like line of its own) | "metadata"
    search_text: str = ""

    @property
    def embed_text(self) -> str:
        return self.search_text or self.text

    @property
    def scored_text(self) -> str:
        """What the scorers and the answer model read: a metadata field in its searchable form, any other
        sentence as written."""
        return self.embed_text if self.kind == "metadata" else self.text


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    start: int
    end: int
    first_sentence: int
    last_sentence: int  # inclusive
    text: str
    kind: str = "body"
    search_text: str = ""

    @property
    def embed_text(self) -> str:
        return self.search_text or self.text


def _split_oversized(text: str, span: Span, budget: int) -> list[Span]:
    """Cut a sentence longer than the budget at word boundaries, each piece within budget."""
    pieces, piece_start, last_end = [], span.start, span.start
    for m in re.finditer(r"\S+", text[span.start : span.end]):
        word_end = span.start + m.end()
        if count_tokens(text[piece_start:word_end]) > budget and last_end > piece_start:
            pieces.append(Span(piece_start, last_end))
            piece_start = span.start + m.start()
        last_end = word_end
    pieces.append(Span(piece_start, span.end))
    return pieces


def _is_heading(text: str, span: Span) -> bool:
    """A short line standing alone without closing punctuation: a title, dateline or heading."""
    whole_line = (span.start == 0 or text[span.start - 1] == "\n") and (span.end == len(text) or text[span.end] == "\n")
    line = text[span.start : span.end]
    return (
        whole_line and len(line.split()) <= 16 and not line.rstrip().endswith((".", "!", "?", '"', "\u201d", ":", ";"))
    )


def document_sentences(doc: Document, settings: Settings) -> list[Sentence]:
    sentences: list[Sentence] = []
    for f in doc.metadata_fields:
        phrase = METADATA_PHRASES.get(f.key, f.key.replace("_", " ") + ": {v}.").format(v=f.value)
        sentences.append(
            Sentence(doc.doc_id, len(sentences), f.start, f.end, doc.text[f.start : f.end], "metadata", phrase)
        )
    for span in split_sentences(doc.text, doc.body_start):
        parts = (
            [span]
            if count_tokens(doc.text[span.start : span.end]) <= settings.chunk_tokens
            else _split_oversized(doc.text, span, settings.chunk_tokens)
        )
        for part in parts:
            kind = "heading" if _is_heading(doc.text, part) else "body"
            sentences.append(
                Sentence(doc.doc_id, len(sentences), part.start, part.end, doc.text[part.start : part.end], kind)
            )
    return sentences


def chunk_sentences(doc: Document, sentences: list[Sentence], settings: Settings) -> list[Chunk]:
    """Greedy packing of whole sentences up to the token budget, overlapping by N sentences."""
    chunks: list[Chunk] = []
    meta = [s for s in sentences if s.kind == "metadata"]
    if meta:
        chunks.append(
            Chunk(
                f"{doc.doc_id}#meta",
                doc.doc_id,
                meta[0].start,
                meta[-1].end,
                meta[0].index,
                meta[-1].index,
                doc.text[meta[0].start : meta[-1].end],
                "metadata",
                " ".join(s.search_text for s in meta),
            )
        )
    body = [s for s in sentences if s.kind != "metadata"]
    tokens = [count_tokens(s.text) for s in body]
    i = 0
    while i < len(body):
        j, used = i, tokens[i]
        while j + 1 < len(body) and used + tokens[j + 1] <= settings.chunk_tokens:
            j += 1
            used += tokens[j]
        first, last = body[i], body[j]
        chunks.append(
            Chunk(
                f"{doc.doc_id}#{len(chunks)}",
                doc.doc_id,
                first.start,
                last.end,
                first.index,
                last.index,
                doc.text[first.start : last.end],
            )
        )
        if j + 1 >= len(body):
            break
        i = max(i + 1, j + 1 - settings.chunk_overlap_sentences)
    return chunks


def chunk_document(doc: Document, settings: Settings) -> tuple[list[Sentence], list[Chunk]]:
    sentences = document_sentences(doc, settings)
    return sentences, chunk_sentences(doc, sentences, settings)
