"""The benchmark at tiny sizes, through `rag bench`'s own code path: structure only, no timing assertions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rag import bench
from rag.bench.report import format_table
from rag.bench.stats import pct, summary
from rag.bench.synthetic import make_vectors

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    bench.add_arguments(parser)
    args = parser.parse_args(
        [
            "--quick",
            "--sizes",
            "200",
            "--questions",
            "2",
            "--passes",
            "1",
            "--cold-runs",
            "0",
            "--build-docs",
            "3",
            "--queries",
            "20",
            "--json",
            str(out),
        ]
    )
    assert bench.run(args) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    data["_out"] = str(out)
    return data


def test_sections_present(results):
    for key in (
        "meta",
        "settings",
        "warm",
        "cold",
        "serve",
        "serve_start",
        "imports",
        "build",
        "vector_model",
        "text",
        "faiss",
        "memory",
        "headline",
    ):
        assert key in results, key
    assert results["cold"] == results["serve_start"] == {"skipped": True}
    assert results["meta"]["cores"] >= 1


def test_warm_counts_and_stages(results):
    w = results["warm"]
    assert w["questions"] == 2 and w["passes"] == 1 and w["samples"] == 2
    for stage in bench.STAGES:
        assert w["stages_ms"][stage]["n"] == 2
        assert w["cached_ms"][stage]["n"] == 2
    assert w["floor_ms"]["n"] == 2 and w["ratio_p50"] > 0
    assert len(w["answers"]) == 2 and 0 <= w["answered"] <= 2


def test_build_and_incremental(results):
    b = results["build"]
    assert b["documents"] == 3 and b["chunks"] > 0 and b["sentences"] > 0
    assert b["texts_embedded"] == b["texts_expected"] == b["chunks"] + b["sentences"]
    assert b["incremental_embedded_documents"] == 1
    assert b["incremental_reused_documents"] == 2
    assert b["reload_action"] == "loaded"


def test_scale_rows(results):
    [text] = results["text"]
    assert text["passages"] == 200 and text["sentences"] > 200
    assert text["bm25_ms"]["n"] == 20 and text["index_bytes"] > 0
    [row] = results["faiss"]
    assert row["n"] == 200 and row["vectors"] == "model" and row["queries"] == 20
    assert row["flat"]["recall_at_10"] == 1.0 and row["flat"]["bytes"] > 0
    assert 0.0 <= row["approx"]["recall_at_10"] <= 1.0
    for point in row["approx"]["sweep"]:
        assert 0.0 <= point["recall_at_10"] <= 1.0
    assert results["memory"]["per_100k_measured_at"] == 200


def test_outputs_written(results):
    folder = Path(results["_out"]).parent
    assert results["plots"] and all((folder / name).stat().st_size > 0 for name in results["plots"])
    table = format_table({k: v for k, v in results.items() if k != "_out"})
    assert "Warm ask" in table and "FAISS" in table


def test_percentiles():
    assert pct([], 50) is None
    assert pct([1, 2, 3, 4], 50) == 2.5
    assert summary([5.0])["p95"] == 5.0


def test_package_imports_nothing_heavy():
    """`rag bench --help` imports the package: no module of it may add a heavy import at module level."""
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, rag, rag.bench; before = set(sys.modules) - set(m for m in sys.modules "
        "if m.startswith('rag.bench')); "
        "[importlib.import_module('rag.bench.' + m.name) for m in pkgutil.iter_modules(rag.bench.__path__)]; "
        "print(','.join(m for m in ('numpy', 'torch', 'matplotlib', 'faiss', 'sentence_transformers', 'psutil') "
        "if m in sys.modules and m not in before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == ""


def test_rag_cli_does_not_import_the_tooling():
    """`rag --help` and `rag ask` build the parser without importing rag.bench or rag.evaluation."""
    import subprocess
    import sys

    code = (
        "import sys, rag.cli; rag.cli.build_parser().parse_args(['ask', 'q']); "
        "print(','.join(m for m in sys.modules if m.startswith(('rag.bench', 'rag.evaluation'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == ""


def test_ivf_trains_on_a_sample_and_finds_neighbours():
    """build_faiss trains IVF on a seeded sample (≤ 64 points per list) when the corpus is larger."""
    from rag.settings import Settings
    from rag.store import build_faiss

    vectors = make_vectors(2000, seed=4)
    index, info = build_faiss(vectors, Settings(index_type="ivf", ivf_nlist=8, ivf_nprobe=8))
    assert info["type"] == "IndexIVFFlat" and index.ntotal == 2000
    _, rows = index.search(vectors[:5], 1)
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4]
