"""Percentiles, memory readings and child processes measured for wall time and peak RSS."""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time

from ..paths import project_root

STAGES = ("embed", "dense_search", "bm25", "fusion", "compose", "total")


def pct(values, q: float) -> float | None:
    """The q-th percentile (linear interpolation), None for no values."""
    values = sorted(values)
    return _interpolate(values, q) if values else None


def _interpolate(ordered: list, q: float) -> float:
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values, digits: int = 3) -> dict:
    """n, p50, p95 and mean of the values, rounded (None for no values)."""
    values = list(values)
    if not values:
        return {"n": 0, "p50": None, "p95": None, "mean": None}
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50": round(_interpolate(ordered, 50), digits),
        "p95": round(_interpolate(ordered, 95), digits),
        "mean": round(sum(values) / len(values), digits),
    }


def median(values):
    return pct(values, 50)


def rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---- child processes -------------------------------------------------------------------------
def child_env() -> dict:
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    root = str(project_root())
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_child_rss(cmd: list[str], cwd=None) -> dict:
    """Runs `cmd` and reaps the child itself with os.wait4 for its own peak RSS."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=child_env(), cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "seconds": wall,
            "returncode": proc.returncode,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")[-2000:],
        }


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    """Stop a child server: SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
