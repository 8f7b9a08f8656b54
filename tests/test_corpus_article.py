"""The corpus copy of the Yoon biotech-cluster article holds the whole article from its seed, and no site chrome."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.corpus import load_document
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "corpus" / "yoon-biotech-cluster-2023-06-01.md"
SEEDS = ROOT.parent / "shared" / "seeds"
SEED = SEEDS / "000_73ec7e58bfa243c6.txt"
# The seed ends with the site's comment box; it is not part of the article.
COMMENT_BOX = ("To write comments, please log in", "Standards Board Policy")


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    if not SEEDS.is_dir():
        pytest.skip(
            f"../shared/seeds not present: {SEEDS} does not exist, so the corpus article cannot be "
            "checked against its seed"
        )
    if not SEED.is_file():
        pytest.skip(f"../shared/seeds not present: {SEED.name} is missing from {SEEDS}")
    lines = [_squash(line) for line in SEED.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line]


@pytest.fixture(scope="module")
def loaded_text() -> str:
    return _squash(load_document(ARTICLE, settings=Settings()).text)


def _split(seed_lines: list[str]) -> tuple[list[str], list[str]]:
    """(article paragraphs, comment-box lines): the seed's last two lines are the comment box."""
    paragraphs, box = seed_lines[:-2], seed_lines[-2:]
    assert [any(line.startswith(p) for p in COMMENT_BOX) for line in box] == [True, True], (
        f"the seed no longer ends with the comment box: {box!r}"
    )
    return paragraphs, box


def test_every_seed_paragraph_is_in_the_loaded_article(seed_lines, loaded_text):
    paragraphs, _ = _split(seed_lines)
    assert len(paragraphs) >= 10, f"only {len(paragraphs)} article lines in the seed"
    missing = [p for p in paragraphs if p not in loaded_text]
    assert not missing, f"{len(missing)} seed paragraph(s) missing from {ARTICLE.name}: {missing!r}"


def test_the_article_ends_with_the_byline(seed_lines, loaded_text):
    paragraphs, _ = _split(seed_lines)
    assert loaded_text.endswith(_squash(" ".join(paragraphs[-2:]))), "the loaded text does not end with the byline"


def test_the_comment_box_is_not_in_the_loaded_article(seed_lines, loaded_text):
    _, box = _split(seed_lines)
    for line in box:
        assert line not in loaded_text, f"site comment box leaked into {ARTICLE.name}: {line!r}"
    for start in COMMENT_BOX:
        assert start not in loaded_text
