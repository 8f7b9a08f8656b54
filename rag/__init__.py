"""Cited, extractive question answering over a folder of documents.

from rag import Assistant
assistant = Assistant.load()
answer = assistant.ask("Where was the fifth export strategy meeting held?")
"""

from __future__ import annotations

from ._version import __version__
from .assistant import Assistant
from .corpus import Document
from .errors import (
    CorpusError,
    DocumentError,
    EmptyQuestionError,
    IndexStoreError,
    InvalidQuestionError,
    QuestionTooLongError,
    RagError,
)
from .settings import Settings
from .types import Answer, Citation, Passage

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "CorpusError",
    "Document",
    "DocumentError",
    "EmptyQuestionError",
    "IndexStoreError",
    "InvalidQuestionError",
    "Passage",
    "QuestionTooLongError",
    "RagError",
    "Settings",
    "__version__",
]
