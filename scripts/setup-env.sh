#!/usr/bin/env bash
# Create or update .venv: `app` (run the editor), `convert` (app + the converter: PyTorch, Meta's sam2 and, in
# .venv/edgetam, EdgeTAM's fork of it, needed to install models from checkpoints) or `test` (everything:
# converter, tests, packaging).
# Picks one ONNX Runtime flavour: ROTO_ACCEL=cpu|gpu|auto (auto: gpu when nvidia-smi sees a GPU).
set -euo pipefail
mode=${1:-app}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
"$python" - <<'PY' || { echo "Roto needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

accel=${ROTO_ACCEL:-auto}
if [ "$accel" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then accel=gpu; else accel=cpu; fi
fi
case "$accel" in cpu|gpu) ;; *) echo "ROTO_ACCEL must be cpu, gpu or auto" >&2; exit 1 ;; esac

extras=$accel
case "$mode" in
  app) ;;
  convert) extras="$accel,export" ;;
  test) extras="$accel,test,export,package,farm" ;;
  *) echo "setup-env.sh: mode must be app, convert or test" >&2; exit 1 ;;
esac
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)

stamp=".venv/.roto-setup-$mode"
want="$(cat pyproject.toml scripts/setup-env.sh | sha256sum | cut -c1-32) $extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # Switching flavour: the two ONNX Runtime wheels ship the same module, so remove the other one first.
  other=$([ "$accel" = gpu ] && echo onnxruntime || echo onnxruntime-gpu)
  "${pip[@]}" uninstall -y "$other" >/dev/null 2>&1 || true
  "${pip[@]}" install -e ".[$extras]"
  if [ "$mode" != app ] && ! .venv/bin/python -c "import sam2" 2>/dev/null; then
    # Meta's SAM2 code for the converter and the parity tests; its build needs torch already installed.
    SAM2_BUILD_CUDA=0 "${pip[@]}" install --no-build-isolation "sam2==1.1.0"
  fi
  if [ "$mode" != app ] && [ ! -f .venv/edgetam/sam2/modeling/perceiver.py ]; then
    # EdgeTAM's model code: a fork of sam2 under the same module name, so it lives in a folder of its own that
    # only the EdgeTAM converter's child processes put first on their path (roto/engine/edgetam_env.py).
    "${pip[@]}" install --no-deps --target .venv/edgetam "edgetam-dimos==1.0.1"
  fi
  echo "$want" > "$stamp"
fi

# Qt needs a few system libraries that a minimal Linux may lack; install them where we can (Debian/Ubuntu as root).
if [ "$(uname -s)" = Linux ]; then
  qt=$(.venv/bin/python -c "import PySide6, os; print(os.path.dirname(PySide6.__file__))")
  libs=("$qt/Qt/lib/libQt6Gui.so.6")
  [ "$mode" = app ] && libs+=("$qt/Qt/plugins/platforms/libqxcb.so")
  if ldd "${libs[@]}" 2>/dev/null | grep -q "not found"; then
    pkgs="libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0"
    [ "$mode" = app ] && pkgs="$pkgs libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing system libraries Qt needs: $pkgs" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
    else
      echo "Qt is missing system libraries; install them with your package manager, e.g.: sudo apt-get install $pkgs" >&2
      ldd "${libs[@]}" | grep "not found" >&2
      exit 1
    fi
  fi
fi

# The shape-export tests read the exported files with real readers: rsvg-convert (SVG) and Blender under a
# virtual X server (its mask keys need a window). Debian/Ubuntu as root: install them; elsewhere say what is missing.
if [ "$mode" = test ] && [ "$(uname -s)" = Linux ]; then
  missing=""
  command -v rsvg-convert >/dev/null || missing="$missing librsvg2-bin"
  command -v blender >/dev/null || missing="$missing blender"
  command -v xvfb-run >/dev/null || missing="$missing xvfb"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing the shape-export test readers:$missing" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
      echo "the shape-export tests skip without:$missing (e.g. sudo apt-get install$missing)" >&2
    fi
  fi
fi
