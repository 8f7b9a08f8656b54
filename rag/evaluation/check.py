"""The regression gate: compare a report with eval/baseline.json, metric by metric, with a stated tolerance.

Policy (also written into the baseline file and eval/README.md):
- rates and MRR (higher is better): fail when current < baseline - 0.02 (absolute). With ~70 answerable
  article questions one question is ~0.015, so a single flip passes and two fail.
- exact_quote_rate: no tolerance (must never drop; it is 1.0 by construction).
- wrongly_refused (lower is better): fail when current > baseline + 0.02.
- latency p50 (lower is better): fail only when current > 3 x baseline and more than 10 ms slower
  (machines differ; this catches order-of-magnitude regressions, not noise). p95 and load time are
  reported, never gated: on a shared 2-core machine they swing by 5x from run to run.
A metric that is missing or undefined (None) in the current run counts as 0 for higher-is-better metrics.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

RATE_TOLERANCE = 0.02
LATENCY_FACTOR = 3.0
LATENCY_SLACK_MS = 10.0

# metric -> (direction, kind, tolerance)
POLICY: dict[str, tuple[str, str, float]] = {
    "hit_at_1": ("higher", "abs", RATE_TOLERANCE),
    "hit_at_3": ("higher", "abs", RATE_TOLERANCE),
    "hit_at_5": ("higher", "abs", RATE_TOLERANCE),
    "mrr": ("higher", "abs", RATE_TOLERANCE),
    "evidence_accuracy": ("higher", "abs", RATE_TOLERANCE),
    "evidence_accuracy_strict": ("higher", "abs", RATE_TOLERANCE),
    "answer_containment": ("higher", "abs", RATE_TOLERANCE),
    "token_f1": ("higher", "abs", RATE_TOLERANCE),
    "exact_quote_rate": ("higher", "abs", 0.0),
    "abstain_precision": ("higher", "abs", RATE_TOLERANCE),
    "abstain_recall": ("higher", "abs", RATE_TOLERANCE),
    "wrongly_refused": ("lower", "abs", RATE_TOLERANCE),
    "answerable_accuracy": ("higher", "abs", RATE_TOLERANCE),
    "overall_accuracy": ("higher", "abs", RATE_TOLERANCE),
    "latency_p50_ms": ("lower", "factor", LATENCY_FACTOR),
}


def policy_text() -> dict[str, str]:
    out = {}
    for name, (direction, kind, tol) in POLICY.items():
        if kind == "factor":
            out[name] = f"fail if > {tol:g}x baseline and > baseline + {LATENCY_SLACK_MS:g} ms"
        elif direction == "higher":
            out[name] = f"fail if < baseline - {tol:g}"
        else:
            out[name] = f"fail if > baseline + {tol:g}"
    out["latency_p95_ms"] = "reported, not gated"
    out["load_seconds"] = "reported, not gated"
    return out


def gated_metrics(report: dict) -> dict[str, dict[str, float | None]]:
    """{set name: {metric: value}} of the gated metrics in a report (sets and squad)."""
    out: dict[str, dict] = {}
    for name, section in report.get("sets", {}).items():
        out[name] = {k: v for k, v in section.get("metrics", {}).items() if k in POLICY}
    return out


def compare(current: dict[str, dict], baseline: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Returns (failures, notes). Each failure names set.metric, baseline, current and the drop."""
    failures, notes = [], []
    for set_name, base_metrics in sorted(baseline.items()):
        if set_name not in current:
            notes.append(f"{set_name}: not run, not checked")
            continue
        cur_metrics = current[set_name]
        for metric, base in sorted(base_metrics.items()):
            if metric not in POLICY or base is None:
                continue
            direction, kind, tol = POLICY[metric]
            cur = cur_metrics.get(metric)
            label = f"{set_name}.{metric}"
            if kind == "factor":
                if cur is not None and cur > base * tol and cur - base > LATENCY_SLACK_MS:
                    failures.append(f"{label} rose from {base:.2f} ms to {cur:.2f} ms "
                                    f"({cur / base:.1f}x; allowed {tol:g}x)")
                continue
            if direction == "higher":
                value = 0.0 if cur is None else cur
                if value < base - tol - 1e-9:
                    failures.append(f"{label} fell from {base:.4f} to {value:.4f} "
                                    f"(by {base - value:.4f}; tolerance {tol:g})")
            else:
                if cur is not None and cur > base + tol + 1e-9:
                    failures.append(f"{label} rose from {base:.4f} to {cur:.4f} "
                                    f"(by {cur - base:.4f}; tolerance {tol:g})")
    return failures, notes


def load_baseline(path: str | Path) -> dict:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "sets" not in data:
        raise ValueError(f"{path}: not a baseline file (no 'sets')")
    return data


def check_report(report: dict, baseline_path: str | Path) -> tuple[list[str], list[str]]:
    baseline = load_baseline(baseline_path)
    return compare(gated_metrics(report), baseline["sets"])


def write_baseline(report: dict, path: str | Path) -> dict:
    """Write the gated metrics of the sets in `report`; sets not run keep their previous baseline."""
    path = Path(path)
    previous = {}
    if path.exists():
        try:
            previous = load_baseline(path)["sets"]
        except (ValueError, json.JSONDecodeError):
            previous = {}
    sets = {**previous, **gated_metrics(report)}
    data = {
        "written": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "how": "rag eval --sets article,fixture,squad --write-baseline  (check: rag eval --sets article,fixture,squad --check)",
        "tolerance": policy_text(),
        "settings": report.get("settings"),
        "sets": {k: sets[k] for k in sorted(sets)},
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data
