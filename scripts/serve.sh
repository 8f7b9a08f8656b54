#!/usr/bin/env bash
# Installs the project on a fresh machine and starts the web chat on http://127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m pip install --quiet torch==2.13.0
$PY -m pip install --quiet -e .
export HF_HUB_OFFLINE=1
exec rag serve "$@"
