"""The `roto` command: the GUI when run alone, headless subcommands otherwise. Uses the core only (no Qt here).

Every failure a user can cause ends in one line on stderr and a non-zero exit; `--json` prints results for scripts.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roto import __version__
from roto.errors import RotoError

EXIT_ERROR = 1
EXIT_USAGE = 2
COMMANDS = ("gui", "segment", "doctor", "models")  # the subcommands build_parser defines


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


# --- models ----------------------------------------------------------------------------------------------------


def _bundle_summary(folder: Path, check: bool) -> dict[str, Any]:
    from roto.engine.bundle import load_bundle, verify_bundle

    info: dict[str, Any] = {"name": folder.name, "path": str(folder)}
    try:
        bundle = load_bundle(folder)
        info.update(variant=bundle.variant, precision=bundle.manifest.get("precision"))
        info["random_weights"] = bundle.random_weights
    except RotoError as exc:
        info["problems"] = [str(exc)]
        info["ok"] = False
        return info
    if check:
        info["problems"] = verify_bundle(folder)
        info["ok"] = not info["problems"]
    return info


def cmd_models_list(args: argparse.Namespace) -> int:
    from roto.engine.bundle import VARIANTS, installed_bundles, user_models_dir

    installed = [_bundle_summary(p, check=False) for p in installed_bundles()]
    available = [
        {"name": spec.model_name, "variant": key, "source": "bundle" if spec.bundle_url else "checkpoint"}
        for key, spec in VARIANTS.items()
        if not spec.reduced
    ]
    lines = [f"Installed in {user_models_dir()}:"]
    for info in installed:
        flag = "  (RANDOM WEIGHTS: tests and benchmarks only)" if info.get("random_weights") else ""
        lines.append(
            f"  {info['name']:<24} {info.get('variant', '?'):<10} {info.get('precision', '?')}{flag}"
        )
    if not installed:
        lines.append("  (none)  install one with: roto models install tiny")
    lines.append("Available to install:")
    lines.extend(f"  {a['variant']:<10} {a['name']} (from Meta's {a['source']})" for a in available)
    _emit(args, {"installed": installed, "available": available}, "\n".join(lines))
    return 0


def cmd_models_install(args: argparse.Namespace) -> int:
    from roto.engine.install import install

    path = install(args.name, overwrite=args.overwrite, progress=not args.json)
    _emit(args, {"installed": str(path)}, f"installed {path.name} in {path.parent}")
    return 0


def cmd_models_import(args: argparse.Namespace) -> int:
    from roto.engine.install import import_bundle, import_checkpoint

    source = Path(args.path)
    if source.suffix in (".pt", ".pth"):
        if not args.variant:
            raise RotoError(f"{source}: a checkpoint needs --variant (tiny, small, base-plus or large)")
        path = import_checkpoint(source, args.variant, overwrite=args.overwrite, name=args.name)
    else:
        path = import_bundle(source, overwrite=args.overwrite, name=args.name)
    _emit(args, {"installed": str(path)}, f"installed {path.name} in {path.parent}")
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    from roto.engine.bundle import find_bundle, installed_bundles

    folders = [find_bundle(args.name)] if args.name else installed_bundles()
    if not folders:
        raise RotoError("no model bundles are installed; see `roto models list`")
    results = [_bundle_summary(folder, check=True) for folder in folders]
    lines = []
    for info in results:
        lines.append(f"{info['name']}: {'OK' if info['ok'] else 'FAILED'}")
        lines.extend(f"  - {problem}" for problem in info["problems"])
    _emit(args, results, "\n".join(lines))
    return 0 if all(info["ok"] for info in results) else EXIT_ERROR


def cmd_models_remove(args: argparse.Namespace) -> int:
    from roto.engine.install import remove

    path = remove(args.name)
    _emit(args, {"removed": str(path)}, f"removed {path}")
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:
    from roto.engine.export_onnx import ExportRequest, export_bundle

    if args.checkpoint is None and not args.random_weights:
        raise RotoError(
            "give --checkpoint FILE (Meta's .pt), or --random-weights for a test/benchmark bundle"
        )
    out = export_bundle(
        ExportRequest(
            variant=args.variant,
            out_dir=Path(args.out),
            checkpoint=Path(args.checkpoint) if args.checkpoint else None,
            name=args.name,
            seed=args.seed,
            overwrite=args.overwrite,
        )
    )
    _emit(args, {"bundle": str(out)}, f"wrote bundle {out}")
    return 0


# --- doctor ----------------------------------------------------------------------------------------------------


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cmd_doctor(args: argparse.Namespace) -> int:
    import platform

    from roto.engine.bundle import installed_bundles

    packages = {
        name: _dist_version(name)
        for name in (
            "numpy",
            "opencv-python-headless",
            "av",
            "PySide6-Essentials",
            "onnxruntime",
            "onnxruntime-gpu",
            "onnx",
            "torch",
            "sam2",
        )
    }
    report: dict[str, Any] = {
        "roto": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "problems": [],
    }
    if packages["onnxruntime"] and packages["onnxruntime-gpu"]:
        report["problems"].append(
            "both onnxruntime and onnxruntime-gpu are installed and overwrite each other: "
            "pip uninstall -y onnxruntime onnxruntime-gpu, then install one"
        )
    try:
        from roto.engine.session import available_providers, cuda_self_test

        report["providers"] = available_providers()
        cuda_ok, cuda_note = cuda_self_test()
        report["cuda"] = {"works": cuda_ok, "note": cuda_note}
    except RotoError as exc:
        report["providers"] = []
        report["cuda"] = {"works": False, "note": str(exc)}
        report["problems"].append(str(exc))
    bundles = [_bundle_summary(p, check=True) for p in installed_bundles()]
    report["bundles"] = bundles
    if not bundles:
        report["problems"].append("no model bundle installed: run `roto models install tiny` (see README)")
    report["problems"].extend(p for b in bundles for p in b["problems"])
    lines = [
        f"Roto {report['roto']} on Python {report['python']} ({report['platform']})",
        *(f"  {name:<24} {version or 'not installed'}" for name, version in packages.items()),
        f"ONNX Runtime providers: {', '.join(report['providers']) or 'none'}",
        f"CUDA: {'works' if report['cuda']['works'] else 'not available'} ({report['cuda']['note']})",
        "Model bundles:",
        *(f"  {b['name']}: {'OK' if b['ok'] else 'FAILED'}" for b in bundles),
        *(["  (none)"] if not bundles else []),
        *(f"problem: {p}" for p in report["problems"]),
    ]
    _emit(args, report, "\n".join(lines))
    return 0 if not report["problems"] else EXIT_ERROR


# --- segment ---------------------------------------------------------------------------------------------------


def _parse_point(text: str) -> tuple[float, float, int]:
    """X,Y[:LABEL] with label 1 (include, default) or 0 (exclude)."""
    coords, _, label = text.partition(":")
    try:
        x, y = (float(v) for v in coords.split(","))
        return x, y, int(label) if label else 1
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"point {text!r} is not X,Y or X,Y:LABEL") from exc


def _parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
        return x0, y0, x1, y1
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"box {text!r} is not X0,Y0,X1,Y1") from exc


def _resolve_model(name: str | None) -> Path:
    from roto.engine.bundle import find_bundle, installed_bundles

    if name:
        return find_bundle(name)
    real = [p for p in installed_bundles() if not _bundle_summary(p, check=False).get("random_weights", True)]
    if not real:
        raise RotoError("no model bundle installed: run `roto models install tiny`, or pass --model PATH")
    return real[0]


def cmd_segment(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from roto.engine.bundle import load_bundle
    from roto.engine.predictor import ImagePredictor
    from roto.engine.session import RuntimeOptions

    image_path = Path(args.image)
    bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR) if image_path.is_file() else None
    if bgr is None:
        raise RotoError(f"{image_path}: missing or not a readable image")
    if not args.point and not args.box:
        raise RotoError("give at least one --point X,Y[:LABEL] or a --box X0,Y0,X1,Y1")
    predictor = ImagePredictor(
        load_bundle(_resolve_model(args.model)), RuntimeOptions(provider=args.provider, threads=args.threads)
    )
    predictor.set_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    points = np.array([p[:2] for p in args.point], np.float32) if args.point else None
    labels = np.array([p[2] for p in args.point]) if args.point else None
    box = np.array(args.box, np.float32) if args.box else None
    prediction = predictor.predict(points, labels, box, multimask=not args.single)
    mask = prediction.mask()
    out = Path(args.output)
    if not cv2.imwrite(str(out), mask.astype(np.uint8) * 255):
        raise RotoError(f"{out}: cannot write the mask (unknown extension or unwritable folder)")
    data = {
        "output": str(out),
        "score": float(prediction.scores[prediction.best]),
        "area": int(mask.sum()),
        "provider": predictor.report.provider,
    }
    _emit(args, data, f"wrote {out} (score {data['score']:.3f}, {data['area']} px)")
    return 0


# --- gui -------------------------------------------------------------------------------------------------------


def cmd_gui(args: argparse.Namespace) -> int:
    from roto.ui.app import run_app  # the only path from the CLI to Qt, taken for the GUI alone

    return run_app(args.media)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roto", description="Rotoscoping with SAM2: click, propagate, export."
    )
    parser.add_argument("--version", action="version", version=f"roto {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str, func: Any, parent: Any = sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        return p

    gui = add("gui", "open the editor (what `roto` alone does)", cmd_gui)
    gui.add_argument("media", nargs="?", help="a video, image sequence or project to open")

    segment = add("segment", "segment one image from points and/or a box", cmd_segment)
    segment.add_argument("image")
    segment.add_argument("--point", action="append", type=_parse_point, default=[], metavar="X,Y[:LABEL]")
    segment.add_argument("--box", type=_parse_box, metavar="X0,Y0,X1,Y1")
    segment.add_argument("-o", "--output", required=True, help="mask image to write (PNG)")
    segment.add_argument("--model", help="installed bundle name or bundle folder (default: first installed)")
    segment.add_argument("--single", action="store_true", help="single-mask output instead of best of three")
    segment.add_argument("--provider", default="auto", choices=("auto", "cuda", "cpu"))
    segment.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")

    add("doctor", "check the installation: packages, ONNX Runtime providers, CUDA, model bundles", cmd_doctor)

    models = sub.add_parser("models", help="install, verify and manage SAM2 model bundles")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    add("list", "installed bundles and the models available to install", cmd_models_list, msub)
    install = add(
        "install",
        "download and install a SAM2.1 model (tiny, small, base-plus, large)",
        cmd_models_install,
        msub,
    )
    install.add_argument("name")
    install.add_argument("--overwrite", action="store_true")
    imp = add(
        "import",
        "install a bundle folder/.zip, or convert one of Meta's .pt checkpoints",
        cmd_models_import,
        msub,
    )
    imp.add_argument("path")
    imp.add_argument("--variant", help="for a .pt checkpoint: tiny, small, base-plus or large")
    imp.add_argument("--name", help="install under this name")
    imp.add_argument("--overwrite", action="store_true")
    verify = add("verify", "check files, checksums and graph signatures of bundles", cmd_models_verify, msub)
    verify.add_argument("name", nargs="?", help="bundle name or folder (default: all installed)")
    remove = add("remove", "delete an installed bundle", cmd_models_remove, msub)
    remove.add_argument("name")
    export = add(
        "export", "convert a SAM2.1 checkpoint to a bundle (needs torch + sam2)", cmd_models_export, msub
    )
    export.add_argument("--checkpoint", help="Meta's .pt checkpoint")
    export.add_argument("--variant", required=True, help="tiny, small, base-plus, large (or test)")
    export.add_argument("--out", required=True, help="bundle folder to create")
    export.add_argument("--name", help="bundle name recorded in the manifest")
    export.add_argument(
        "--random-weights", action="store_true", help="random weights: for tests and benchmarks"
    )
    export.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    export.add_argument("--overwrite", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        argv.insert(0, "gui")  # `roto clip.mp4` opens the clip in the editor
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    if args.command is None:
        args = parser.parse_args(["gui"])
    try:
        return int(args.func(args))
    except RotoError as exc:
        print(f"roto: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("roto: interrupted", file=sys.stderr)
        return 130
