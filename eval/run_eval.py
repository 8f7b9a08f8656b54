#!/usr/bin/env python
"""Same as `rag eval` (see eval/README.md), runnable from a checkout without installing the package:

python eval/run_eval.py                      # article + fixture sets
python eval/run_eval.py --sets article,fixture,squad --check
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
