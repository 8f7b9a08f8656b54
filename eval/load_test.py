"""Load test of the web chat: `rag serve` on 127.0.0.1 and N concurrent gradio_client users.

    python eval/load_test.py --users 1,10,50,100 --duration 60 --json docs/bench/load.json
    python eval/load_test.py --users 50 --duration 600            # the soak
    python eval/load_test.py --users 50 --duration 45 --tune 1,2,4,8

Exit code 1 when any answer under load differs from the one its question gets alone, or any request
failed. The work is in rag/bench/load.py (docs/reliability.md has the figures).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.bench.load_cli import main

if __name__ == "__main__":
    sys.exit(main())
