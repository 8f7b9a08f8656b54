"""Backend parity (issue 10): do the ONNX and torch query backends give the same eval answers?

    echo '{"query_backend": "onnx"}' > /tmp/onnx.json; echo '{"query_backend": "torch"}' > /tmp/torch.json
    python -m rag.cli --settings /tmp/onnx.json eval --sets article,fixture,squad --json /tmp/onnx-report.json
    python -m rag.cli --settings /tmp/torch.json eval --sets article,fixture,squad --json /tmp/torch-report.json
    python docs/bench/backend_parity.py /tmp/onnx-report.json /tmp/torch-report.json

Compares question by question: answered or not, the quoted answer, its citations and short answer, and
the confidence (reported to 4 decimals). Exit 1 on any difference in what the user is shown.
"""

from __future__ import annotations

import json
import sys

SHOWN = ("answered", "answer", "quotes", "short_answer")  # what a user sees; confidence compared separately
IGNORED_METRICS = ("latency", "load_seconds")  # timings differ by backend by design


def main(onnx_path: str, torch_path: str) -> int:
    onnx, torch = (json.load(open(p, encoding="utf-8")) for p in (onnx_path, torch_path))
    different = 0
    for name, run in onnx["sets"].items():
        other = torch["sets"][name]
        items = list(zip(run["items"], other["items"], strict=True))
        changed = [a["question"] for a, b in items if any(a.get(k) != b.get(k) for k in SHOWN)]
        gaps = [abs(a["confidence"] - b["confidence"]) for a, b in items if a.get("confidence") is not None]
        metrics = {
            k: (v, other["metrics"].get(k))
            for k, v in run.get("metrics", {}).items()
            if v != other["metrics"].get(k) and not any(word in k for word in IGNORED_METRICS)
        }
        print(
            f"{name}: {len(items)} questions, {len(changed)} with a different answer, "
            f"largest confidence difference {max(gaps, default=0.0):.4f}, metrics that differ: {metrics or 'none'}"
        )
        for question in changed:
            print(f"  differs: {question}")
        different += len(changed) + len(metrics)
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
