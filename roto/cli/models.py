"""`roto models ...`: list, install, import, verify, remove and convert SAM2 model bundles."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from roto.cli.common import EXIT_ERROR, add_command, emit
from roto.errors import RotoError


def cmd_models_list(args: argparse.Namespace) -> int:
    from roto.engine.bundle import VARIANTS, installed_bundles, user_models_dir
    from roto.engine.install import describe_bundle

    installed = [describe_bundle(p, check=False) for p in installed_bundles()]
    available = [
        {
            "name": spec.model_name,
            "variant": key,
            "family": spec.family,
            "source": "bundle" if spec.bundle_url else "checkpoint",
            "bundle_mib": spec.bundle_mib,
            "propagation_fps": spec.propagation_fps,
        }
        for key, spec in VARIANTS.items()
        if not spec.reduced
    ]
    lines = [f"Installed in {user_models_dir()}:"]
    for info in installed:
        flag = "  (RANDOM WEIGHTS: tests and benchmarks only)" if info.get("random_weights") else ""
        lines.append(
            f"  {info['name']:<24} {info.get('variant', '?'):<10} {info.get('precision', '?'):<6} "
            f"{info.get('size', 0) / 2**20:>7.1f} MiB{flag}"
        )
    if not installed:
        lines.append("  (none)  install one with: roto models install tiny")
    lines.append("Available to install:")
    lines.extend(
        f"  {a['variant']:<10} {a['name']} (from Meta's {a['source']}){_measured(a)}" for a in available
    )
    emit(args, {"installed": installed, "available": available}, "\n".join(lines))
    return 0


def _measured(available: dict[str, Any]) -> str:
    """Size and speed measured on the project's machine, where the catalog has them."""
    parts = []
    if available["bundle_mib"] is not None:
        parts.append(f"{available['bundle_mib']:.0f} MiB")
    if available["propagation_fps"] is not None:
        parts.append(f"{available['propagation_fps']:.2f} frames/s tracking 1080p on 2 CPU threads")
    return f": {', '.join(parts)} (measured on a 2-core machine)" if parts else ""


def cmd_models_install(args: argparse.Namespace) -> int:
    from roto.engine.install import install

    path = install(args.name, overwrite=args.overwrite, progress=not args.json)
    emit(args, {"installed": str(path)}, f"installed {path.name} in {path.parent}")
    return 0


def cmd_models_import(args: argparse.Namespace) -> int:
    from roto.engine.install import import_bundle, import_checkpoint

    source = Path(args.path)
    if source.suffix in (".pt", ".pth"):
        if not args.variant:
            raise RotoError(f"{source}: a checkpoint needs --variant (tiny, small, base-plus or large)")
        path = import_checkpoint(
            source, args.variant, overwrite=args.overwrite, name=args.name, progress=not args.json
        )
    else:
        path = import_bundle(source, overwrite=args.overwrite, name=args.name)
    emit(args, {"installed": str(path)}, f"installed {path.name} in {path.parent}")
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    from roto.engine.bundle import find_bundle, installed_bundles
    from roto.engine.install import describe_bundle

    folders = [find_bundle(args.name)] if args.name else installed_bundles()
    if not folders:
        raise RotoError("no model bundles are installed; see `roto models list`")
    results = [describe_bundle(folder, check=True) for folder in folders]
    lines = []
    for info in results:
        lines.append(f"{info['name']}: {'OK' if info['ok'] else 'FAILED'}")
        lines.extend(f"  - {problem}" for problem in info["problems"])
    emit(args, results, "\n".join(lines))
    return 0 if all(info["ok"] for info in results) else EXIT_ERROR


def cmd_models_remove(args: argparse.Namespace) -> int:
    from roto.engine.install import remove

    path = remove(args.name)
    emit(args, {"removed": str(path)}, f"removed {path}")
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:
    from roto.engine.export_onnx import ExportRequest, export_bundle

    if args.checkpoint is None and not args.random_weights:
        raise RotoError(
            "give --checkpoint FILE (Meta's .pt), or --random-weights for a test/benchmark bundle"
        )
    out = export_bundle(ExportRequest.from_args(args))
    emit(args, {"bundle": str(out)}, f"wrote bundle {out}")
    return 0


def cmd_models_templates(args: argparse.Namespace) -> int:
    from roto.engine.bundle import VARIANTS
    from roto.engine.template_export import make_template

    variants = args.variants or list(VARIANTS)
    folders = [str(make_template(variant)) for variant in variants]
    emit(args, {"templates": folders}, "\n".join(f"wrote graph template {f}" for f in folders))
    return 0


def cmd_models_quantize(args: argparse.Namespace) -> int:
    from roto.engine.bundle import find_bundle, load_bundle
    from roto.engine.quantize import quantized_bundle

    bundle = quantized_bundle(load_bundle(find_bundle(args.name)))
    emit(args, {"bundle": str(bundle.path)}, f"int8-encoder bundle {bundle.name} in {bundle.path.parent}")
    return 0


def cmd_models_convert(args: argparse.Namespace) -> int:
    from roto.engine.bundle import find_bundle, load_bundle
    from roto.engine.precision import fp16_bundle
    from roto.engine.quantize import quantized_bundle

    source = load_bundle(find_bundle(args.name))
    dest = Path(args.out) if args.out else None
    bundle = fp16_bundle(source, dest) if args.precision == "fp16" else quantized_bundle(source, dest)
    precision = bundle.manifest.get("precision")
    emit(
        args,
        {"bundle": str(bundle.path), "precision": precision},
        f"{precision} bundle {bundle.name} in {bundle.path.parent}",
    )
    return 0


def register(sub: Any) -> None:
    models = sub.add_parser(
        "models",
        help="install, verify and manage SAM2 model bundles",
        description="Manage SAM2 model bundles.",
    )
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    add_command(msub, "list", "installed bundles and the models available to install", cmd_models_list)
    install = add_command(
        msub,
        "install",
        "download and install a SAM2.1 model (tiny, small, base-plus, large)",
        cmd_models_install,
    )
    install.add_argument("name")
    install.add_argument("--overwrite", action="store_true")
    imp = add_command(
        msub,
        "import",
        "install a bundle folder/.zip, or convert one of Meta's .pt checkpoints",
        cmd_models_import,
    )
    imp.add_argument("path")
    imp.add_argument("--variant", help="for a .pt checkpoint: tiny, small, base-plus or large")
    imp.add_argument("--name", help="install under this name")
    imp.add_argument("--overwrite", action="store_true")
    verify = add_command(
        msub, "verify", "check files, checksums and graph signatures of bundles", cmd_models_verify
    )
    verify.add_argument("name", nargs="?", help="bundle name or folder (default: all installed)")
    remove = add_command(msub, "remove", "delete an installed bundle", cmd_models_remove)
    remove.add_argument("name")
    quantize = add_command(
        msub, "quantize", "make NAME-int8: the encoder quantised to int8, faster on CPUs", cmd_models_quantize
    )
    quantize.add_argument("name", help="installed bundle name or bundle folder")
    convert = add_command(
        msub,
        "convert",
        "make a precision variant beside the bundle: NAME-fp16 (for GPUs) or NAME-int8 (encoder, for CPUs)",
        cmd_models_convert,
    )
    convert.add_argument("name", help="installed bundle name or bundle folder")
    convert.add_argument("--precision", required=True, choices=("fp16", "int8"))
    convert.add_argument(
        "--out", help="bundle folder to create (default: beside the source, NAME-fp16/-int8)"
    )
    templates = add_command(
        msub,
        "templates",
        "regenerate the graph templates that build bundles without torch (needs the convert setup)",
        cmd_models_templates,
    )
    templates.add_argument(
        "variants",
        nargs="*",
        help="tiny, small, base-plus, large, test, edgetam, edgetam-test (default: all)",
    )
    export = add_command(
        msub, "export", "convert a SAM2.1 checkpoint to a bundle (needs torch + sam2)", cmd_models_export
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
