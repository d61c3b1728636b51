"""EdgeTAM's networks as a Roto bundle: the parts of the converter that differ from SAM2.1's.

EdgeTAM (facebookresearch/EdgeTAM) keeps SAM2.1's prompt encoder, mask decoder and memory bookkeeping; it swaps
Hiera for timm's RepViT-M1, compresses each memory with a spatial perceiver (`num_latents` global latents plus
`num_latents_2d` latents from a window grid) and runs 2 memory-attention layers whose cross-attention rotates only
the grid latents (RoPEAttentionv2). So a bundle keeps the five graphs and their names; the memory a frame keeps is
(tokens, mem_dim) instead of (mem_dim, H, W), and the memory attention rotates keys accordingly.

This module runs only where `import sam2` is EdgeTAM's fork (see `edgetam_env`): `export_onnx.export_bundle`
starts it as `python -m roto.engine.export_edgetam` in such a child process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from roto.engine import edgetam_env
from roto.engine.bundle import VARIANTS
from roto.engine.export_onnx import (
    _POSTPROCESSING_OVERRIDES,
    RANDOM_OBJECT_SCORE_BIAS,
    ExportRequest,
    _Graphs,
    _real_rope_forward,
    _require_torch,
    _torch_modules,
    export_bundle,
    load_with_meta_code,
)
from roto.errors import ModelError

# A reduced EdgeTAM for the committed test bundle: 256 px input, a RepViT of one block per stage and widths
# 16..128, 64-wide transformer, 16-wide memory compressed to 16 + 16 latents. Everything else is EdgeTAM's config.
TEST_REPVIT: dict[str, Any] = {"embed_dim": (16, 32, 64, 128), "depth": (1, 1, 1, 1)}
TEST_OVERRIDES: tuple[str, ...] = (
    "++model.image_size=256",
    "++model.image_encoder.neck.d_model=64",
    "++model.image_encoder.neck.position_encoding.num_pos_feats=64",
    "++model.image_encoder.neck.backbone_channel_list=[128,64,32,16]",
    "++model.memory_attention.d_model=64",
    "++model.memory_attention.layer.d_model=64",
    "++model.memory_attention.layer.dim_feedforward=128",
    "++model.memory_attention.layer.self_attention.embedding_dim=64",
    "++model.memory_attention.layer.self_attention.feat_sizes=[16,16]",
    "++model.memory_attention.layer.cross_attention.embedding_dim=64",
    "++model.memory_attention.layer.cross_attention.q_sizes=[16,16]",
    "++model.memory_attention.layer.cross_attention.k_sizes=[4,4]",
    "++model.memory_attention.layer.cross_attention.kv_in_dim=16",
    "++model.memory_encoder.out_dim=16",
    "++model.memory_encoder.in_dim=64",
    "++model.memory_encoder.position_encoding.num_pos_feats=16",
    "++model.memory_encoder.mask_downsampler.embed_dim=64",
    "++model.memory_encoder.fuser.layer.dim=64",
    "++model.spatial_perceiver.dim=16",
    "++model.spatial_perceiver.dim_head=16",
    "++model.spatial_perceiver.num_latents=16",
    "++model.spatial_perceiver.num_latents_2d=16",
    "++model.spatial_perceiver.position_encoding.num_pos_feats=16",
)


def _offline_timm(reduced: bool) -> Any:
    """timm's create_model without ImageNet downloads (EdgeTAM's TimmBackbone asks for pretrained weights, which
    the checkpoint replaces anyway), and with the reduced RepViT for the test model."""
    import timm

    def create_model(name: str, pretrained: bool = False, **kwargs: Any) -> Any:
        return timm.create_model(name, pretrained=False, **kwargs, **(TEST_REPVIT if reduced else {}))

    return create_model


def build_edgetam_model(
    variant: str, checkpoint: Path | None, seed: int = 0, object_score_bias: float = RANDOM_OBJECT_SCORE_BIAS
) -> Any:
    """EdgeTAM's network built by its own code and config; random weights (seeded) when no checkpoint.

    A checkpoint is loaded strictly (every tensor name and shape), which is how a download is verified."""
    from sam2.modeling.backbones import timm as timm_backbone

    spec = VARIANTS[variant]
    overrides = list(_POSTPROCESSING_OVERRIDES) + (list(TEST_OVERRIDES) if spec.reduced else [])
    timm_backbone.create_model = _offline_timm(spec.reduced)
    return load_with_meta_code(
        spec.config,
        checkpoint,
        seed,
        object_score_bias,
        overrides,
        misfit="its weights do not fit EdgeTAM (not EdgeTAM's checkpoint, or damaged)",
        read_as="an EdgeTAM checkpoint",
        apply_postprocessing=False,
    )


def _rope_v2_forward(
    self: Any, q: Any, k: Any, v: Any, num_k_exclude_rope: int = 0, rope_k_repeat: int = -1
) -> Any:
    """RoPEAttentionv2.forward as real-valued maths: the key tables, set by the graph wrapper, already hold the
    per-memory layout (global latents unrotated, grid latents rotated, pointers unrotated)."""
    return _real_rope_forward(self, q, k, v)


class EdgeTamGraphs(_Graphs):
    """SAM2.1's graph wrappers over an EdgeTAM model, with its perceiver memory and memory attention."""

    def __init__(self, model: Any) -> None:
        torch = _require_torch()
        super().__init__(model)
        perceiver = model.spatial_perceiver
        self.latents_1d = max(int(perceiver.num_latents), 0)
        self.latents_2d = max(int(perceiver.num_latents_2d), 0)
        with torch.no_grad():  # the perceiver's positions depend on shapes only: constant
            probe = torch.zeros(1, self.mem_dim, self.feat_size, self.feat_size)
            self.memory_pos = perceiver(probe, probe)[1][0]  # (tokens, mem_dim)

    def _install_cheaper_attention(self) -> None:
        """SAM2.1's decoder rewrites, and RepViT re-parameterised for inference (see `_reparameterise`)."""
        super()._install_cheaper_attention()
        _reparameterise(self.model.image_encoder.trunk.body)

    @property
    def memory_tokens(self) -> int:
        return self.latents_1d + self.latents_2d

    def _install_real_rope(self) -> None:
        from sam2.modeling.sam.transformer import RoPEAttentionv2

        super()._install_real_rope()
        for module in self.model.memory_attention.modules():
            if not isinstance(module, RoPEAttentionv2):
                continue
            q_cis = module.compute_cis(end_x=self.feat_size, end_y=self.feat_size)
            module._rope_q = (q_cis.real.float(), q_cis.imag.float())
            torch = _require_torch()
            grid = module.freqs_cis_k
            unrotated = int(self.model.spatial_perceiver.num_latents)
            width = grid.shape[-1]
            module._memory_rope = (
                torch.cat([torch.ones(max(unrotated, 0), width), grid.real.float()]),
                torch.cat([torch.zeros(max(unrotated, 0), width), grid.imag.float()]),
            )
            module.rope_k_repeat = True
            module.forward = _bind(_rope_v2_forward, module)
            self._rope_modules.append(module)

    def _memory_rope(self, module: Any) -> tuple[Any, Any]:
        return getattr(module, "_memory_rope", module._rope_q)

    def _memory_layout(self, memory_feats: Any) -> Any:
        return memory_feats  # already (memories, tokens, mem_dim)

    def _memory_pos(self) -> Any:
        return self.memory_pos.unsqueeze(1)  # (tokens, 1, mem_dim)

    def memory_encoder(self) -> Any:
        _, nn, _ = _torch_modules()
        encoder = super().memory_encoder()
        perceiver = self.model.spatial_perceiver

        class PerceiverMemoryEncoder(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = encoder

            def forward(
                self, image_embed: Any, mask_logits: Any, object_score_logits: Any, binarize: Any
            ) -> Any:
                features, pos = self.encoder(image_embed, mask_logits, object_score_logits, binarize)
                return perceiver(features, pos)

        return PerceiverMemoryEncoder()

    def example_inputs(self, name: str) -> tuple[Any, ...]:
        inputs = super().example_inputs(name)
        if name != "memory_attention":
            return inputs
        torch = _require_torch()
        gen = torch.Generator().manual_seed(1)
        return (inputs[0], torch.randn(2, self.memory_tokens, self.mem_dim, generator=gen), *inputs[2:])


def _reparameterise(net: Any) -> None:
    """RepViT in its inference form: each RepVggDw token mixer's three branches (3x3 depthwise conv, 1x1 depthwise
    conv, identity) and its BatchNorm run as one 3x3 depthwise conv, and every conv+BatchNorm pair as one conv. The
    same function of the input up to float rounding, with a third fewer convs and none of the branch sums: the
    encoder is most of an EdgeTAM frame's time on a CPU.

    timm's `fuse()` would bake the merged weights into new modules; here each module's forward computes them from
    the checkpoint's own tensors (timm's arithmetic), so the export folds them into the same graph while the
    unfolded trace still shows how they derive from the state dict: what a graph template needs
    (`template_export`)."""
    from timm.models.repvit import ConvNorm, RepVggDw

    for module in net.modules():
        if isinstance(module, RepVggDw):
            _run_repvgg_dw_as_one_conv(module)
        elif isinstance(module, ConvNorm):
            _run_conv_norm_as_one_conv(module)


def _run_conv_norm_as_one_conv(module: Any) -> None:
    module.forward = _bind(_conv_norm_forward, module)


def _run_repvgg_dw_as_one_conv(module: Any) -> None:
    torch = _require_torch()
    size = module.conv.c.kernel_size
    centre = torch.zeros(1, 1, *size)  # the 1x1 kernel and the identity as kernels of the 3x3's size
    centre[..., size[0] // 2, size[1] // 2] = 1.0
    module.__dict__["_centre"] = centre  # a constant of the trace, not a buffer of the state dict
    module.forward = _bind(_repvgg_dw_forward, module)


def _folded_batch_norm(weight: Any, bias: Any, bn: Any) -> tuple[Any, Any]:
    """A conv's weight and bias with the BatchNorm after it folded in."""
    torch = _require_torch()
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # Pow would stay unfolded in the export
    return weight * scale.reshape(-1, 1, 1, 1), bn.bias + (bias - bn.running_mean) * scale


def _conv_norm_weights(conv_norm: Any) -> tuple[Any, Any]:
    return _folded_batch_norm(conv_norm.c.weight, 0.0, conv_norm.bn)


def _conv_norm_forward(self: Any, x: Any) -> Any:
    _, _, functional = _torch_modules()
    weight, bias = _conv_norm_weights(self)
    c = self.c
    return functional.conv2d(x, weight, bias, c.stride, c.padding, c.dilation, c.groups)


def _repvgg_dw_forward(self: Any, x: Any) -> Any:
    _, _, functional = _torch_modules()
    weight, bias = _conv_norm_weights(self.conv)
    if self.legacy:
        weight_1x1, bias_1x1 = _conv_norm_weights(self.conv1)
    else:
        weight_1x1, bias_1x1 = self.conv1.weight, self.conv1.bias
    weight = weight + weight_1x1 * self._centre + self._centre
    bias = bias + bias_1x1
    if not self.legacy:
        weight, bias = _folded_batch_norm(weight, bias, self.bn)
    c = self.conv.c
    return functional.conv2d(x, weight, bias, 1, c.padding, 1, c.groups)


def _bind(function: Any, module: Any) -> Any:
    import types

    return types.MethodType(function, module)


def main(argv: list[str] | None = None) -> int:
    """The child-process entry `export_onnx.export_bundle` starts for EdgeTAM variants."""
    parser = argparse.ArgumentParser(prog="python -m roto.engine.export_edgetam")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--checkpoint")
    parser.add_argument("--name")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        print(export_bundle(ExportRequest.from_args(args)))
    except ModelError as exc:
        print(edgetam_env.child_error(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
