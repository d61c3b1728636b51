"""Build every variant's bundle (SAM2.1 and EdgeTAM) from Meta's checkpoints, zip each, and print the catalog entries for them.

    .venv/bin/python scripts/release_bundles.py --checkpoints DIR --out DIR --base-url URL [--variants tiny,large]

Checkpoints are taken from DIR by their catalog file names (sam2.1_hiera_tiny.pt, ...), downloaded there first
when missing. Each bundle is built from its graph template (no torch), verified, and zipped as NAME.zip with fixed
timestamps and member order, so the same checkpoint always gives the same archive. OUT receives the zips,
SHA256SUMS, and catalog-entries.json: for each variant the bundle_url (BASE-URL/NAME.zip) and bundle_sha256 to
put in models/catalog.json, and the checkpoint_sha256 of the checkpoint used. See docs/packaging.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zipfile
from pathlib import Path

from roto.engine.bundle import VARIANTS, sha256_file, verify_bundle
from roto.engine.download import download
from roto.engine.templates import bundle_from_checkpoint
from roto.errors import ModelError

ZIP_TIME = (2024, 9, 28, 0, 0, 0)  # SAM2.1's release date: fixed, so archives are reproducible


def _zip(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.name}", ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with path.open("rb") as src, zf.open(info, "w") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)


def release(variant: str, checkpoints: Path, out: Path, base_url: str) -> dict[str, str]:
    """Build, verify and zip one variant's bundle; returns its catalog entry."""
    spec = VARIANTS[variant]
    if not spec.checkpoint_url:
        raise ModelError(f"the catalog names no checkpoint for {variant}")
    checkpoint = download(
        spec.checkpoint_url,
        checkpoints / Path(spec.checkpoint_url).name,
        spec.checkpoint_sha256,
        progress=True,
    )
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        folder = Path(tmp) / spec.model_name
        folder.mkdir()
        bundle_from_checkpoint(
            checkpoint, variant, folder, spec.model_name, lambda step: print(variant, step)
        )
        problems = verify_bundle(folder)
        if problems:
            raise ModelError(f"{spec.model_name} failed verification:\n  " + "\n  ".join(problems))
        archive = out / f"{spec.model_name}.zip"
        _zip(folder, archive)
    return {
        "bundle_url": f"{base_url.rstrip('/')}/{archive.name}",
        "bundle_sha256": sha256_file(archive),
        "checkpoint_sha256": sha256_file(checkpoint),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", required=True, type=Path, help="folder of Meta's .pt files")
    parser.add_argument("--out", required=True, type=Path, help="folder for the zips and catalog entries")
    parser.add_argument("--base-url", required=True, help="where the release will host the zips")
    parser.add_argument("--variants", help="comma-separated (default: every installable variant)")
    args = parser.parse_args()
    variants = (
        args.variants.split(",") if args.variants else [k for k, v in VARIANTS.items() if not v.reduced]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    try:
        entries = {
            variant: release(variant, args.checkpoints, args.out, args.base_url) for variant in variants
        }
    except (ModelError, KeyError) as exc:
        print(f"release_bundles.py: {exc}", file=sys.stderr)
        return 1
    sums = "".join(f"{e['bundle_sha256']}  {Path(e['bundle_url']).name}\n" for e in entries.values())
    (args.out / "SHA256SUMS").write_text(sums)
    (args.out / "catalog-entries.json").write_text(json.dumps(entries, indent=2) + "\n")
    print(json.dumps(entries, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
