"""`roto doctor`: what is installed, which ONNX Runtime providers really run, and which bundles are sound."""

from __future__ import annotations

import argparse
from typing import Any

from roto import __version__
from roto.cli.common import EXIT_ERROR, add_command, emit
from roto.errors import RotoError


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cmd_doctor(args: argparse.Namespace) -> int:
    import platform

    from roto.engine.bundle import installed_bundles
    from roto.engine.install import describe_bundle

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
        from roto.engine.session import (
            available_providers,
            cuda_self_test,
            provider_plan,
            short_name,
            tensorrt_cache_dir,
            tensorrt_missing,
        )

        report["providers"] = available_providers()
        cuda_ok, cuda_note = cuda_self_test()
        report["cuda"] = {"works": cuda_ok, "note": cuda_note}
        if "TensorrtExecutionProvider" not in report["providers"]:
            missing: str | None = "no TensorRT provider in this ONNX Runtime"
        else:
            missing = tensorrt_missing()
        report["tensorrt"] = {
            "offered": missing is None,
            "note": missing or f"engine cache in {tensorrt_cache_dir()}",
        }
        plan = provider_plan("auto")
        report["auto"] = {
            "chain": [short_name(p[0] if isinstance(p, tuple) else p) for p in plan.providers],
            "passed_over": plan.passed_over,
        }
    except RotoError as exc:
        report["providers"] = []
        report["cuda"] = {"works": False, "note": str(exc)}
        report["auto"] = {"chain": [], "passed_over": []}
        report["problems"].append(str(exc))
    bundles = [describe_bundle(p, check=True) for p in installed_bundles()]
    report["bundles"] = bundles
    if not bundles:
        report["problems"].append("no model bundle installed: run `roto models install tiny` (see README)")
    report["problems"].extend(p for b in bundles for p in b["problems"])
    lines = [
        f"Roto {report['roto']} on Python {report['python']} ({report['platform']})",
        *(f"  {name:<24} {version or 'not installed'}" for name, version in packages.items()),
        f"ONNX Runtime providers: {', '.join(report['providers']) or 'none'}",
        f"CUDA: {'works' if report['cuda']['works'] else 'not available'} ({report['cuda']['note']})",
        *(
            [
                f"TensorRT: {'offered' if report['tensorrt']['offered'] else 'not used'} ({report['tensorrt']['note']})"
            ]
            if "tensorrt" in report
            else []
        ),
        f"provider 'auto' tries: {' -> '.join(report['auto']['chain']) or 'nothing'}",
        *(f"  passed over: {reason}" for reason in report["auto"]["passed_over"]),
        "Model bundles:",
        *(f"  {b['name']}: {'OK' if b['ok'] else 'FAILED'}" for b in bundles),
        *(["  (none)"] if not bundles else []),
        *(f"problem: {p}" for p in report["problems"]),
    ]
    emit(args, report, "\n".join(lines))
    return 0 if not report["problems"] else EXIT_ERROR


def register(sub: Any) -> None:
    add_command(
        sub,
        "doctor",
        "check the installation: packages, ONNX Runtime providers, CUDA, model bundles",
        cmd_doctor,
    )
