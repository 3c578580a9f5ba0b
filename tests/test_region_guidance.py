"""Regional audio guidance: the region sliders weight the audio term of CFG per pixel (region_scales.py)."""

from __future__ import annotations

import dataclasses

import torch

from pipelines.guidance import GuidanceScales
from pipelines.region_scales import audio_term_weight, region_audio_weight
from pipelines.tiny_models import tiny_conditions, tiny_model
from pipelines.sampler import guided_prediction


def _face_masks(size: int = 8) -> torch.Tensor:
    """1 r h w hard masks: head = the whole frame, mouth = rows 5-6 x cols 2-5, eyes = row 2 x cols 1-6."""
    masks = torch.zeros(1, 3, size, size)
    masks[:, 0] = 1
    masks[:, 1, 5:7, 2:6] = 1
    masks[:, 2, 2, 1:7] = 1
    return masks


def test_weight_is_none_at_unit_sliders_and_the_innermost_region_rules_its_pixels():
    masks = _face_masks()
    assert region_audio_weight(masks, torch.ones(1, 3)) is None
    weight = region_audio_weight(masks, torch.tensor([[0.5, 0.0, 2.0]]))
    assert weight.shape == (1, 1, 1, 8, 8)
    assert (weight[0, 0, 0, 5:7, 2:6] == 0).all()  # mouth over head
    assert (weight[0, 0, 0, 2, 1:7] == 2).all()  # eyes over head
    head_only = (masks[0, 1] == 0) & (masks[0, 2] == 0)
    assert (weight[0, 0, 0][head_only] == 0.5).all()
    outside = torch.zeros(1, 3, 8, 8)
    outside[:, 1, 0, 0] = 0.25  # a cell a quarter inside the mouth decodes mouth pixels: it takes the slider in full
    outside[:, 1, 0, 1] = 0.05  # a feathered fringe cell (half of FULL_COVERAGE) blends slider and the outside's 1
    weight = region_audio_weight(outside, torch.tensor([[1.0, 0.0, 1.0]]))[0, 0, 0]
    assert weight[0, 0] == 0.0
    assert abs(float(weight[0, 1]) - 0.5) < 1e-6
    assert weight[0, 2] == 1.0


def test_mouth_at_zero_takes_the_audio_free_prediction_inside_the_mouth_only():
    torch.manual_seed(0)
    model = tiny_model(alpha=0.3)
    cond = tiny_conditions(8)
    cond.masks = _face_masks()
    cond.region_scales = torch.tensor([[1.0, 0.0, 1.0]])
    reference = model.encode_reference(cond.reference_latent)
    sample, t = torch.randn(1, 4, 8, 8, 8), torch.tensor(500)
    guidance = GuidanceScales(1.5, 2.5)
    with torch.no_grad():
        regional = guided_prediction(model, sample, t, reference, cond.audio_blocks, cond, guidance)
        in_model_only = guided_prediction(model, sample, t, reference, cond.audio_blocks, cond, dataclasses.replace(guidance, regional=False))
        audio_free = guided_prediction(model, sample, t, reference, cond.audio_blocks, cond, GuidanceScales(1.5, 0.0, regional=False))
    mouth = cond.masks[0, 1].bool()
    assert torch.allclose(regional[..., mouth], audio_free[..., mouth], atol=1e-5)
    assert not torch.allclose(in_model_only[..., mouth], audio_free[..., mouth], atol=1e-3)  # the leak it removes
    assert torch.allclose(regional[..., ~mouth], in_model_only[..., ~mouth], atol=1e-5)


def test_unit_sliders_keep_the_plain_combination_and_its_branches():
    model = tiny_model()
    cond = tiny_conditions(8)
    reference = model.encode_reference(cond.reference_latent)
    sample = torch.randn(1, 4, 8, 8, 8)
    calls = []
    original = model.predict
    model.predict = lambda *args, **kwargs: calls.append(args[0].shape[0]) or original(*args, **kwargs)
    with torch.no_grad():
        regional = guided_prediction(model, sample, torch.tensor(300), reference, cond.audio_blocks, cond, GuidanceScales(3.5, 3.5))
        plain = guided_prediction(model, sample, torch.tensor(300), reference, cond.audio_blocks, cond, GuidanceScales(3.5, 3.5, regional=False))
    assert torch.equal(regional, plain)
    assert calls == [2, 2]  # two branches (uncond, full) both times: no image branch added at unit sliders


def test_head_audio_guidance_keeps_the_mouth_scale_and_sets_the_rest():
    masks = _face_masks()
    unit = torch.ones(1, 3)
    assert audio_term_weight(masks, unit, GuidanceScales(1.5, 2.5), ("head", "mouth", "eyes")) is None
    assert audio_term_weight(masks, unit, GuidanceScales(1.5, 2.5, audio_head=2.5), ("head", "mouth", "eyes")) is None
    weight = audio_term_weight(masks, unit, GuidanceScales(1.5, 2.5, audio_head=1.0), ("head", "mouth", "eyes"))[0, 0, 0]
    mouth = masks[0, 1].bool()
    assert (weight[mouth] == 1).all() and torch.allclose(weight[~mouth], torch.tensor(0.4))
    hallo = audio_term_weight(masks[:, [0, 2, 1]], unit, GuidanceScales(1.5, 2.5, audio_head=1.0), ("pose", "expression", "lip"))
    assert torch.equal(hallo[0, 0, 0], weight)  # Hallo's lip region is its mouth
    sliders = audio_term_weight(masks, torch.tensor([[0.5, 2.0, 1.0]]), GuidanceScales(1.5, 2.5, regional=True, audio_head=1.0), ("head", "mouth", "eyes"))
    assert (sliders[0, 0, 0][mouth] == 2).all()  # the mouth slider on the full mouth scale
    head_only = (masks[0, 1] == 0) & (masks[0, 2] == 0)
    assert torch.allclose(sliders[0, 0, 0][head_only], torch.tensor(0.2))  # head slider x 1.0 / 2.5
    off = audio_term_weight(masks, torch.tensor([[0.5, 2.0, 1.0]]), GuidanceScales(1.5, 2.5, regional=False, audio_head=1.0), ("head", "mouth", "eyes"))
    assert torch.equal(off, weight[None, None, None])  # sliders only inside the model: the head guidance stays


def test_head_audio_guidance_is_the_mouth_scale_in_the_mouth_and_its_own_scale_elsewhere():
    torch.manual_seed(0)
    model = tiny_model(alpha=0.3)
    cond = tiny_conditions(8)
    cond.masks = _face_masks()
    reference = model.encode_reference(cond.reference_latent)
    sample, t = torch.randn(1, 4, 8, 8, 8), torch.tensor(500)
    with torch.no_grad():
        split = guided_prediction(model, sample, t, reference, cond.audio_blocks, cond, GuidanceScales(1.5, 2.5, audio_head=1.0))
        mouth_scale = guided_prediction(model, sample, t, reference, cond.audio_blocks, cond, GuidanceScales(1.5, 2.5))
        head_scale = guided_prediction(model, sample, t, reference, cond.audio_blocks, cond, GuidanceScales(1.5, 1.0))
    mouth = cond.masks[0, 1].bool()
    assert torch.allclose(split[..., mouth], mouth_scale[..., mouth], atol=1e-5)
    assert torch.allclose(split[..., ~mouth], head_scale[..., ~mouth], atol=1e-5)
    assert not torch.allclose(mouth_scale[..., ~mouth], head_scale[..., ~mouth], atol=1e-3)
