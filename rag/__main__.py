"""`python -m rag …` runs the `rag` command (same as `python -m rag.cli …`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
