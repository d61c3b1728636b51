#!/usr/bin/env bash
# Smoke test of the frozen app in dist/roto: run it as a user would, with no Python anywhere in sight.
# Usage: bash packaging/smoke_test.sh   (after packaging/build.sh). Exits non-zero on the first failure.
#
# The app runs with a clean environment (env -i): PATH holds only an empty folder, no PYTHONPATH, HOME a fresh
# temp folder (so no user-installed model). The test bundle is copied into dist/roto/models/, where the app
# must find it by itself. The mask it writes must equal the one the source-tree CLI writes for the same prompt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
app=dist/roto/roto
python=${PYTHON:-.venv/bin/python}
media=${ROTO_SMOKE_MEDIA:-$root/../shared/media}
bundle=tests/data/bundles/sam2.1-test
[ -x "$app" ] || { echo "smoke_test.sh: $app is missing; run packaging/build.sh first" >&2; exit 1; }
[ -f "$media/truck.jpg" ] || { echo "smoke_test.sh: $media/truck.jpg is missing (set ROTO_SMOKE_MEDIA)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/emptybin"
rm -rf dist/roto/models/sam2.1-test
mkdir -p dist/roto/models
cp -r "$bundle" dist/roto/models/

frozen() {
    env -i HOME="$work/home" PATH="$work/emptybin" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen "$app" "$@"
}
step() { echo "--- $*"; }
fail() { echo "smoke_test.sh: $*" >&2; exit 1; }

step "roto --version"
frozen --version

step "roto doctor --json (finds the bundle beside the app)"
frozen doctor --json > "$work/doctor.json" || true  # exit 1 only lists problems, checked next
"$python" - "$work/doctor.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
names = [b["name"] for b in report["bundles"] if b["ok"]]
assert "sam2.1-test" in names, f"bundle beside the app not found or not OK: {report['bundles']}"
assert "CPUExecutionProvider" in report["providers"], report["providers"]
assert report["problems"] == [], report["problems"]
missing = [n for n in ("numpy", "opencv-python-headless", "av", "PySide6-Essentials", "onnxruntime") if not report["packages"][n]]
assert not missing, f"doctor reports no version for {missing}: {report['packages']}"
print(f"doctor OK: providers {report['providers']}, bundles {names}")
PY

step "roto segment (bundle by name, found beside the app) == source-tree CLI"
frozen segment "$media/truck.jpg" --point 500,375 -o "$work/frozen.png" --model sam2.1-test --provider cpu --json
"$python" -m roto segment "$media/truck.jpg" --point 500,375 -o "$work/source.png" --model "$bundle" --provider cpu >/dev/null
"$python" - "$work/frozen.png" "$work/source.png" <<'PY'
import sys
import cv2
import numpy as np
frozen, source = (cv2.imread(p, cv2.IMREAD_UNCHANGED) for p in sys.argv[1:3])
assert frozen is not None and source is not None
assert frozen.shape == source.shape and np.array_equal(frozen, source), "frozen and source masks differ"
print(f"masks identical: {frozen.shape}, {int((frozen > 0).sum())} px")
PY

if [ -f "$media/bedroom.mp4" ]; then
    step "roto track (PyAV decode and ProRes encode inside the app) and roto export"
    frozen track "$media/bedroom.mp4" --object kid --point 0:210,350 --range 0-3 --out "$work/mattes" \
        --format prores --model sam2.1-test --provider cpu --save-project "$work/shot.roto" --json > /dev/null
    frozen export "$work/shot.roto" --out "$work/png" --format png8 --range 0-3 --json > /dev/null
    [ -s "$work/mattes/bedroom_kid.mov" ] || fail "track wrote no ProRes matte"
    [ "$(ls "$work/png" | wc -l)" -eq 4 ] || fail "export wrote $(ls "$work/png" | wc -l) PNGs, expected 4"
    echo "track + export OK"
fi

if "$python" -c "import torch, sam2" 2>/dev/null; then
    step "roto models import a random-weight tiny checkpoint (graph template, no torch in the app) == source tree"
    "$python" - "$work/sam2.1_hiera_tiny.pt" <<'PY'
import sys
import torch
from roto.engine.export_onnx import build_sam2_model
torch.save({"model": build_sam2_model("tiny", None, seed=1).state_dict()}, sys.argv[1])
PY
    frozen models import "$work/sam2.1_hiera_tiny.pt" --variant tiny --json > /dev/null
    frozen models verify sam2.1-tiny --json > /dev/null || fail "the bundle the app built does not verify"
    ROTO_MODELS_DIR="$work/source-models" "$python" -m roto models import "$work/sam2.1_hiera_tiny.pt" \
        --variant tiny --json > /dev/null
    "$python" - "$work/home/.local/share/roto/models/sam2.1-tiny" "$work/source-models/sam2.1-tiny" <<'PY'
import json, sys
frozen, source = (json.load(open(f"{p}/manifest.json")) for p in sys.argv[1:3])
assert frozen["files"] == source["files"], "the app and the source tree built different bundles"
print(f"tiny bundle built in the app, identical to the source tree's: {sorted(frozen['files'])}")
PY
else
    echo "--- skipped: building a random-weight checkpoint needs torch and sam2 in $python"
fi

step "roto gui (Qt offscreen platform plugin loads; the editor stays up until stopped)"
set +e
timeout 8 env -i HOME="$work/home" PATH="$work/emptybin" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen "$app" gui \
    > "$work/gui.log" 2>&1
code=$?
set -e
[ "$code" -eq 124 ] || fail "the editor exited with $code before being stopped: $(cat "$work/gui.log")"
echo "editor ran for 8 s"

step "size"
du -sh dist/roto
echo "smoke test passed"
