"""The core never touches Qt: importing every core module (and the CLI) loads no PySide6 and no roto.ui.

The core is every module of `roto` except the UI and the launcher that joins the UI to the CLI, found by walking
the package, so a new package (or a module that says it needs no window) is checked without being listed here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The Qt side, and the two entry points that start it.
NOT_CORE = {"roto.ui", "roto.launcher", "roto.__main__"}
TOP_LEVEL = sorted(
    f"roto.{path.stem if path.suffix == '.py' else path.name}"
    for path in (ROOT / "roto").iterdir()
    if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
)
CORE_PACKAGES = tuple(
    name for name in TOP_LEVEL if name not in NOT_CORE and (ROOT / name.replace(".", "/")).is_dir()
)
CORE_MODULES = tuple(name for name in TOP_LEVEL if name not in NOT_CORE and name not in CORE_PACKAGES)
QT_ROOTS = ("PySide6", "shiboken6", "superqt", "roto.ui")

# Runs in a fresh interpreter so modules other tests imported cannot hide (or fake) a Qt import.
IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys, traceback
packages, modules = json.loads(sys.argv[1])
names, failures = [], {}
for package in packages:
    try:
        pkg = importlib.import_module(package)
    except ModuleNotFoundError:
        continue  # a package that does not exist yet
    names.append(package)
    names.extend(info.name for info in pkgutil.walk_packages(pkg.__path__, package + "."))
names.extend(modules)
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        failures[name] = traceback.format_exc(limit=3)
print(json.dumps({"imported": names, "failures": failures, "loaded": sorted(sys.modules)}))
"""


def _is_qt(module: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in QT_ROOTS)


def test_core_and_cli_import_no_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, json.dumps([CORE_PACKAGES, list(CORE_MODULES)])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert "roto.engine.predictor" in report["imported"]  # discovery really walked the packages
    assert {"roto.cli", "roto.editor.state", "roto.editor.tools", "roto.matte"} <= set(report["imported"])
    assert report["failures"] == {}, "\n".join(report["failures"].values())
    assert [m for m in report["loaded"] if _is_qt(m)] == []


def _core_sources() -> list[Path]:
    files = [ROOT / (name.replace(".", "/") + ".py") for name in CORE_MODULES]
    for package in CORE_PACKAGES:
        files.extend(sorted((ROOT / package.replace(".", "/")).rglob("*.py")))
    return [f for f in files if f.is_file()]


@pytest.mark.parametrize("source", _core_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_sources_never_import_qt(source: Path) -> None:
    """Also catches imports inside functions, which the runtime check above cannot see until they run."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.append(node.module)
    assert [name for name in imported if _is_qt(name)] == []
