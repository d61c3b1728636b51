#!/usr/bin/env bash
# Set up .venv with the test, converter and packaging extras, then run lint, format check, type checks, build
# the frozen app (its smoke test is part of the suite) and run every test. Arguments go to pytest (e.g. -k parity).
# CI runs exactly this (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup-env.sh test
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
bash packaging/build.sh
export ROTO_TEST_FROZEN=1
.venv/bin/python -m pytest "$@"
