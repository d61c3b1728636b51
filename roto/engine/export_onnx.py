"""Convert Meta's SAM2 checkpoints into a Roto model bundle of ONNX graphs.

This is the only module that needs PyTorch and Meta's `sam2` package (the optional `export` extra). It builds the
network with Meta's own code and configs, so the graphs carry SAM2's real architecture and weights, and splits it
into the four graphs the engine runs:

- image_encoder: normalised image -> backbone features (once per frame, cached)
- prompt_decoder: features + points/box/mask prompt -> mask logits of all four tokens, IoU, object score, pointers
- memory_encoder: features + a chosen mask -> the memory that video propagation keeps per frame
- memory_attention: features + memories + object pointers -> memory-conditioned features for the next frame
- mask_prompt: a painted mask at model size -> the decoder's mask input for it, and the "no object" pointer

Selection logic that SAM2 runs in Python (multimask choice, stability fallback, memory bookkeeping) stays in
numpy in `predictor.py` and `propagator.py`, so the graphs have no data-dependent control flow.

The same code, run on a randomly initialised model with a reduced configuration (`TEST_OVERRIDES`), makes the
small test bundle committed under tests/: identical graph structure and input/output names, tiny dimensions.
"""

from __future__ import annotations

import argparse
import functools
import logging
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roto.engine import edgetam_env
from roto.engine.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    EDGETAM,
    FAMILY_KEY,
    GRAPH_NAMES,
    MANIFEST_NAME,
    SAM2,
    VARIANTS,
    sha256_file,
    write_manifest,
)
from roto.engine.settings import Sam2Settings
from roto.errors import ModelError

log = logging.getLogger(__name__)

OPSET = 17
FUSED_ATTENTION_OP = "com.microsoft::MultiHeadAttention"

INSTALL_HINT = (
    "the converter needs PyTorch and Meta's sam2 code: in a checkout run `bash scripts/setup-env.sh convert`, or "
    "pip install 'torch>=2.5' 'torchvision>=0.20' hydra-core iopath pillow && "
    "SAM2_BUILD_CUDA=0 pip install --no-build-isolation sam2==1.1.0"
)

# A reduced SAM2.1 (same modules, same graphs, tiny widths) for the committed test bundle: a 256 px input,
# a 2-stage-deep Hiera, 64-wide transformer and 16-wide memory. Everything else is SAM2.1-tiny's config.
TEST_OVERRIDES: tuple[str, ...] = (
    "++model.image_size=256",
    "++model.image_encoder.trunk.embed_dim=16",
    "++model.image_encoder.trunk.num_heads=1",
    "++model.image_encoder.trunk.stages=[1,1,2,1]",
    "++model.image_encoder.trunk.global_att_blocks=[3]",
    "++model.image_encoder.trunk.window_spec=[8,4,8,4]",
    "++model.image_encoder.trunk.window_pos_embed_bkg_spatial_size=[4,4]",
    "++model.image_encoder.neck.d_model=64",
    "++model.image_encoder.neck.position_encoding.num_pos_feats=64",
    "++model.image_encoder.neck.backbone_channel_list=[128,64,32,16]",
    "++model.memory_attention.d_model=64",
    "++model.memory_attention.num_layers=2",
    "++model.memory_attention.layer.d_model=64",
    "++model.memory_attention.layer.dim_feedforward=128",
    "++model.memory_attention.layer.self_attention.embedding_dim=64",
    "++model.memory_attention.layer.self_attention.feat_sizes=[16,16]",
    "++model.memory_attention.layer.cross_attention.embedding_dim=64",
    "++model.memory_attention.layer.cross_attention.feat_sizes=[16,16]",
    "++model.memory_attention.layer.cross_attention.kv_in_dim=16",
    "++model.memory_encoder.out_dim=16",
    "++model.memory_encoder.in_dim=64",
    "++model.memory_encoder.position_encoding.num_pos_feats=16",
    "++model.memory_encoder.mask_downsampler.embed_dim=64",
    "++model.memory_encoder.fuser.layer.dim=64",
)

# Options Meta's predictors add on top of the config (build_sam.py, apply_postprocessing=True).
_POSTPROCESSING_OVERRIDES = (
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_via_stability=true",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta=0.05",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh=0.98",
)


def _require_torch() -> Any:
    try:
        import sam2  # noqa: F401
        import torch
    except ImportError as exc:
        raise ModelError(f"cannot convert models: {exc}; {INSTALL_HINT}") from exc
    return torch


@dataclass(frozen=True)
class ExportRequest:
    """What to convert: a variant of SAM2.1, from a checkpoint or (for tests and benchmarks) random weights."""

    variant: str
    out_dir: Path
    checkpoint: Path | None = None
    name: str | None = None
    seed: int = 0
    overwrite: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ExportRequest:
        """From parsed options named as `roto models export` names them (also the EdgeTAM converter's child)."""
        return cls(
            variant=args.variant,
            out_dir=Path(args.out),
            checkpoint=Path(args.checkpoint) if args.checkpoint else None,
            name=args.name,
            seed=args.seed,
            overwrite=args.overwrite,
        )


# Untrained, the object-presence head scores every frame slightly below zero, so a random model "loses" every
# object and all tracked masks come out empty. Random-weight models start this head's output bias here instead,
# so tests and benchmarks exercise real tracking; tests pass a negative value to exercise "object absent".
RANDOM_OBJECT_SCORE_BIAS = 2.0


def build_sam2_model(
    variant: str, checkpoint: Path | None, seed: int = 0, object_score_bias: float = RANDOM_OBJECT_SCORE_BIAS
) -> Any:
    """Build Meta's SAM2 network for `variant` with Meta's code; random weights (seeded) when no checkpoint."""
    if variant not in VARIANTS:
        raise ModelError(f"unknown SAM2 variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    spec = VARIANTS[variant]
    if spec.family != SAM2:
        raise ModelError(
            f"{variant} is a {spec.family} model, not SAM2.1 (built by roto.engine.export_edgetam)"
        )
    overrides = list(_POSTPROCESSING_OVERRIDES)
    if spec.reduced:
        overrides += TEST_OVERRIDES
    return load_with_meta_code(
        spec.config,
        checkpoint,
        seed,
        object_score_bias,
        overrides,
        misfit=f"its weights do not fit SAM2.1 {variant} (wrong variant or not a SAM2.1 checkpoint)",
        read_as="a SAM2 checkpoint",
    )


def load_with_meta_code(
    config: str,
    checkpoint: Path | None,
    seed: int,
    object_score_bias: float,
    overrides: list[str],
    misfit: str,
    read_as: str,
    **build_options: Any,
) -> Any:
    """The network from `config` by whichever `sam2` package is importable (Meta's, or EdgeTAM's fork in its
    child Python), in inference mode; a checkpoint is loaded strictly, which is how a download is verified.

    Errors name the checkpoint: `misfit` says why its tensors do not fit, `read_as` what it cannot be read as."""
    torch = _require_torch()
    from sam2.build_sam import build_sam2

    torch.manual_seed(seed)
    try:
        model = build_sam2(
            config,
            ckpt_path=str(checkpoint) if checkpoint else None,
            device="cpu",
            hydra_overrides_extra=overrides,
            **build_options,
        )
    except RuntimeError as exc:
        raise ModelError(f"{checkpoint}: {misfit}: {exc}") from exc
    except (OSError, KeyError, EOFError, ValueError) as exc:
        raise ModelError(f"{checkpoint}: cannot read as {read_as}: {exc}") from exc
    model.eval()
    model.requires_grad_(False)
    if checkpoint is None:
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.fill_(object_score_bias)
    return model


# --- graph wrappers ------------------------------------------------------------------------------------------


def _torch_modules() -> tuple[Any, Any, Any]:
    torch = _require_torch()
    from torch import nn
    from torch.nn import functional

    return torch, nn, functional


@functools.cache
def _fused_attention() -> Any:
    """Attention that exports as ONNX Runtime's fused MultiHeadAttention operator instead of MatMul/Softmax/MatMul.

    Exported plainly, attention writes out the whole score matrix (4096 x 28,700 floats per memory-attention
    layer with seven memories) and reads it back twice; the fused CPU kernel is flash attention, which keeps it
    in cache. Inputs and output are (batch, tokens, heads * head width); value heads may be narrower than query
    heads. Run eagerly (tracing, parity tests) it is torch's own scaled_dot_product_attention.
    """
    torch = _require_torch()
    from torch.nn import functional

    class FusedAttention(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, q: Any, k: Any, v: Any, num_heads: int) -> Any:
            def heads(x: Any) -> Any:
                return x.reshape(x.shape[0], x.shape[1], num_heads, -1).transpose(1, 2)

            out = functional.scaled_dot_product_attention(heads(q), heads(k), heads(v))
            return out.transpose(1, 2).flatten(2)

        @staticmethod
        def symbolic(g: Any, q: Any, k: Any, v: Any, num_heads: int) -> Any:
            out = g.op(FUSED_ATTENTION_OP, q, k, v, num_heads_i=num_heads)
            # The exporter cannot infer a contrib operator's output: (batch, query tokens, value width).
            out.setType(q.type().with_sizes(q.type().varyingSizes()[:2] + v.type().varyingSizes()[2:]))
            return out

    return FusedAttention.apply


def _hiera_attention_forward(self: Any, x: Any) -> Any:
    """Replacement for Hiera's MultiScaleAttention.forward: same maths, attention through `_fused_attention`."""
    from sam2.modeling.backbones.hieradet import do_pool
    from torch.nn import functional

    batch, height, width, _ = x.shape
    x = x.reshape(batch, height * width, -1)
    # Three projections rather than one split three ways: the split alone was 7% of the int8 encoder's time.
    q, k, v = (
        functional.linear(x, weight, bias)
        for weight, bias in zip(self.qkv.weight.chunk(3), self.qkv.bias.chunk(3), strict=True)
    )
    if self.q_pool:
        q = do_pool(q.reshape(batch, height, width, -1), self.q_pool)
        height, width = q.shape[1:3]
        q = q.reshape(batch, height * width, -1)
    out = _fused_attention()(q, k, v, self.num_heads)
    return self.proj(out.reshape(batch, height, width, -1))


def _tokens_to_image_forward(self: Any, q: Any, k: Any, v: Any) -> Any:
    """The mask decoder's few prompt tokens attending to the 4096 image tokens, without projecting the image tokens.

    Per head h, scores are q_h (k Wk_h' + bk_h)' = (q_h Wk_h) k' + q_h.bk_h; the last term is the same for every
    key, which softmax ignores. Each row of weights P_h sums to 1, so P_h (v Wv_h' + bv_h) = (P_h v) Wv_h' + bv_h.
    Both products then cost (heads x tokens) x 4096 x width instead of 4096 x width x width: exact, and cheaper.
    """
    from torch.nn import functional

    batch, count, _ = q.shape
    heads = self.num_heads
    head_width = self.internal_dim // heads
    query = self.q_proj(q).reshape(batch, count, heads, head_width).transpose(1, 2)  # (B, H, n, d)
    key_weight = self.k_proj.weight.reshape(heads, head_width, -1)  # (H, d, C)
    query_in_keys = (query @ key_weight) * head_width**-0.5  # (B, H, n, C)
    # Heads stacked as rows, so each product against the image tokens is one matrix product, not one per head.
    scores = query_in_keys.reshape(batch, heads * count, -1) @ k.transpose(-1, -2)  # (B, H*n, L)
    weights = functional.softmax(scores, dim=-1)  # each row is one head's query: same softmax as per head
    attended = (weights @ v).reshape(batch, heads, count, -1)  # (B, H, n, C)
    value_weight = self.v_proj.weight.reshape(heads, head_width, -1)  # (H, d, C)
    out = attended @ value_weight.transpose(-1, -2) + self.v_proj.bias.reshape(heads, 1, head_width)
    return self.out_proj(out.transpose(1, 2).reshape(batch, count, -1))


def _image_to_tokens_forward(self: Any, q: Any, k: Any, v: Any) -> Any:
    """The 4096 image tokens attending to the few prompt tokens, without projecting the image tokens in or out.

    Per head h, scores are (q Wq_h' + bq_h) K_h' = q (Wq_h' K_h') + bq_h K_h' with K_h the projected keys, and the
    output projection distributes over heads: sum_h P_h (V_h Wo_h'). Both sides then cost 4096 x width x
    (heads x tokens) instead of 4096 x width x width: exact, and cheaper.
    """
    from torch.nn import functional

    batch, length, _ = q.shape
    count = k.shape[1]
    heads = self.num_heads
    head_width = self.internal_dim // heads

    def split(x: Any) -> Any:  # (B, n, H*d) -> (B, H, n, d)
        return x.reshape(batch, count, heads, head_width).transpose(1, 2)

    keys, values = split(self.k_proj(k)), split(self.v_proj(v))
    query_weight = self.q_proj.weight.reshape(heads, head_width, -1)  # (H, d, C)
    key_map = (query_weight.transpose(-1, -2) @ keys.transpose(-1, -2)) * head_width**-0.5  # (B, H, C, n)
    key_bias = (self.q_proj.bias.reshape(heads, 1, head_width) @ keys.transpose(-1, -2)) * head_width**-0.5
    scores = q @ key_map.transpose(1, 2).reshape(batch, -1, heads * count)  # (B, L, H*n)
    scores = scores.reshape(batch, length, heads, count) + key_bias.reshape(batch, 1, heads, count)
    weights = functional.softmax(scores, dim=-1).reshape(batch, length, heads * count)
    out_weight = self.out_proj.weight.reshape(-1, heads, head_width).permute(1, 2, 0)  # (H, d, C_out)
    value_out = (values @ out_weight).reshape(batch, heads * count, -1)  # (B, H*n, C_out)
    return weights @ value_out + self.out_proj.bias


def _rotate_pairs(x: Any, cos: Any, sin: Any) -> Any:
    """SAM2's complex rotary encoding written with real cos/sin (ONNX has no complex tensors).

    SAM2 views consecutive pairs (x[2i], x[2i+1]) as one complex number and multiplies it by e^{i*theta}.
    """
    torch = _require_torch()
    pairs = x.reshape(*x.shape[:-1], -1, 2)
    real, imag = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((real * cos - imag * sin, real * sin + imag * cos), dim=-1)
    return rotated.flatten(-2)


def _real_rope_forward(self: Any, q: Any, k: Any, v: Any, num_k_exclude_rope: int = 0) -> Any:
    """Replacement for RoPEAttention.forward: same maths, real-valued, key tables set by the graph wrapper.

    The wrapper stores `_rope_k` as cos/sin tables as long as the keys, with an identity rotation (cos 1, sin 0)
    over the object-pointer tokens SAM2 leaves unrotated; so no data-dependent slicing reaches the graph.

    Cross-attention values are the 64-wide memory features, projected to 256 by v_proj. With one head, and as
    every row of the attention weights sums to 1, softmax(QK')(V Wv' + bv) = (softmax(QK') V) Wv' + bv: attending
    to the narrow features and projecting afterwards (folded into out_proj) does a quarter of the multiply-adds.
    """
    from torch.nn import functional

    q = self._separate_heads(self.q_proj(q), self.num_heads)
    k = self._separate_heads(self.k_proj(k), self.num_heads)
    q_cos, q_sin = self._rope_q
    k_cos, k_sin = self._rope_k if self.rope_k_repeat else self._rope_q
    q = self._recombine_heads(_rotate_pairs(q, q_cos, q_sin))
    k = self._recombine_heads(_rotate_pairs(k, k_cos, k_sin))
    attention = _fused_attention()
    if self.num_heads == 1 and self.v_proj.in_features < self.v_proj.out_features:
        weight = self.out_proj.weight @ self.v_proj.weight
        bias = self.out_proj.weight @ self.v_proj.bias + self.out_proj.bias
        return functional.linear(attention(q, k, v, 1), weight, bias)
    return self.out_proj(attention(q, k, self.v_proj(v), self.num_heads))


class _Graphs:
    """Builds the five torch modules that become the bundle's ONNX graphs, over one SAM2Base."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.image_size = int(model.image_size)
        self.hidden_dim = int(model.hidden_dim)
        self.mem_dim = int(model.mem_dim)
        self.feat_size = self.image_size // int(model.backbone_stride)
        self.low_res_size = 4 * self.feat_size
        self._install_real_rope()
        self._install_cheaper_attention()

    def _install_cheaper_attention(self) -> None:
        """Hiera's attention through the fused operator; the decoder's cross-attentions in their factored forms."""
        from sam2.modeling.backbones.hieradet import MultiScaleAttention

        for module in self.model.image_encoder.modules():
            if isinstance(module, MultiScaleAttention):
                module.forward = types.MethodType(_hiera_attention_forward, module)
        decoder = self.model.sam_mask_decoder.transformer
        for layer in decoder.layers:
            layer.cross_attn_token_to_image.forward = types.MethodType(
                _tokens_to_image_forward, layer.cross_attn_token_to_image
            )
            layer.cross_attn_image_to_token.forward = types.MethodType(
                _image_to_tokens_forward, layer.cross_attn_image_to_token
            )
        decoder.final_attn_token_to_image.forward = types.MethodType(
            _tokens_to_image_forward, decoder.final_attn_token_to_image
        )

    def _install_real_rope(self) -> None:
        from sam2.modeling.sam.transformer import RoPEAttention

        self._rope_modules = [
            m for m in self.model.memory_attention.modules() if isinstance(m, RoPEAttention)
        ]
        for module in self._rope_modules:
            cis = module.compute_cis(end_x=self.feat_size, end_y=self.feat_size)
            module._rope_q = (cis.real.float(), cis.imag.float())
            module._rope_k = module._rope_q
            module.forward = types.MethodType(_real_rope_forward, module)

    def image_encoder(self) -> Any:
        _, nn, _ = _torch_modules()
        model = self.model

        class ImageEncoder(nn.Module):
            def forward(self, image: Any) -> tuple[Any, Any, Any]:
                backbone_out = model.forward_image(image)
                _, feats, _, sizes = model._prepare_backbone_features(backbone_out)
                maps = [
                    f.permute(1, 2, 0).reshape(1, -1, h, w) for f, (h, w) in zip(feats, sizes, strict=True)
                ]
                return maps[2], maps[0], maps[1]

        return ImageEncoder()

    def prompt_decoder(self) -> Any:
        torch, nn, _ = _torch_modules()
        model = self.model
        prompt_encoder = model.sam_prompt_encoder
        image_size = float(self.image_size)

        class PromptDecoder(nn.Module):
            def forward(
                self,
                image_embed: Any,
                high_res_feats_0: Any,
                high_res_feats_1: Any,
                point_coords: Any,
                point_labels: Any,
                mask_input: Any,
                has_mask_input: Any,
                no_memory: Any,
            ) -> tuple[Any, Any, Any, Any]:
                # Frames decoded without memory carry SAM2's learned "no memory" embedding (directly_add_no_mem_embed).
                features = image_embed + no_memory.reshape(1, 1, 1, 1) * model.no_mem_embed.reshape(
                    1, -1, 1, 1
                )
                # SAM2's prompt encoder with boxes=None pads one "not a point" (0, 0, label -1).
                batch = point_coords.shape[0]
                coords = torch.cat([point_coords, torch.zeros_like(point_coords[:, :1, :])], dim=1) + 0.5
                labels = torch.cat([point_labels, -torch.ones_like(point_labels[:, :1])], dim=1).unsqueeze(-1)
                sparse = prompt_encoder.pe_layer._pe_encoding(coords / image_size)
                sparse = sparse * (labels != -1) + prompt_encoder.not_a_point_embed.weight * (labels == -1)
                for index, embedding in enumerate(prompt_encoder.point_embeddings):
                    sparse = sparse + embedding.weight * (labels == index)
                has_mask = has_mask_input.reshape(1, 1, 1, 1)
                dense = has_mask * prompt_encoder.mask_downscaling(mask_input) + (
                    1 - has_mask
                ) * prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
                masks, iou, tokens, object_score = model.sam_mask_decoder.predict_masks(
                    image_embeddings=features,
                    image_pe=prompt_encoder.get_dense_pe(),
                    sparse_prompt_embeddings=sparse,
                    dense_prompt_embeddings=dense.expand(batch, -1, -1, -1),
                    repeat_image=False,
                    high_res_features=[high_res_feats_0, high_res_feats_1],
                )
                obj_ptrs = model.obj_ptr_proj(tokens)
                if model.pred_obj_scores and model.fixed_no_obj_ptr:
                    appearing = (object_score > 0).float().unsqueeze(-1)
                    obj_ptrs = appearing * obj_ptrs + (1 - appearing) * model.no_obj_ptr
                return masks, iou, object_score, obj_ptrs

        return PromptDecoder()

    def memory_encoder(self) -> Any:
        torch, nn, functional = _torch_modules()
        model = self.model
        size = self.image_size

        class MemoryEncoder(nn.Module):
            def forward(
                self, image_embed: Any, mask_logits: Any, object_score_logits: Any, binarize: Any
            ) -> Any:
                high_res = functional.interpolate(
                    mask_logits, size=(size, size), mode="bilinear", align_corners=False
                )
                flag = binarize.reshape(1, 1, 1, 1)
                mask = flag * (high_res > 0).float() + (1 - flag) * torch.sigmoid(high_res)
                mask = mask * model.sigmoid_scale_for_mem_enc + model.sigmoid_bias_for_mem_enc
                out = model.memory_encoder(image_embed, mask, skip_mask_sigmoid=True)
                features = out["vision_features"]
                if model.no_obj_embed_spatial is not None:
                    appearing = (object_score_logits > 0).float().reshape(-1, 1, 1, 1)
                    features = features + (1 - appearing) * model.no_obj_embed_spatial.reshape(1, -1, 1, 1)
                else:  # EdgeTAM has no "no object" embedding; the input stays, unused, for one graph contract
                    features = features + 0.0 * object_score_logits.reshape(-1, 1, 1, 1)
                return features, out["vision_pos_enc"][-1]

        return MemoryEncoder()

    def mask_prompt(self) -> Any:
        _, nn, _ = _torch_modules()
        model = self.model

        class MaskPrompt(nn.Module):
            """The learned parts of SAM2Base._use_mask_as_output, for a frame whose prompt is a painted mask.

            SAM2 turns the mask itself into the frame's output (numpy does that); it only asks the decoder for
            the object pointer, reading the mask through `mask_downsample`; an empty mask's pointer is
            `no_obj_ptr` (SAM2.1's fixed_no_obj_ptr, as in the prompt decoder).
            """

            def forward(self, mask: Any) -> tuple[Any, Any]:
                return model.mask_downsample(mask), model.no_obj_ptr + 0.0 * mask.mean()

        return MaskPrompt()

    def memory_attention(self) -> Any:
        torch, nn, _ = _torch_modules()
        from sam2.modeling.sam2_utils import get_1d_sine_pe

        model = self.model
        rope_modules = self._rope_modules
        hidden, mem_dim, feat = self.hidden_dim, self.mem_dim, self.feat_size
        split = hidden // mem_dim
        with torch.no_grad():
            probe = torch.zeros(1, hidden, feat, feat)
            curr_pos_const = model.image_encoder.neck.position_encoding(probe).flatten(2).permute(2, 0, 1)
            mem_pos_const = self._memory_pos()
        memory_layout, memory_rope = self._memory_layout, self._memory_rope

        class MemoryAttention(nn.Module):
            def forward(
                self,
                image_embed: Any,
                memory_feats: Any,
                memory_tpos: Any,
                obj_ptrs: Any,
                obj_ptr_tpos: Any,
            ) -> Any:
                curr = image_embed.flatten(2).permute(2, 0, 1)
                count = memory_feats.shape[0]
                spatial = memory_layout(memory_feats).reshape(-1, 1, mem_dim)
                tpos = model.maskmem_tpos_enc[memory_tpos].reshape(-1, 1, 1, mem_dim)
                spatial_pos = (mem_pos_const.unsqueeze(0) + tpos).reshape(-1, 1, mem_dim)
                if model.add_tpos_enc_to_obj_ptrs:
                    ptr_pos = model.obj_ptr_tpos_proj(get_1d_sine_pe(obj_ptr_tpos, dim=hidden))
                else:  # EdgeTAM: pointers carry no temporal position (zeros, as SAM2Base adds)
                    ptr_pos = torch.zeros_like(obj_ptr_tpos).unsqueeze(-1).expand(-1, mem_dim)
                ptrs = obj_ptrs.reshape(-1, 1, split, mem_dim).permute(0, 2, 1, 3).reshape(-1, 1, mem_dim)
                ptr_pos = ptr_pos.unsqueeze(1).repeat_interleave(split, dim=0)
                memory = torch.cat([spatial, ptrs], dim=0)
                memory_pos = torch.cat([spatial_pos, ptr_pos], dim=0)
                # Keys: spatial memories rotate like the query grid; object pointers stay unrotated.
                for module in rope_modules:
                    cos, sin = memory_rope(module)
                    pointer_rows = ptrs.shape[0]
                    module._rope_k = (
                        torch.cat([cos.repeat(count, 1), torch.ones_like(cos[:1]).expand(pointer_rows, -1)]),
                        torch.cat([sin.repeat(count, 1), torch.zeros_like(sin[:1]).expand(pointer_rows, -1)]),
                    )
                out = model.memory_attention(
                    curr=[curr],
                    curr_pos=[curr_pos_const],
                    memory=memory,
                    memory_pos=memory_pos,
                    num_obj_ptr_tokens=0,
                )
                return out.permute(1, 2, 0).reshape(1, hidden, feat, feat)

        return MemoryAttention()

    # How one memory is laid out; EdgeTAM's graphs (export_edgetam) override these three.
    def _memory_layout(self, memory_feats: Any) -> Any:
        """(memories, mem_dim, H, W) -> (memories, tokens, mem_dim)."""
        return memory_feats.flatten(2).permute(0, 2, 1)

    def _memory_pos(self) -> Any:
        """The positions of one memory's tokens, (tokens, 1, mem_dim): constant, as they depend on shapes only."""
        torch = _require_torch()
        feat = self.feat_size
        pos = self.model.memory_encoder.position_encoding(torch.zeros(1, self.mem_dim, feat, feat))
        return pos.flatten(2).permute(2, 0, 1)

    def _memory_rope(self, module: Any) -> tuple[Any, Any]:
        """The rotation (cos, sin) of one memory's keys in a RoPE attention: the query grid's."""
        return module._rope_q

    def example_inputs(self, name: str) -> tuple[Any, ...]:
        torch = _require_torch()
        gen = torch.Generator().manual_seed(0)
        h, s, low = self.feat_size, self.image_size, self.low_res_size

        def rand(*shape: int) -> Any:
            return torch.randn(*shape, generator=gen)

        if name == "image_encoder":
            return (rand(1, 3, s, s),)
        if name == "prompt_decoder":
            return (
                rand(1, self.hidden_dim, h, h),
                rand(1, self.hidden_dim // 8, 4 * h, 4 * h),
                rand(1, self.hidden_dim // 4, 2 * h, 2 * h),
                torch.tensor([[[s * 0.3, s * 0.4], [s * 0.6, s * 0.5]]]),
                torch.tensor([[1.0, 0.0]]),
                rand(1, 1, low, low),
                torch.tensor([1.0]),
                torch.tensor([1.0]),
            )
        if name == "memory_encoder":
            return (
                rand(1, self.hidden_dim, h, h),
                rand(1, 1, low, low),
                torch.tensor([[1.0]]),
                torch.tensor([0.0]),
            )
        if name == "memory_attention":
            return (
                rand(1, self.hidden_dim, h, h),
                rand(2, self.mem_dim, h, h),
                torch.tensor([6, 0]),
                rand(3, self.hidden_dim),
                torch.tensor([0.1, 0.2, 0.3]),
            )
        if name == "mask_prompt":
            return ((rand(1, 1, s, s) > 0).float(),)
        raise KeyError(name)


# Dynamic axes per graph; the names themselves are the bundle contract in bundle.GRAPH_NAMES.
DYNAMIC_AXES: dict[str, dict[str, dict[int, str]]] = {
    "prompt_decoder": {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}},
    "memory_attention": {
        "memory_feats": {0: "num_memories"},
        "memory_tpos": {0: "num_memories"},
        "obj_ptrs": {0: "num_obj_ptrs"},
        "obj_ptr_tpos": {0: "num_obj_ptrs"},
    },
}


def _export_graph(graphs: _Graphs, name: str, path: Path, fold: bool = True) -> None:
    """Trace one graph to ONNX; `fold=False` keeps the arithmetic on weights as nodes (graph templates read it)."""
    torch = _require_torch()
    module = getattr(graphs, name)()
    module.sam2 = (
        graphs.model
    )  # registered, so weights export as named initializers (quantisable), not constants
    inputs, outputs = GRAPH_NAMES[name]
    with torch.no_grad(), warnings.catch_warnings():
        # Tracing fixes shapes that are fixed by design (square input); only the declared dynamic axes vary.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            graphs.example_inputs(name),
            str(path),
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes=DYNAMIC_AXES.get(name),
            opset_version=OPSET,
            do_constant_folding=fold,
            dynamo=False,
        )


def stamp_family(path: Path, family: str) -> None:
    """Name the model family in the graph's metadata, so a graph of the other family is refused at load."""
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {FAMILY_KEY: family})
    onnx.save(model, str(path))


def build_model(variant: str, checkpoint: Path | None, seed: int = 0) -> Any:
    """The variant's network built by its family's own code (for EdgeTAM, only where `sam2` is its fork)."""
    if VARIANTS[variant].family == EDGETAM:
        from roto.engine.export_edgetam import build_edgetam_model

        return build_edgetam_model(variant, checkpoint, seed=seed)
    return build_sam2_model(variant, checkpoint, seed=seed)


def graphs_for(variant: str, model: Any) -> _Graphs:
    """The bundle graph wrappers of the variant's family over `model`."""
    if VARIANTS[variant].family == EDGETAM:
        from roto.engine.export_edgetam import EdgeTamGraphs

        return EdgeTamGraphs(model)
    return _Graphs(model)


def family_manifest(graphs: _Graphs) -> dict[str, Any]:
    """What a manifest of the graphs' family holds beyond SAM2.1's, and the model code that made them."""
    from roto.engine.export_edgetam import EdgeTamGraphs

    if isinstance(graphs, EdgeTamGraphs):
        return {
            "perceiver": {"latents_1d": graphs.latents_1d, "latents_2d": graphs.latents_2d},
            "code": f"EdgeTAM's fork ({edgetam_env.FORK_REQUIREMENT})",
        }
    import sam2

    return {"code": getattr(sam2, "__version__", "1.1.0")}


def _export_in_fork(request: ExportRequest, model: Any) -> Path:
    """EdgeTAM variants are converted by a child Python whose `sam2` is EdgeTAM's fork (`edgetam_env`)."""
    if model is not None:
        raise ModelError("an EdgeTAM model object can only be exported where EdgeTAM's code is `sam2`")
    args = ["--variant", request.variant, "--out", str(request.out_dir), "--seed", str(request.seed)]
    if request.checkpoint is not None:
        args += ["--checkpoint", str(request.checkpoint)]
    if request.name:
        args += ["--name", request.name]
    if request.overwrite:
        args.append("--overwrite")
    edgetam_env.run_in_fork("roto.engine.export_edgetam", args)
    return request.out_dir


def _model_settings(model: Any) -> dict[str, Any]:
    """The tracking and post-processing settings the numpy side of the engine must follow, from the model.

    Built as a `Sam2Settings`, so a field the engine reads can never be left out of a manifest.
    """
    decoder = model.sam_mask_decoder
    settings = Sam2Settings(
        image_size=int(model.image_size),
        backbone_stride=int(model.backbone_stride),
        pixel_mean=(0.485, 0.456, 0.406),
        pixel_std=(0.229, 0.224, 0.225),
        hidden_dim=int(model.hidden_dim),
        mem_dim=int(model.mem_dim),
        num_maskmem=int(model.num_maskmem),
        memory_temporal_stride_for_eval=int(model.memory_temporal_stride_for_eval),
        max_cond_frames_in_attn=int(model.max_cond_frames_in_attn),
        max_obj_ptrs_in_encoder=int(model.max_obj_ptrs_in_encoder),
        only_obj_ptrs_in_the_past_for_eval=bool(model.only_obj_ptrs_in_the_past_for_eval),
        use_signed_tpos_enc_to_obj_ptrs=bool(model.use_signed_tpos_enc_to_obj_ptrs),
        multimask_output_in_sam=bool(model.multimask_output_in_sam),
        multimask_output_for_tracking=bool(model.multimask_output_for_tracking),
        multimask_min_pt_num=int(model.multimask_min_pt_num),
        multimask_max_pt_num=int(model.multimask_max_pt_num),
        use_multimask_token_for_obj_ptr=bool(model.use_multimask_token_for_obj_ptr),
        pred_obj_scores=bool(model.pred_obj_scores),
        dynamic_multimask_via_stability=bool(decoder.dynamic_multimask_via_stability),
        dynamic_multimask_stability_delta=float(decoder.dynamic_multimask_stability_delta),
        dynamic_multimask_stability_thresh=float(decoder.dynamic_multimask_stability_thresh),
        mask_threshold=0.0,
    )
    return settings.to_manifest()


def _io_signature(path: Path) -> dict[str, list[dict[str, Any]]]:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph

    def describe(values: Sequence[Any]) -> list[dict[str, Any]]:
        out = []
        for value in values:
            tensor = value.type.tensor_type
            shape = [d.dim_param if d.dim_param else d.dim_value for d in tensor.shape.dim]
            out.append(
                {
                    "name": value.name,
                    "dtype": onnx.TensorProto.DataType.Name(tensor.elem_type).lower(),
                    "shape": shape,
                }
            )
        return out

    initializer_names = {init.name for init in graph.initializer}
    inputs = [v for v in graph.input if v.name not in initializer_names]
    return {"inputs": describe(inputs), "outputs": describe(graph.output)}


def export_bundle(request: ExportRequest, model: Any = None) -> Path:
    """Convert a checkpoint (or random weights, or a given model) into a verified bundle folder; returns it.

    A given `model` is converted as is (tests use it to vary random weights); it is modified by the export.
    """
    spec = VARIANTS.get(request.variant)
    if spec is None:
        raise ModelError(f"unknown SAM2 variant {request.variant!r}; choose one of {', '.join(VARIANTS)}")
    if spec.family == EDGETAM and not edgetam_env.fork_loaded():
        return _export_in_fork(request, model)
    torch = _require_torch()

    if request.checkpoint is None and not spec.reduced:
        log.warning("exporting %s with RANDOM weights: for tests and benchmarks only", request.variant)
    if request.checkpoint is not None and not request.checkpoint.is_file():
        raise ModelError(f"{request.checkpoint}: checkpoint file not found")
    out = request.out_dir
    if out.exists() and any(out.iterdir()) and not request.overwrite:
        raise ModelError(f"{out}: folder exists and is not empty (pass --overwrite to replace it)")

    model = model or build_model(request.variant, request.checkpoint, seed=request.seed)
    graphs = graphs_for(request.variant, model)
    family = family_manifest(graphs)
    out.mkdir(parents=True, exist_ok=True)  # only once the checkpoint has loaded: a bad one leaves no folder
    files: dict[str, dict[str, Any]] = {}
    graph_entries: dict[str, dict[str, Any]] = {}
    for name in GRAPH_NAMES:
        path = out / f"{name}.onnx"
        log.info("exporting %s", path.name)
        _export_graph(graphs, name, path)
        stamp_family(path, spec.family)
        files[path.name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
        graph_entries[name] = {"file": path.name, **_io_signature(path)}

    random_weights = request.checkpoint is None
    name = request.name or (f"{spec.model_name}-random" if random_weights else spec.model_name)
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "name": name,
        "variant": request.variant,
        "family": spec.family,
        "sam2_version": "2.1",
        "precision": "fp32",
        "opset": OPSET,
        "random_weights": random_weights,
        "settings": _model_settings(model),
        "graphs": graph_entries,
        "files": files,
        "source": {
            "checkpoint": request.checkpoint.name if request.checkpoint else None,
            "checkpoint_sha256": sha256_file(request.checkpoint) if request.checkpoint else None,
            "seed": request.seed if random_weights else None,
            "torch": str(torch.__version__),
            "sam2_package": family.pop("code"),
        },
        **family,
    }
    write_manifest(out / MANIFEST_NAME, manifest)
    return out
