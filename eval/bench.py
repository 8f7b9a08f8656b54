"""Speed, memory and scale benchmark: the same as `rag bench` (results in docs/benchmarks.md).

python eval/bench.py                      # default sizes 10k, 100k, 1M (under 10 minutes on 2 cores)
python eval/bench.py --quick              # a smoke run at tiny sizes
python eval/bench.py --sizes 1000,10000 --json /tmp/bench.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eval/bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None, help="article corpus folder (default: ./corpus)")
    bench.add_arguments(parser)
    return bench.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
