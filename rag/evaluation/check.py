"""The regression gate: compare a report with eval/baseline.json, metric by metric, with a stated tolerance.

The policy (which metrics are gated on which set, their direction and tolerance) is the metric registry,
`rag.evaluation.registry`; its docstring states it in words. A metric that is missing or undefined (None)
in the current run counts as 0 for higher-is-better metrics.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from .registry import METRICS, SET_NAMES, LatencyRule, Metric, gated

POLICY: dict[str, Metric] = {m.key: m for m in gated()}  # the gated metrics, by key


def policy_text() -> dict[str, str]:
    """Every metric's gate in words (written into the baseline file)."""
    return {m.key: m.rule() for m in METRICS}


def gated_metrics(report: dict) -> dict[str, dict[str, float | None]]:
    """{set name: {metric: value}} of the metrics gated on each set of a report (sets and squad)."""
    out: dict[str, dict] = {}
    for name, section in report.get("sets", {}).items():
        out[name] = {k: v for k, v in section.get("metrics", {}).items() if _gated_on(k, name)}
    return out


def _gated_on(key: str, set_name: str) -> bool:
    m = POLICY.get(key)
    return m is not None and (set_name in m.sets or set_name not in SET_NAMES)


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
            direction, tol = POLICY[metric].direction, POLICY[metric].tolerance
            cur = cur_metrics.get(metric)
            label = f"{set_name}.{metric}"
            if isinstance(tol, LatencyRule):
                if cur is not None and cur > base * tol.factor and cur - base > tol.slack_ms:
                    failures.append(
                        f"{label} rose from {base:.2f} ms to {cur:.2f} ms ({cur / base:.1f}x; allowed {tol.factor:g}x)"
                    )
                continue
            if direction == "higher":
                value = 0.0 if cur is None else cur
                if value < base - tol - 1e-9:
                    failures.append(
                        f"{label} fell from {base:.4f} to {value:.4f} (by {base - value:.4f}; tolerance {tol:g})"
                    )
            else:
                if cur is not None and cur > base + tol + 1e-9:
                    failures.append(
                        f"{label} rose from {base:.4f} to {cur:.4f} (by {cur - base:.4f}; tolerance {tol:g})"
                    )
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
        "how": "rag eval --sets article,fixture,squad --write-baseline  "
        "(check: rag eval --sets article,fixture,squad --check)",
        "tolerance": policy_text(),
        "settings": report.get("settings"),
        "sets": {k: sets[k] for k in sorted(sets)},
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data
