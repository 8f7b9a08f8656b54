"""`rag eval`: options and run function (imported lazily by rag.cli; heavy imports stay inside run)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .registry import SET_NAMES


def _sets(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in names if s not in SET_NAMES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"sets are a comma list of {', '.join(SET_NAMES)}; got {text!r}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Measure answer quality: the article set (corpus/ + index/) and the fixture set "
        "(tests/fixtures/docs, temporary index) by default; a SQuAD v2.0 file with --squad."
    )
    parser.add_argument(
        "--sets",
        type=_sets,
        default=None,
        help="comma list of article,fixture,squad (default: article,fixture; with --squad alone: squad)",
    )
    parser.add_argument(
        "--squad",
        type=Path,
        default=None,
        metavar="PATH",
        help="a SQuAD v2.0-format JSON file (default for the squad set: ../shared/data/squad2-dev-sample.json)",
    )
    parser.add_argument("--article-set", type=Path, default=None, metavar="PATH", help="article JSONL set")
    parser.add_argument("--fixture-set", type=Path, default=None, metavar="PATH", help="fixture JSONL set")
    parser.add_argument(
        "--fixture-corpus",
        type=Path,
        default=None,
        metavar="DIR",
        help="documents of the fixture set (default: tests/fixtures/docs)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run the ablations (retrieval mode, answer-type cues, chunk sizes) in one table",
    )
    parser.add_argument(
        "--models",
        default="",
        metavar="DIR[,DIR]",
        help="with --compare: answer-model folders to put beside the shipped one, e.g. a newly trained model",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a metric falls below the baseline by more than its tolerance"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="PATH",
        help="baseline file for --check/--write-baseline (default: eval/baseline.json)",
    )
    parser.add_argument("--write-baseline", action="store_true", help="rewrite the baseline with this run")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the full report as JSON")
    parser.add_argument("--markdown", type=Path, default=None, metavar="PATH", help="also write the tables here")
    parser.add_argument("--plot", type=Path, default=None, metavar="PATH", help="draw a PNG bar chart")
    parser.add_argument(
        "--update-readme",
        nargs="?",
        type=Path,
        const=True,
        default=None,
        metavar="PATH",
        help="refresh the tables between <!-- eval:... --> markers (default: eval/README.md)",
    )
    parser.add_argument("--failures", action="store_true", help="list every question with a problem")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="torch CPU threads per query embedding (default: Settings.query_threads)",
    )


def _git_commit() -> str | None:
    import subprocess

    from rag.paths import project_root

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=project_root(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _torch_threads() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    return int(torch.get_num_threads())


def build_report(args) -> dict:
    import datetime as dt

    from rag import Settings
    from rag._version import __version__

    from .datasets import default_paths
    from .runner import MODEL_LOAD, evaluate_default_sets, get_embedder

    settings = Settings()
    if getattr(args, "settings", None):
        settings = Settings.from_dict(json.loads(Path(args.settings).read_text(encoding="utf-8")))
    from rag.stores.options import apply_store_options

    settings = apply_store_options(settings, args)
    if args.threads:
        if hasattr(settings, "query_threads"):
            settings = settings.replace(query_threads=args.threads)
        else:
            import torch

            torch.set_num_threads(args.threads)
    sets = args.sets or (("squad",) if args.squad else ("article", "fixture"))
    squad_path = args.squad or default_paths()["squad"]
    get_embedder(settings)
    report = evaluate_default_sets(
        settings,
        [s for s in sets if s != "squad"],
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        article_path=args.article_set,
        fixture_path=args.fixture_set,
        fixture_corpus=args.fixture_corpus,
    )
    if "squad" in sets:
        from .squad import run_squad

        report["sets"]["squad"] = run_squad(squad_path, settings)
    if args.compare:
        from .compare import run_compare

        report["compare"] = run_compare(
            settings,
            sets,
            corpus_dir=getattr(args, "corpus", None),
            index_dir=getattr(args, "index", None),
            squad_path=squad_path,
            progress=lambda label: print(f"rag eval: ablation {label}", file=sys.stderr),
            models=[m.strip() for m in args.models.split(",") if m.strip()],
        )
    report.update(
        {
            "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": __version__,
            "commit": _git_commit(),
            "settings": settings.to_dict(),
            "model_load_seconds": round(MODEL_LOAD.get(settings.model, 0.0), 3),
            "torch_threads": _torch_threads(),
        }
    )
    return report


def run(args) -> int:
    from . import check as C
    from . import report as R
    from .datasets import default_paths

    report = build_report(args)
    text = R.markdown(report)
    print(text)
    if args.failures:
        print("\n### Questions with problems\n")
        print(R.failures_text(report) or "(none)")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n", encoding="utf-8")
    if args.json:
        R.write_json(report, args.json)
        print(f"\nwrote {args.json}")
    if args.plot:
        R.plot(report, args.plot)
        print(f"wrote {args.plot}")
    if args.update_readme:
        readme = args.update_readme if isinstance(args.update_readme, Path) else default_paths()["readme"]
        done = R.update_readme(readme, report)
        print(f"updated {readme}: {', '.join(done) or 'no marked sections found'}")
    baseline = args.baseline or default_paths()["baseline"]
    status = 0
    if args.check:
        if not baseline.exists():
            print(f"rag eval: no baseline at {baseline}; run with --write-baseline first", file=sys.stderr)
            return 2
        failures, notes = C.check_report(report, baseline)
        for note in notes:
            print(f"check: {note}")
        if failures:
            print(f"\nrag eval --check: {len(failures)} metric(s) fell below {baseline}:", file=sys.stderr)
            for f in failures:
                print(f"  FAIL {f}", file=sys.stderr)
            status = 1
        else:
            print(
                f"\ncheck: every gated metric is within tolerance of {baseline} "
                "(a ✗ in the tables marks a target not yet met, not a regression)"
            )
    if args.write_baseline:
        C.write_baseline(report, baseline)
        print(f"wrote {baseline}")
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point for eval/run_eval.py (same options as `rag eval`, plus --corpus/--index/--settings)."""
    parser = argparse.ArgumentParser(prog="run_eval.py")
    parser.add_argument("--corpus", type=Path, default=None, help="documents folder of the article set")
    parser.add_argument("--index", type=Path, default=None, help="index folder of the article set")
    parser.add_argument("--settings", type=Path, default=None, help="JSON file of Settings overrides")
    from rag.stores.options import add_store_options

    add_store_options(parser, None)
    add_arguments(parser)
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return run(args)
