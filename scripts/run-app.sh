#!/usr/bin/env bash
# Set up .venv (first run only) and start the Roto editor; arguments go to `roto` (e.g. a clip to open).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup-env.sh" app
exec "$root/.venv/bin/roto" "$@"
