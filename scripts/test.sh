#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs them.
# Usage: [PYTHON=/path/to/python] bash scripts/test.sh [extra pytest args]
# Everything runs through that one interpreter ($PY -m ...), so a virtualenv need not be on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# CPU build of torch first: a plain `torch` requirement would pull a multi-GB CUDA build.
"$PY" -m pip install --quiet torch==2.13.0
"$PY" -m pip install --quiet -e '.[test]'
# Headless Chromium for the browser test (Debian package; playwright cannot download browsers offline).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
    echo "note: could not install chromium; the browser test will be skipped (outside CI)" >&2
fi
export HF_HUB_OFFLINE=1
exec "$PY" -m pytest -q "$@"
