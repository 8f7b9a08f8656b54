"""Markdown tables, the JSON report and the PNG bar chart."""

from __future__ import annotations

import json
from pathlib import Path

from .registry import METRICS, PLAIN_SETS, labels, target

# Labels, targets and directions come from the metric registry; these are the views.
# (key, label, article target or None): every metric of the JSONL sets, in registry order
SET_ROWS = tuple((m.key, m.label, target(m.key, "article")) for m in METRICS if set(m.sets) & set(PLAIN_SETS))
SQUAD_COLUMNS = labels(
    ("answerable_accuracy", "abstain_precision", "abstain_recall", "overall_accuracy", "answer_precision")
)
SQUAD_NOTE_METRICS = (
    "exact_quote_rate",
    "calibration_ece",
    "confidence_gap",
    "short_answer_exact",
    "short_answer_contains",
    "short_answer_given",
)  # engine row, below the table
COMPARE_COLUMNS = labels(
    (
        "hit_at_1",
        "hit_at_3",
        "mrr",
        "evidence_accuracy",
        "answer_containment",
        "token_f1",
        "abstain_precision",
        "abstain_recall",
        "wrongly_refused",
        "latency_p50_ms",
    ),
    short=True,
)
LOWER_IS_BETTER = {m.key for m in METRICS if m.direction == "lower"}


def fmt(value, key: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("_ms"):
        return f"{value:.1f}"
    if key == "load_seconds":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# ✓/✗ compare with a goal; `rag eval --check` guards something else (no regression from the baseline), so a ✗
# and a passing check can stand side by side: the table says which is which.
TARGET_LEGEND = (
    "✓ / ✗: meets / falls short of the article target, a goal still being worked towards. "
    "`rag eval --check` guards something else: that no metric falls below eval/baseline.json by more than its "
    "tolerance, so it can pass while targets show ✗."
)


def _meets(value, target: str | None) -> str:
    if target is None or value is None:
        return ""
    op, text = target.split()
    num = float(text)
    ok = {">=": value >= num - 1e-9, "=": abs(value - num) < 1e-9, "<": value < num}[op]
    return " ✓" if ok else " ✗"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def sets_table(report: dict) -> str:
    sets = [s for s in ("article", "fixture") if s in report.get("sets", {})]
    if not sets:
        return ""
    header = ["metric"] + [f"{s} set" for s in sets] + (["article target"] if "article" in sets else [])
    rows = []
    for key, label, goal in SET_ROWS:
        row = [label]
        for s in sets:
            value = report["sets"][s]["metrics"].get(key)
            row.append(fmt(value, key) + (_meets(value, goal) if s == "article" else ""))
        if "article" in sets:
            row.append(goal or "")
        rows.append(row)
    counts = " · ".join(
        f"{s}: {c['items']} questions ({c['answerable']} answerable, {c['unanswerable']} not)"
        for s in sets
        for c in [report["sets"][s]["counts"]]
    )
    legend = TARGET_LEGEND if "article" in sets else ""
    return _table(header, rows) + f"\n\n{counts}" + (f"\n\n{legend}" if legend else "")


def tag_table(report: dict) -> str:
    """Rows: set/tag; where the misses are (paraphrases, follow-ups, metadata, unanswerable kinds)."""
    rows = []
    for name in ("article", "fixture"):
        for tag, m in report.get("sets", {}).get(name, {}).get("by_tag", {}).items():
            rows.append(
                [
                    name,
                    tag,
                    str(m["items"]),
                    fmt(m["hit_at_3"]),
                    fmt(m["evidence_accuracy"]),
                    fmt(m["answer_containment"]),
                    fmt(m["refused"]),
                ]
            )
    if not rows:
        return ""
    return _table(["set", "tag", "items", "hit@3", "evidence", "contains", "refused"], rows)


def squad_table(section: dict) -> str:
    header = ["", *[label for _, label in SQUAD_COLUMNS]]
    from .squad import ROW_LABELS

    rows = []
    for name, label in ROW_LABELS.items():
        row = section["rows"][name]
        cells = [label]
        for key, _ in SQUAD_COLUMNS:
            mark = _meets(row.get(key), target(key, "squad")) if name == "engine" else ""
            cells.append(fmt(row.get(key), key) + mark)
        rows.append(cells)
    c = section["counts"]
    eng = section["rows"]["engine"]
    targets = ", ".join(
        f"{k.split('_')[0] if k != 'answer_precision' else 'precision of answers'} {goal.replace('>=', '≥')}"
        for k, _ in SQUAD_COLUMNS
        if (goal := target(k, "squad"))
    )
    note = (
        f"{c['articles']} articles, {c['paragraphs']} paragraphs, {c['questions']} questions "
        f"({c['answerable']} answerable, {c['unanswerable']} not); engine latency p50 "
        f"{fmt(eng.get('latency_p50_ms'), '_ms')} ms, p95 {fmt(eng.get('latency_p95_ms'), '_ms')} ms, "
        + ", ".join(f"{label} {fmt(eng.get(k), k)}" for k, label in labels(SQUAD_NOTE_METRICS))
        + f"; targets: {targets} (✗: short of the target; `--check` guards against falling below the baseline)"
    )
    return _table(header, rows) + "\n\n" + note


def compare_table(result: dict) -> str:
    out = []
    rows = result["rows"]
    plain = [s for s in ("article", "fixture") if any(s in r["sets"] for r in rows)]
    if plain:
        header = ["configuration", "set", *[label for _, label in COMPARE_COLUMNS]]
        best = {}
        for s in plain:
            for key, _ in COMPARE_COLUMNS:
                values = [r["sets"][s]["metrics"].get(key) for r in rows if s in r["sets"]]
                values = [v for v in values if v is not None]
                if values:
                    best[(s, key)] = min(values) if key in LOWER_IS_BETTER else max(values)
        table_rows = []
        for s in plain:
            for r in rows:
                if s not in r["sets"]:
                    continue
                m = r["sets"][s]["metrics"]
                cells = [r["label"], s]
                for key, _ in COMPARE_COLUMNS:
                    text = fmt(m.get(key), key)
                    if m.get(key) is not None and key != "latency_p50_ms" and m.get(key) == best.get((s, key)):
                        text = f"**{text}**"
                    cells.append(text)
                table_rows.append(cells)
        out.append(_table(header, table_rows))
    if any("squad" in r["sets"] for r in rows):
        header = ["configuration", *[label for _, label in SQUAD_COLUMNS]]
        table_rows = []
        for r in rows:
            if "squad" in r["sets"]:
                m = r["sets"]["squad"]["metrics"]
                table_rows.append([r["label"], *[fmt(m.get(k), k) for k, _ in SQUAD_COLUMNS]])
        out.append("SQuAD sample:\n\n" + _table(header, table_rows))
    out.append("Best value per set and column in bold (latency not marked).")
    verdict = compare_verdict(result)
    if verdict:
        out.append("\n".join(f"- {line}" for line in verdict))
    return "\n\n".join(out)


VERDICT_METRICS = (
    "hit_at_3",
    "mrr",
    "evidence_accuracy",
    "answer_containment",
    "abstain_precision",
    "abstain_recall",
    "answerable_accuracy",
    "overall_accuracy",
    "answer_precision",
)


def _interval(d: dict | None) -> str:
    """ "+0.031, 95% CI −0.012 to +0.074" from a `significance.Difference` dict ("" when there is none)."""
    if not d:
        return ""
    return f", {d['difference']:+.3f}, 95% CI {d['low']:+.3f} to {d['high']:+.3f}" + (", clear" if d["clear"] else "")


def compare_verdict(result: dict) -> list[str]:
    """Where an ablation beats the defaults (first row) on a quality metric, by more than 0.005, with the paired
    bootstrap's 95% interval of the difference ("clear" when it leaves out zero); and where one is clearly worse."""
    rows = result.get("rows", [])
    if len(rows) < 2:
        return []
    default, lines = rows[0], []
    for s in ("article", "fixture", "squad"):
        if s not in default["sets"]:
            continue
        base = default["sets"][s]["metrics"]
        wins, losses = [], []
        for r in rows[1:]:
            m = r["sets"].get(s, {}).get("metrics", {})
            differences = r["sets"].get(s, {}).get("differences", {})
            worse = []
            for key in VERDICT_METRICS:
                if m.get(key) is None or base.get(key) is None:
                    continue
                d = differences.get(key)
                if m[key] > base[key] + 0.005:
                    wins.append(f"{r['label']} on {key} ({fmt(m[key])} vs {fmt(base[key])}{_interval(d)})")
                elif d and d["clear"] and d["difference"] < 0:
                    worse.append(f"{key} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]")
            if worse:
                losses.append(f"{r['label']} ({', '.join(worse)})")
        verdict = (
            "the defaults are best or tied on every quality column"
            if not wins
            else "beats the defaults: " + "; ".join(wins)
        )
        lines.append(f"{s}: {verdict}" + ("; clearly worse: " + "; ".join(losses) if losses else ""))
    return lines


def failures_text(report: dict, limit: int = 200) -> str:
    lines = []
    for name, section in report.get("sets", {}).items():
        for rec in section.get("items", []):
            if rec.get("problems"):
                answer = " ".join(rec["answer"].split())
                if len(answer) > 160:
                    answer = answer[:157] + "..."
                hist = f" (after: {' / '.join(rec['history'])})" if rec.get("history") else ""
                lines.append(
                    f"{name} {rec['id']} [{', '.join(rec['problems'])}] conf {rec['confidence']:.2f} "
                    f"{rec['question']}{hist}\n    -> {answer}"
                )
    return "\n".join(lines[:limit])


RISK_COVERAGE_STEPS = tuple(k / 10 for k in range(1, 10))


def risk_coverage_table(report: dict) -> str:
    """One row per set and measure (coverage, precision), one column per threshold 0.1 … 0.9."""
    rows = []
    for name in ("article", "fixture", "squad"):
        curve = {p["threshold"]: p for p in report.get("sets", {}).get(name, {}).get("risk_coverage") or []}
        points = [curve.get(t) for t in RISK_COVERAGE_STEPS]
        if not any(points):
            continue
        for measure in ("coverage", "precision"):
            rows.append([name, measure, *(fmt(p[measure]) if p else "–" for p in points)])
    if not rows:
        return ""
    return _table(["set", "", *(f"≥ {t:.1f}" for t in RISK_COVERAGE_STEPS)], rows)


def markdown(report: dict) -> str:
    parts = []
    if any(s in report.get("sets", {}) for s in ("article", "fixture")):
        parts.append("### Eval sets\n\n" + sets_table(report))
        tags = tag_table(report)
        if tags:
            parts.append("By tag (refused = share refused; the right answer for unanswerable-* tags):\n\n" + tags)
    if "squad" in report.get("sets", {}):
        parts.append("### SQuAD v2.0 sample\n\n" + squad_table(report["sets"]["squad"]))
    curves = risk_coverage_table(report)
    if curves:
        parts.append(
            "### Risk–coverage\n\nAt each answer threshold (`Settings.answer_threshold`, P(right)): the share of "
            "questions answered, and of those the share answered right (with the evidence; a gold answer for "
            "SQuAD).\n\n" + curves
        )
    if report.get("compare"):
        parts.append("### Ablations\n\n" + compare_table(report["compare"]))
    if report.get("model_load_seconds") is not None:
        parts.append(f"Model load (first query, once per process): {report['model_load_seconds']:.2f} s.")
    return "\n\n".join(parts)


def write_json(report: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


PLOT_METRICS = labels(
    (
        "hit_at_1",
        "hit_at_3",
        "mrr",
        "evidence_accuracy",
        "answer_containment",
        "token_f1",
        "exact_quote_rate",
        "abstain_precision",
        "abstain_recall",
    ),
    short=True,
)


def plot(report: dict, path: str | Path) -> Path:
    """A PNG bar chart: the rate metrics per eval set, and the SQuAD rows when present."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [s for s in ("article", "fixture") if s in report.get("sets", {})]
    has_squad = "squad" in report.get("sets", {})
    panels = (1 if sets else 0) + (1 if has_squad else 0)
    if panels == 0:
        raise ValueError("nothing to plot: the report has no sets")
    fig, grid = plt.subplots(1, panels, figsize=(7 * panels if panels > 1 else 9, 4.2), squeeze=False)
    axes = list(grid[0])
    if sets:
        ax = axes.pop(0)
        width = 0.8 / len(sets)
        for i, s in enumerate(sets):
            m = report["sets"][s]["metrics"]
            values = [m.get(k) or 0.0 for k, _ in PLOT_METRICS]
            xs = [x + (i - (len(sets) - 1) / 2) * width for x in range(len(PLOT_METRICS))]
            ax.bar(xs, values, width, label=f"{s} set")
        ax.set_xticks(range(len(PLOT_METRICS)), [label for _, label in PLOT_METRICS], rotation=30, ha="right")
        ax.set_ylim(0, 1.25)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_title("Eval sets")
        ax.legend(loc="upper center", ncol=len(sets), fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    if has_squad:
        from .squad import ROW_LABELS

        ax = axes.pop(0)
        rows = report["sets"]["squad"]["rows"]
        names = list(ROW_LABELS)
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            values = [rows[name].get(k) or 0.0 for k, _ in SQUAD_COLUMNS]
            xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(SQUAD_COLUMNS))]
            ax.bar(xs, values, width, label=ROW_LABELS[name])
        ax.set_xticks(range(len(SQUAD_COLUMNS)), [label for _, label in labels([k for k, _ in SQUAD_COLUMNS], True)])
        ax.set_ylim(0, 1.25)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_title(
            "SQuAD v2.0 sample (626 questions)"
            if report["sets"]["squad"]["counts"]["questions"] == 626
            else "SQuAD-format set"
        )
        ax.legend(loc="upper center", ncol=len(names), fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---- README blocks ---------------------------------------------------------------------------------
def provenance(report: dict) -> str:
    threads = report.get("torch_threads")
    return (
        f"_Measured {report.get('generated', '?')} at commit `{report.get('commit') or '?'}`"
        f"{f', torch threads {threads}' if threads else ''}; model load "
        f"{fmt(report.get('model_load_seconds'), 'load_seconds')} s._"
    )


def readme_blocks(report: dict) -> dict[str, str]:
    """The README sections this report can refresh (only those that were run)."""
    blocks = {}
    if any(s in report.get("sets", {}) for s in ("article", "fixture")):
        blocks["sets"] = sets_table(report) + "\n\n" + provenance(report)
        if tag_table(report):
            blocks["tags"] = tag_table(report)
    if "squad" in report.get("sets", {}):
        blocks["squad"] = squad_table(report["sets"]["squad"]) + "\n\n" + provenance(report)
    if risk_coverage_table(report):
        blocks["risk"] = risk_coverage_table(report) + "\n\n" + provenance(report)
    if report.get("compare"):
        blocks["compare"] = compare_table(report["compare"]) + "\n\n" + provenance(report)
    return blocks


def update_readme(path: str | Path, report: dict) -> list[str]:
    """Replace the text between `<!-- eval:NAME -->` and `<!-- /eval:NAME -->`; returns the names replaced."""
    import re

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    done = []
    for name, body in readme_blocks(report).items():
        pattern = re.compile(rf"(<!-- eval:{name} -->\n)(?:.*?\n)??(<!-- /eval:{name} -->)", re.DOTALL)
        match = pattern.search(text)
        if match:  # the block may be empty: a section just added
            text = text[: match.end(1)] + body + "\n" + text[match.start(2) :]
            done.append(name)
    path.write_text(text, encoding="utf-8")
    return done
