"""The user's installed bundles: install from the catalog, import by hand, remove.

Installing never leaves a half-made bundle under its final name: everything is built or unpacked in a temporary
folder beside the destination, verified, then renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import platformdirs
from tqdm import tqdm

from roto.engine.bundle import (
    GRAPH_NAMES,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    VARIANTS,
    VariantSpec,
    load_bundle,
    user_models_dir,
    verify_bundle,
)
from roto.engine.cpu_rewrite import forget_cpu_graphs
from roto.engine.download import download
from roto.engine.templates import bundle_from_checkpoint, has_template
from roto.errors import ModelError, RotoError


def describe_bundle(folder: Path, check: bool) -> dict[str, Any]:
    """What `roto models list`, `doctor` and the editor's model manager show of an installed bundle: name,
    variant, precision, size on disk, random weights, and (with `check`) the problems verification finds."""
    info: dict[str, Any] = {"name": folder.name, "path": str(folder)}
    try:
        bundle = load_bundle(folder)
        info.update(variant=bundle.variant, precision=bundle.manifest.get("precision"))
        info["random_weights"] = bundle.random_weights
        info["size"] = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    except (RotoError, OSError) as exc:
        info["problems"] = [str(exc)]
        info["ok"] = False
        return info
    if check:
        info["problems"] = verify_bundle(folder)
        info["ok"] = not info["problems"]
    return info


def checkpoints_dir() -> Path:
    return Path(platformdirs.user_cache_dir("roto", appauthor=False)) / "checkpoints"


def _manual_hint(spec: VariantSpec) -> str:
    url = spec.bundle_url or spec.checkpoint_url
    if spec.bundle_url:
        return f"Fetch {url} on a connected machine, then run: roto models import FILE.zip"
    return (
        f"Fetch {url} on a connected machine, then run: "
        f"roto models import {Path(str(url)).name} --variant {spec.key}"
    )


def _spec(name: str) -> VariantSpec:
    key = name.removeprefix("sam2.1-")
    spec = VARIANTS.get(key)
    if spec is None or spec.reduced:
        choices = ", ".join(k for k, v in VARIANTS.items() if not v.reduced)
        raise ModelError(f"unknown model {name!r}: choose one of {choices}")
    return spec


def _place(staging: Path, name: str, overwrite: bool) -> Path:
    """Verify a staged bundle and move it to its final name in the models folder."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise ModelError(f"bundle name {name!r} must be a plain folder name (no path separators or '..')")
    problems = verify_bundle(staging)
    if problems:
        raise ModelError("the bundle failed verification:\n  " + "\n  ".join(problems))
    final = user_models_dir() / name
    if final.exists():
        if not overwrite:
            raise ModelError(f"{final}: a bundle with this name is installed (use --overwrite to replace it)")
        shutil.rmtree(final)
    staging.rename(final)
    return final


def _staging_dir() -> Path:
    root = user_models_dir()
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=root))


Watch = Callable[[str, int, int | None], None]
"""Told (what is happening, done, total or None) as an install goes on; raising InstallCancelled from it stops the
install with nothing installed (a download's part file is kept, so the next attempt resumes)."""


class InstallCancelled(ModelError):
    """The user stopped an install."""


def install(name: str, overwrite: bool = False, progress: bool = True, watch: Watch | None = None) -> Path:
    """Install a SAM2.1 variant: a pre-exported bundle if the catalog names one, else checkpoint + conversion."""
    spec = _spec(name)
    url, sha256 = (
        (spec.bundle_url, spec.bundle_sha256)
        if spec.bundle_url
        else (spec.checkpoint_url, spec.checkpoint_sha256)
    )
    if not url:
        raise ModelError(f"the catalog names no download for {spec.model_name}")
    what = f"Downloading {Path(url).name}"
    on_block = None if watch is None else (lambda done, total: watch(what, done, total))
    path = download(
        url, checkpoints_dir() / Path(url).name, sha256, _manual_hint(spec), progress, on_block=on_block
    )
    if spec.bundle_url:
        return import_bundle(path, overwrite=overwrite)
    return import_checkpoint(path, spec.key, overwrite=overwrite, progress=progress, watch=watch)


def import_checkpoint(
    checkpoint: Path,
    variant: str,
    overwrite: bool = False,
    name: str | None = None,
    progress: bool = True,
    watch: Watch | None = None,
) -> Path:
    """Build a bundle from one of Meta's checkpoints and install it: from the variant's graph template (no
    PyTorch needed), else with the converter (the export extra)."""
    spec = _spec(variant)
    name = name or spec.model_name
    staging = _staging_dir()
    try:
        if has_template(spec.key):
            steps = len(GRAPH_NAMES) + 1
            with tqdm(total=steps, desc=f"building {name}", disable=not progress) as bar:

                def step(what: str) -> None:
                    bar.set_postfix_str(what)
                    bar.update(0 if what == "reading checkpoint" else 1)
                    if watch is not None:
                        watch(f"Building {name}: {what}", bar.n, steps)

                bundle_from_checkpoint(checkpoint, spec.key, staging, name, step)
                bar.update(1)
        else:
            _convert(checkpoint, spec.key, staging)
        return _place(staging, name, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _convert(checkpoint: Path, variant: str, out: Path) -> None:
    """The torch converter, for a variant without a graph template."""
    try:
        from roto.engine.export_onnx import ExportRequest, export_bundle
    except ImportError as exc:  # the frozen app leaves the converter out
        raise ModelError(
            f"this build of Roto cannot convert {checkpoint.name}: convert it where Roto runs from Python "
            f"(roto models export --checkpoint {checkpoint.name} --variant {variant} --out DIR), "
            "then `roto models import DIR` here"
        ) from exc
    export_bundle(ExportRequest(variant=variant, out_dir=out, checkpoint=checkpoint, overwrite=True))


def import_bundle(source: Path, overwrite: bool = False, name: str | None = None) -> Path:
    """Install a bundle folder or a .zip of one, after verifying it."""
    if not source.exists():
        raise ModelError(f"{source}: not found")
    staging = _staging_dir()
    try:
        if source.is_dir():
            shutil.copytree(source, staging, dirs_exist_ok=True)
        elif zipfile.is_zipfile(source):
            _unzip_bundle(source, staging)
        else:
            raise ModelError(
                f"{source}: neither a bundle folder nor a .zip of one "
                "(for Meta's .pt checkpoints use: roto models import FILE --variant NAME)"
            )
        bundle = load_bundle(staging)
        return _place(staging, name or bundle.name, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unzip_bundle(archive: Path, dest: Path) -> None:
    """Unpack a bundle archive whose files may sit in one top folder; refuse members that escape `dest`."""
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        manifests = [n for n in names if Path(n).name == MANIFEST_NAME]
        if len(manifests) != 1:
            raise ModelError(
                f"{archive}: expected one {MANIFEST_NAME} in the archive, found {len(manifests)}"
            )
        prefix = manifests[0][: -len(MANIFEST_NAME)]
        listed = _listed_sizes(archive, zf, manifests[0])
        budget = MAX_UNPACKED_BYTES
        for member in names:
            if not member.startswith(prefix):
                continue
            relative = Path(member[len(prefix) :])
            if relative.is_absolute() or ".." in relative.parts or len(relative.parts) != 1:
                raise ModelError(f"{archive}: unsafe or unexpected member {member!r}")
            if relative.name not in listed:
                continue  # the bundle does not list it, so nothing reads it: never unpack it
            limit = min(budget, listed[relative.name] or budget)
            with zf.open(member) as src, (dest / relative.name).open("wb") as out:
                budget -= _copy_at_most(src, out, limit, f"{archive}: {member}")


MAX_UNPACKED_BYTES = 8 * 1024**3  # the largest SAM2.1 bundle is about 1 GB


def _listed_sizes(archive: Path, zf: zipfile.ZipFile, manifest: str) -> dict[str, int | None]:
    """The files a zipped bundle's manifest lists, with their declared sizes (None: not declared)."""
    with zf.open(manifest) as handle:
        text = handle.read(MAX_MANIFEST_BYTES + 1)
    try:
        files = json.loads(text)["files"] if len(text) <= MAX_MANIFEST_BYTES else None
    except (ValueError, RecursionError, KeyError, TypeError) as exc:
        raise ModelError(f"{archive}: {manifest} is not a bundle manifest ({exc})") from exc
    if not isinstance(files, dict):
        raise ModelError(f"{archive}: {manifest} lists no files")
    sizes: dict[str, int | None] = {MANIFEST_NAME: MAX_MANIFEST_BYTES}
    for name, entry in files.items():
        size = entry.get("size") if isinstance(entry, dict) else None
        sizes[name] = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    return sizes


def _copy_at_most(src: IO[bytes], out: IO[bytes], limit: int, what: str) -> int:
    """Copy until the end or ``limit`` bytes, whatever the archive claims; more than that is refused."""
    copied = 0
    while block := src.read(1 << 20):
        copied += len(block)
        if copied > limit:
            raise ModelError(
                f"{what} unpacks to more than {limit} bytes (more than it declares): not unpacked"
            )
        out.write(block)
    return copied


def remove(name: str) -> Path:
    """Delete an installed bundle from the user's models folder (never anything outside it)."""
    root = user_models_dir().resolve()
    target = (root / name).resolve()
    if target.parent != root or not (target / MANIFEST_NAME).is_file():
        raise ModelError(f"no installed bundle named {name!r} in {root}")
    with contextlib.suppress(ModelError, OSError):  # its graphs' CPU rewrites in the user cache go with it
        files = load_bundle(target).manifest["files"]
        forget_cpu_graphs(entry["sha256"] for entry in files.values())
    shutil.rmtree(target)
    return target
