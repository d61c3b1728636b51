#!/usr/bin/env bash
# Build the frozen one-folder app into dist/roto/ (Linux; macOS builds dist/Roto.app too). Prints time and size.
# Needs the `package` extra in .venv: .venv/bin/pip install -e '.[cpu,package]'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-.venv/bin/python}
"$python" -c "import PyInstaller" 2>/dev/null || {
    echo "build.sh: PyInstaller is missing; run: $python -m pip install -e '.[cpu,package]'" >&2
    exit 1
}
start=$(date +%s)
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/roto.spec
echo "built dist/roto in $(($(date +%s) - start)) s, $(du -sh dist/roto | cut -f1)"
