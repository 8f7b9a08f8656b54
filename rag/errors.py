"""Exceptions a caller can catch by kind; messages name the bad input."""

from __future__ import annotations


class RagError(Exception):
    """Base class for every error this library raises on purpose."""


class InvalidQuestionError(RagError, ValueError):
    """The question cannot be asked as given (wrong type, empty, too long)."""


class EmptyQuestionError(InvalidQuestionError):
    pass


class QuestionTooLongError(InvalidQuestionError):
    pass


class DocumentError(RagError, ValueError):
    """A file could not be turned into a document; `path` names it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class CorpusError(RagError):
    """The corpus as a whole is unusable (missing folder, no readable documents)."""


class IndexStoreError(RagError):
    """A stored index is missing, corrupt or stale; callers usually rebuild."""


class TokenizerUnavailableError(RagError):
    """Neither the offline nor the online cl100k encoding can be loaded."""


class ModelError(RagError):
    """The answer model (or its ONNX export) is missing, unreadable or does not match its record."""


class OnnxExportError(RagError):
    """An ONNX export is missing, could not be written, or does not reproduce its torch model."""
