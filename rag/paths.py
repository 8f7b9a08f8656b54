"""Where the source checkout is: the one place the tooling (eval, bench) looks for the repository root."""

from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    """The source checkout's root: the folder holding `pyproject.toml` beside the `rag` package, else the
    current directory (an installed package has no checkout; eval sets and outputs are then relative to it)."""
    beside = Path(__file__).resolve().parent.parent
    return beside if (beside / "pyproject.toml").is_file() else Path.cwd()
