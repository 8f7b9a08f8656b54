#!/usr/bin/env bash
# Installs the project on a fresh machine and starts the web chat on http://127.0.0.1:7860.
# Usage: [PYTHON=/path/to/python] bash scripts/serve.sh [rag serve options, e.g. --port 7861]
# Everything runs through that one interpreter ($PY -m ...), so a virtualenv need not be on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# CPU build of torch first: a plain `torch` requirement would pull a multi-GB CUDA build.
"$PY" -m pip install --quiet torch==2.13.0
"$PY" -m pip install --quiet -e .
export HF_HUB_OFFLINE=1
exec "$PY" -m rag.cli serve "$@"
