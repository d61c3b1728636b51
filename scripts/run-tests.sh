#!/usr/bin/env bash
# Set up .venv with the test and converter extras, then run lint, format check, type checks and every test.
# Arguments go to pytest (e.g. -k parity). CI runs exactly this (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup-env.sh test
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
