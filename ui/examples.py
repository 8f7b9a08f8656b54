"""The example questions under the chat's input: short, answerable, and answered by this index right now.

Gradio-free, so `rag serve` can pick them on its loading thread while Gradio is being imported.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rag import Assistant

log = logging.getLogger("rag.ui")

EXAMPLE_COUNT = 4
PREFERRED_EXAMPLES = (
    "Where was the fifth export strategy meeting held?",
    "Which hospital will work with MIT on medical big data?",
    "What did Yoon visit during his U.S. trip?",
    "Who wrote the article?",
)


def _eval_files(assistant: Assistant) -> list[Path]:
    roots = []
    if assistant.corpus_dir is not None:
        roots.append(Path(assistant.corpus_dir).resolve().parent)
    roots += [Path.cwd(), Path(__file__).resolve().parent.parent]
    seen, files = set(), []
    for root in roots:
        path = root / "eval" / "article_qa.jsonl"
        if path not in seen and path.is_file():
            seen.add(path)
            files.append(path)
    return files


def pick_examples(assistant: Assistant, limit: int = EXAMPLE_COUNT) -> list[str]:
    """Short, answerable questions: the preferred list, then the eval set's; kept only if answered now."""
    candidates = list(PREFERRED_EXAMPLES)
    for path in _eval_files(assistant):
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                if item.get("answerable") and not item.get("history") and len(item.get("question", "")) <= 70:
                    candidates.append(item["question"])
        except (OSError, ValueError) as exc:
            log.warning("could not read example questions from %s: %s", path, exc)
    chosen: list[str] = []
    for question in dict.fromkeys(candidates):
        try:
            if assistant.ask(question).answered:
                chosen.append(question)
        except Exception:  # an example must never stop the server
            log.exception("example question failed: %r", question)
        if len(chosen) >= limit:
            break
    return chosen
