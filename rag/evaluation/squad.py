"""SQuAD v2.0 mode: each article is one document in a temporary corpus + index; every question is asked.

Rows of the table (all computed in the same run):
- engine: the default pipeline (`Assistant.ask`);
- always abstain: refuses everything;
- top-1 cosine sentence, never abstain: the article sentence closest to the question (same embedder).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import metrics as M
from .datasets import SquadArticle, load_squad

ROW_LABELS = {
    "engine": "engine (default pipeline)",
    "always_abstain": "always abstain",
    "top1_cosine": "top-1 sentence by cosine, never abstain",
}


def score_row(answerable: Sequence[bool], abstained: Sequence[bool], correct: Sequence[bool]) -> dict:
    """`correct[i]`: answered and contains a gold answer (only read for answerable questions)."""
    n = len(answerable)
    n_ans = sum(answerable)
    right_ans = sum(1 for a, r, c in zip(answerable, abstained, correct) if a and not r and c)
    right_unans = sum(1 for a, r in zip(answerable, abstained) if not a and r)
    ab = M.abstention_scores(answerable, abstained)
    n_answered = sum(1 for r in abstained if not r)
    return {
        # of the questions answered, the share answered right (an answer to an unanswerable one is wrong)
        "answer_precision": right_ans / n_answered if n_answered else None,
        "answerable_accuracy": right_ans / n_ans if n_ans else None,
        "abstain_precision": ab["abstain_precision"],
        "abstain_recall": ab["abstain_recall"],
        "overall_accuracy": (right_ans + right_unans) / n if n else None,
        "wrongly_refused": ab["wrongly_refused"],
    }


def _safe_name(title: str, index: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", title).strip("_")[:60] or "article"
    return f"{index:02d}-{slug}.txt"


def run_squad(path: str | Path, settings=None, embedder=None, keep_items: bool = True) -> dict:
    from rag import Assistant, Settings
    from rag.sentences import split_sentences

    from .runner import WARM_UP_QUESTION, clear_query_cache, get_answer_model, get_embedder

    settings = settings or Settings()
    embedder = embedder or get_embedder(settings)
    articles: list[SquadArticle] = load_squad(path)
    questions = [q for a in articles for q in a.questions]
    with tempfile.TemporaryDirectory(prefix="rag-eval-squad-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        doc_ids = []
        for i, article in enumerate(articles):
            name = _safe_name(article.title, i)
            (corpus / name).write_text(article.text + "\n", encoding="utf-8")
            doc_ids.append(name)
        assistant = Assistant.load(
            corpus_dir=corpus,
            index_dir=index,
            settings=settings,
            embedder=embedder,
            answer_model=get_answer_model(settings),
        )
        load_seconds = assistant.build_info.get("load_seconds")

        # reference: every sentence of each article, embedded once
        sentence_texts, sentence_vectors = [], []
        for doc_id in doc_ids:
            text = assistant.documents[doc_id].text
            spans = split_sentences(text)
            sentence_texts.append([text[s.start : s.end] for s in spans])
            sentence_vectors.append(embedder.encode(sentence_texts[-1]))

        assistant.ask(WARM_UP_QUESTION)
        clear_query_cache(embedder)
        records: list[dict[str, Any]] = []
        latencies: list[float] = []
        for q in questions:
            t0 = time.perf_counter()
            answer = assistant.ask(q.question)
            latencies.append((time.perf_counter() - t0) * 1000)
            qv = embedder.encode_query(q.question)
            best = int((sentence_vectors[q.article] @ qv).argmax())
            top1 = sentence_texts[q.article][best]
            ok, total = 0, 0
            for c in list(answer.citations) + list(answer.related):
                total += 1
                ok += assistant.documents[c.doc_id].text[c.start : c.end] == c.quote
            stands_behind = answer.citations or answer.related[:1]
            short = answer.short_answer.text if answer.short_answer else None
            records.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "article": articles[q.article].title,
                    "answerable": q.answerable,
                    "answers": list(q.answers),
                    "answered": bool(answer.answered),
                    "confidence": round(float(answer.confidence), 4),
                    "correct": bool(answer.answered) and M.contains_answer(answer.text, q.answers),
                    "top1_correct": M.contains_answer(top1, q.answers),
                    "best_correct": q.answerable
                    and bool(stands_behind)
                    and M.contains_answer(stands_behind[0].quote, q.answers),
                    "short_answer": short,
                    "short_f1": round(M.max_f1(short, q.answers), 4) if short and q.answers else 0.0,
                    "short_exact": bool(short and q.answers and M.exact_match(short, q.answers)),
                    "short_contains": bool(short and q.answers and M.contains_answer(short, q.answers)),
                    "answer": answer.text,
                    "top1_sentence": top1,
                    "verbatim_ok": ok,
                    "verbatim_total": total,
                }
            )
    answerable = [r["answerable"] for r in records]
    rows = {
        "engine": score_row(answerable, [not r["answered"] for r in records], [r["correct"] for r in records]),
        "always_abstain": score_row(answerable, [True] * len(records), [False] * len(records)),
        "top1_cosine": score_row(answerable, [False] * len(records), [r["top1_correct"] for r in records]),
    }
    confidences = [r["confidence"] for r in records]
    rows["engine"]["calibration_ece"] = M.expected_calibration_error(confidences, [r["best_correct"] for r in records])
    rows["engine"]["confidence_gap"] = M.confidence_gap(
        confidences, [r["answered"] for r in records], [r["correct"] for r in records]
    )
    rows["engine"]["short_answer_f1"] = M.mean(
        r["short_f1"] for r in records if r["answerable"] and r["answered"] and r["short_answer"]
    )
    rows["engine"].update(M.short_answer_scores(r for r in records if r["answerable"]))
    rows["engine"]["reliability"] = M.reliability_table(confidences, [r["best_correct"] for r in records])
    # right if answered: the sentence it stands behind holds a gold answer (an abstention has one too)
    risk_coverage = M.risk_coverage(confidences, [r["best_correct"] for r in records])
    rows["engine"]["latency_p50_ms"] = M.percentile(latencies, 50)
    rows["engine"]["latency_p95_ms"] = M.percentile(latencies, 95)
    ok = sum(r["verbatim_ok"] for r in records)
    total = sum(r["verbatim_total"] for r in records)
    rows["engine"]["exact_quote_rate"] = ok / total if total else 1.0
    rows = {
        name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()} for name, row in rows.items()
    }
    rows["engine"]["reliability"] = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in b.items()} for b in rows["engine"]["reliability"]
    ]
    return {
        "name": "squad",
        "path": str(path),
        "counts": {
            "articles": len(articles),
            "paragraphs": sum(len(a.paragraphs) for a in articles),
            "questions": len(records),
            "answerable": sum(answerable),
            "unanswerable": len(records) - sum(answerable),
            "answered": sum(1 for r in records if r["answered"]),
        },
        "load_seconds": round(load_seconds, 4) if load_seconds is not None else None,
        "metrics": rows["engine"],
        "rows": rows,
        "risk_coverage": risk_coverage,
        "items": records if keep_items else [],
    }
