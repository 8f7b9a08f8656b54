"""`rag bench --serve-start`: launch of `rag serve` to its first answered /ask, against `import gradio` alone.

Structure and consistency only (the ratio itself depends on the machine's load): the fast tests read Gradio's
event-stream format; the slow one runs the benchmark once through `rag bench`'s own code path.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rag import bench
from rag.bench.serve_start import TARGET_RATIO, ServeStartError, complete_event, serve_start_line

REPO = Path(__file__).resolve().parent.parent


def test_the_complete_event_of_a_gradio_stream_is_its_answer():
    stream = ["event: heartbeat\n", "data: null\n", "\n", "event: complete\n", 'data: [{"answered": true}]\n', "\n"]
    assert complete_event(stream) == [{"answered": True}]
    with pytest.raises(ServeStartError, match="with an error"):
        complete_event(["event: error\n", 'data: "question is empty"\n'])
    with pytest.raises(ServeStartError, match="without a complete event"):
        complete_event(["event: heartbeat\n", "data: null\n"])


def test_the_report_line_gives_both_medians_the_ratio_and_the_target():
    result = {"runs": 3, "first_answer_median_s": 3.24, "import_gradio_median_s": 2.3, "ratio": 1.41}
    line = serve_start_line(result | {"target_ratio": TARGET_RATIO, "meets_target": True})
    assert line == (
        "Serve start (median of 3): launch → first /ask answered 3.24 s, `import gradio` alone 2.30 s, "
        "ratio 1.41 (target ≤ 1.5: meets it)"
    )
    assert "misses it" in serve_start_line(result | {"target_ratio": 1.2, "meets_target": False})


@pytest.mark.slow
@pytest.mark.server
def test_rag_bench_serve_start_measures_both_in_one_run(tmp_path, capsys):
    out = tmp_path / "serve_start.json"
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    bench.add_arguments(parser)
    assert bench.run(parser.parse_args(["--serve-start", "--serve-runs", "1", "--json", str(out)])) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text(encoding="utf-8"))["serve_start"]
    assert result["runs"] == 1 and len(result["first_answer_s"]) == len(result["import_gradio_s"]) == 1
    assert result["answered"] is True  # the first /ask was answered, not refused
    assert 0 < result["import_gradio_median_s"] < result["first_answer_median_s"]  # serving imports gradio too
    medians = result["first_answer_median_s"] / result["import_gradio_median_s"]
    assert result["ratio"] == pytest.approx(medians, abs=0.02)
    assert result["meets_target"] == (result["ratio"] <= TARGET_RATIO)
    assert serve_start_line(result) in printed
