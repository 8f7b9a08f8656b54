"""Milvus Lite vs FAISS HNSW at scale, on the same synthetic vectors, in one run.

Each side runs in its own child process (peak RSS is then that side's alone): build time, p50/p95
latency of single queries, recall@10 against exact search, memory and bytes on disk.

    python -m rag.bench.milvus_scale --n 1000000 --out docs/milvus_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .faiss_scale import exact_top10
from .stats import summary
from .synthetic import make_vectors

DIM = 384


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _recall(found: list[list[int]], truth) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth))
    return round(hits / (10 * len(truth)), 4)


def run_faiss(n: int, queries: int, m: int, ef_construction: int, ef_search: int, tmp: Path) -> dict:
    """FAISS IndexHNSWFlat as the store builds it (rag/store.py settings)."""
    import faiss

    from ..settings import Settings
    from ..store import build_faiss

    xb = make_vectors(n, DIM, "model", seed=1)
    xq = make_vectors(queries, DIM, "model", seed=2)
    truth = exact_top10(xb, xq)
    rss0 = _rss_mb()
    settings = Settings(index_type="hnsw", hnsw_m=m, hnsw_ef_construction=ef_construction, hnsw_ef_search=ef_search)
    t = time.perf_counter()
    index, info = build_faiss(xb, settings)
    build_s = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    lat, found = [], []
    for q in xq:
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), 10)
        lat.append((time.perf_counter() - t) * 1000)
        found.append([int(i) for i in ids[0] if i >= 0])
    path = tmp / "hnsw.faiss"
    faiss.write_index(index, str(path))
    return {
        "store": "faiss",
        "index": info,
        "build_s": round(build_s, 1),
        "latency_ms": summary(lat),
        "recall_at_10": _recall(found, truth),
        "index_rss_mb": round(_rss_mb() - rss0, 1),
        "peak_rss_mb": round(_peak_mb(), 1),
        "disk_bytes": _disk_bytes(path),
    }


def run_milvus(
    n: int, queries: int, m: int, ef_construction: int, ef_search: int, tmp: Path, index_type: str, batch: int
) -> dict:
    """Milvus Lite (embedded, a folder on disk): insert in batches, index, load, then single queries."""
    from pymilvus import DataType, MilvusClient

    xb = make_vectors(n, DIM, "model", seed=1)
    xq = make_vectors(queries, DIM, "model", seed=2)
    truth = exact_top10(xb, xq)
    rss0 = _rss_mb()
    uri = tmp / "scale.db"
    t = time.perf_counter()
    client = MilvusClient(str(uri))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    if index_type == "HNSW":
        build = {"M": m, "efConstruction": ef_construction}
        search = {"ef": ef_search}
    else:
        build = {"nlist": 4096}
        search = {"nprobe": 32}
    params = client.prepare_index_params()
    params.add_index(field_name="vec", index_type=index_type, metric_type="IP", params=build)
    # the index is declared up front, as in production: each sealed segment is indexed when flushed
    client.create_collection("scale", schema=schema, index_params=params)
    for start in range(0, n, batch):
        rows = [{"id": start + i, "vec": v} for i, v in enumerate(xb[start : start + batch])]
        client.insert("scale", rows)
    client.flush("scale")
    insert_s = time.perf_counter() - t
    # Milvus Lite builds each segment's index when the collection is loaded; segments sealed while it
    # was already loaded are searched by brute force until then, so release and load once.
    client.release_collection("scale")
    client.load_collection("scale")
    build_s = time.perf_counter() - t
    segments = len(list((uri / "collections").rglob("*.parquet"))) if uri.exists() else None
    del xb
    lat, found = [], []
    for q in xq:
        t = time.perf_counter()
        hits = client.search("scale", data=[q.tolist()], anns_field="vec", limit=10, search_params={"params": search})
        lat.append((time.perf_counter() - t) * 1000)
        found.append([int(h["id"]) for h in hits[0]])
    rss = _rss_mb() - rss0
    client.close()
    return {
        "store": "milvus-lite",
        "index": {"type": index_type, **build, **search},
        "insert_s": round(insert_s, 1),
        "parquet_files": segments,
        "build_s": round(build_s, 1),
        "latency_ms": summary(lat),
        "recall_at_10": _recall(found, truth),
        "index_rss_mb": round(rss, 1),
        "peak_rss_mb": round(_peak_mb(), 1),
        "disk_bytes": _disk_bytes(uri),
    }


def main(argv: list[str] | None = None) -> int:
    """Run both sides (each in a child process) and print/write one JSON report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="passages (vectors)")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--m", type=int, default=32, help="HNSW M (the store's default)")
    p.add_argument("--ef-construction", type=int, default=40)
    p.add_argument("--ef-search", type=int, default=256)
    p.add_argument("--index-type", default="HNSW", choices=["HNSW", "IVF_FLAT"])
    p.add_argument("--batch", type=int, default=10_000, help="rows per Milvus insert call")
    p.add_argument("--only", choices=["faiss", "milvus"], default=None, help="(internal) run one side here")
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here too")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="milvus-scale-"))
    try:
        if args.only == "faiss":
            result = run_faiss(args.n, args.queries, args.m, args.ef_construction, args.ef_search, tmp)
        elif args.only == "milvus":
            result = run_milvus(
                args.n, args.queries, args.m, args.ef_construction, args.ef_search, tmp, args.index_type, args.batch
            )
        else:
            report = {"n": args.n, "dim": DIM, "vectors": "model (isotropic, no basis)", "queries": args.queries}
            report["cores"] = os.cpu_count()
            for side in ("faiss", "milvus"):
                cmd = [sys.executable, "-m", "rag.bench.milvus_scale", *(argv or sys.argv[1:]), "--only", side]
                cmd = [c for c in cmd if c != "--out" and not c.endswith(".json")]
                t = time.perf_counter()
                out = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    report[side] = {"error": out.stderr[-2000:]}
                else:
                    report[side] = json.loads(out.stdout.strip().splitlines()[-1])
                report[side]["wall_s"] = round(time.perf_counter() - t, 1)
                print(json.dumps({side: report[side]}), file=sys.stderr, flush=True)
            text = json.dumps(report, indent=2)
            if args.out:
                args.out.write_text(text + "\n", encoding="utf-8")
            print(text)
            return 0
        print(json.dumps(result))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
