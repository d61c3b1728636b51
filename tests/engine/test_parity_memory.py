"""The video graphs against Meta's SAM2Base: memory encoder, memory attention (real vs complex RoPE), pointers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from roto.engine.embeddings import FrameEmbedding
from roto.engine.service import Sam2Graphs
from roto.engine.session import RuntimeOptions, SessionReport, create_session

TOL = 1e-4


@pytest.fixture(scope="module")
def frame_features(reference_pair: tuple[Any, Any], truck_rgb: np.ndarray) -> dict[str, Any]:
    """Meta's backbone features of one frame, and the ONNX encoder's for the same frame."""
    import torch

    from roto.engine.transforms import preprocess_image

    model, bundle = reference_pair
    settings = bundle.settings
    tensor = preprocess_image(truck_rgb, settings.image_size, settings.pixel_mean, settings.pixel_std)
    with torch.no_grad():
        backbone = model.forward_image(torch.from_numpy(tensor))
        _, feats, pos, sizes = model._prepare_backbone_features(backbone)
    encoder = Sam2Graphs(bundle).encoder
    ours = encoder(truck_rgb)
    return {"feats": feats, "pos": pos, "sizes": sizes, "ours": ours}


def _session(bundle: Any, graph: str) -> Any:
    return create_session(bundle.graph_path(graph), RuntimeOptions(), SessionReport("", "auto"))


def test_encoder_features_match_meta(frame_features: dict[str, Any]) -> None:
    feats, sizes, ours = frame_features["feats"], frame_features["sizes"], frame_features["ours"]
    maps = [f.permute(1, 2, 0).reshape(1, -1, h, w).numpy() for f, (h, w) in zip(feats, sizes, strict=True)]
    assert np.abs(ours.image_embed - maps[2]).max() < TOL
    assert np.abs(ours.high_res_feats_0 - maps[0]).max() < TOL
    assert np.abs(ours.high_res_feats_1 - maps[1]).max() < TOL


@pytest.mark.parametrize("object_score", [3.0, -2.0], ids=["object present", "object absent"])
@pytest.mark.parametrize("from_points", [False, True], ids=["sigmoid", "binarized"])
def test_memory_encoder_matches_meta(
    reference_pair: tuple[Any, Any], frame_features: dict[str, Any], object_score: float, from_points: bool
) -> None:
    import torch
    from torch.nn import functional

    model, bundle = reference_pair
    feats, sizes = frame_features["feats"], frame_features["sizes"]
    low = bundle.settings.image_size // bundle.settings.backbone_stride * 4
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((1, 1, low, low)) * 4).astype(np.float32)
    score = np.array([[object_score]], np.float32)
    model.binarize_mask_from_pts_for_mem_enc = True
    with torch.no_grad():
        high = functional.interpolate(
            torch.from_numpy(logits), size=(model.image_size,) * 2, mode="bilinear", align_corners=False
        )
        ref_feats, ref_pos = model._encode_new_memory(
            feats, sizes, high, torch.from_numpy(score), from_points
        )
    out_feats, out_pos = _session(bundle, "memory_encoder").run(
        None,
        {
            "image_embed": frame_features["ours"].image_embed,
            "mask_logits": logits,
            "object_score_logits": score,
            "binarize": np.array([1.0 if from_points else 0.0], np.float32),
        },
    )
    assert np.abs(out_feats - ref_feats.numpy()).max() < TOL
    assert np.abs(out_pos - ref_pos[-1].numpy()).max() < TOL


def test_memory_attention_matches_meta(
    reference_pair: tuple[Any, Any], frame_features: dict[str, Any]
) -> None:
    """Frame 5 tracked with conditioning frame 0 and memories of frames 2, 3, 4, exactly as SAM2Base assembles it.

    The reference runs Meta's complex-valued RoPE; the graph runs Roto's real cos/sin rewrite.
    """
    import torch

    model, bundle = reference_pair
    feats, pos, sizes = frame_features["feats"], frame_features["pos"], frame_features["sizes"]
    side = sizes[-1][0]
    rng = np.random.default_rng(2)

    def record() -> dict[str, Any]:
        return {
            "maskmem_features": torch.from_numpy(
                rng.standard_normal((1, model.mem_dim, side, side)).astype(np.float32)
            ),
            "maskmem_pos_enc": [
                torch.from_numpy(rng.standard_normal((1, model.mem_dim, side, side)).astype(np.float32))
            ],
            "obj_ptr": torch.from_numpy(rng.standard_normal((1, model.hidden_dim)).astype(np.float32)),
        }

    cond, non_cond = {0: record()}, {2: record(), 3: record(), 4: record()}
    # Positional encodings of memories are the memory encoder's constant grid in SAM2; use the real one.
    with torch.no_grad():
        grid = model.memory_encoder.position_encoding(torch.zeros(1, model.mem_dim, side, side))
    for out in (*cond.values(), *non_cond.values()):
        out["maskmem_pos_enc"] = [grid]
    num_frames = 10
    with torch.no_grad():
        reference = model._prepare_memory_conditioned_features(
            frame_idx=5,
            is_init_cond_frame=False,
            current_vision_feats=feats[-1:],
            current_vision_pos_embeds=pos[-1:],
            feat_sizes=sizes[-1:],
            output_dict={"cond_frame_outputs": cond, "non_cond_frame_outputs": non_cond},
            num_frames=num_frames,
        )
    maskmem = model.num_maskmem
    order = [
        (cond[0], maskmem - 0 - 1),
        (non_cond[2], maskmem - 4 - 1),
        (non_cond[3], maskmem - 5 - 1),
        (non_cond[4], 0),
    ]
    t_diff_max = min(num_frames, model.max_obj_ptrs_in_encoder) - 1
    pointers = [(cond[0], 5), (non_cond[4], 1), (non_cond[3], 2), (non_cond[2], 3)]
    feeds = {
        "image_embed": frame_features["ours"].image_embed,
        "memory_feats": np.concatenate([o["maskmem_features"].numpy() for o, _ in order]),
        "memory_tpos": np.array([t for _, t in order], np.int64),
        "obj_ptrs": np.concatenate([o["obj_ptr"].numpy() for o, _ in pointers]),
        "obj_ptr_tpos": np.array([p / t_diff_max for _, p in pointers], np.float32),
    }
    session = _session(bundle, "memory_attention")
    (ours,) = session.run(None, feeds)
    assert ours.shape == tuple(reference.shape)
    assert np.abs(ours - reference.numpy()).max() < TOL
    # The comparison is sensitive: other temporal positions or pointer distances give another result.
    changes = {
        "memory_feats": feeds["memory_feats"] * 0,
        "obj_ptrs": feeds["obj_ptrs"] * 0,
        "memory_tpos": feeds["memory_tpos"][::-1].copy(),
        "obj_ptr_tpos": feeds["obj_ptr_tpos"] * 2,
    }
    for name, changed in changes.items():
        (other,) = session.run(None, {**feeds, name: changed})
        assert np.abs(other - reference.numpy()).max() > 3 * TOL, name


def test_decoder_pointer_and_object_score_match_meta(
    reference_pair: tuple[Any, Any], frame_features: dict[str, Any]
) -> None:
    """On memory-conditioned features, the decoder's object score and chosen pointer match _forward_sam_heads."""
    import torch

    model, bundle = reference_pair
    ours = frame_features["ours"]
    rng = np.random.default_rng(3)
    pix = rng.standard_normal(ours.image_embed.shape).astype(np.float32)
    coords = np.array([[[60.0, 80.0], [150.0, 120.0]]], np.float32)
    labels = np.array([[1.0, 0.0]], np.float32)
    high_res = [torch.from_numpy(ours.high_res_feats_0), torch.from_numpy(ours.high_res_feats_1)]
    with torch.no_grad():
        _, _, ious, low_res, _, obj_ptr, score = model._forward_sam_heads(
            backbone_features=torch.from_numpy(pix),
            point_inputs={
                "point_coords": torch.from_numpy(coords),
                "point_labels": torch.from_numpy(labels).int(),
            },
            high_res_features=high_res,
            multimask_output=True,
        )
    decoder = Sam2Graphs(bundle).decoder
    embedding = FrameEmbedding(pix, ours.high_res_feats_0, ours.high_res_feats_1, ours.frame_hw)
    out = decoder(embedding, coords, labels, features=pix)
    best = 1 + int(np.argmax(out.iou[1:]))
    assert abs(out.object_score - float(score)) < TOL
    assert np.abs(out.iou[1:] - ious.numpy()[0]).max() < TOL
    assert np.abs(out.obj_ptrs[best] - obj_ptr.numpy()[0]).max() < TOL
    if float(score) > 0:
        assert np.abs(out.masks[best] - low_res.numpy()[0, 0]).max() < TOL
