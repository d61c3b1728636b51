"""A random-weight EdgeTAM saved as a checkpoint and converted by the torch exporter: the two sides of the
EdgeTAM graph-template test (test_templates.py). Runs in a child Python whose `sam2` is EdgeTAM's fork
(`roto.engine.edgetam_env.run_in_fork`): `python -m tests.engine.edgetam_checkpoint OUT VARIANT SEED`
writes OUT/VARIANT.pt and the converted bundle OUT/torch."""

from __future__ import annotations

import sys
from pathlib import Path


def main(out: Path, variant: str, seed: int) -> None:
    import torch

    from roto.engine.export_edgetam import build_edgetam_model
    from roto.engine.export_onnx import ExportRequest, export_bundle
    from roto.engine.template_export import randomise

    model = randomise(build_edgetam_model(variant, None, seed=seed), seed)
    torch.save({"model": model.state_dict()}, out / f"{variant}.pt")
    export_bundle(ExportRequest(variant=variant, out_dir=out / "torch", seed=seed), model=model)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
