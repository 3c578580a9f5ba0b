"""The exclusive-mask option of the region gates: at mouth scale 0 no gate brings audio into the mouth."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pipelines.tiny_models import TINY
from pipelines.portrait_model import PortraitModel
from pipelines.region_gate import RegionGatedAudioAttention, exclusive_region_masks


def _hard_masks(size: int = 8) -> torch.Tensor:
    """1 3 h w hard masks: head over everything, a mouth box and an eyes box inside it (disjoint)."""
    masks = torch.zeros(1, 3, size, size)
    masks[:, 0] = 1
    masks[:, 1, 5:7, 2:6] = 1
    masks[:, 2, 1:3, 1:7] = 1
    return masks


def _gate_output(exclusive: bool, scales: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """(input h, output) of a fresh gate block (alpha 0: gates = masks) on random features and audio."""
    torch.manual_seed(0)
    block = RegionGatedAudioAttention(16, audio_dim=8, heads=2, regions=3, temb_channels=12, exclusive_masks=exclusive)
    h = torch.randn(1, 16, 8, 8)
    with torch.no_grad():
        out = block(h, torch.randn(1, 4, 8), _hard_masks(), torch.tensor([scales]), torch.randn(1, 12))
    return h, out


def test_exclusive_masks_cut_the_inner_regions_out_of_the_head():
    masks = torch.tensor([[0.9, 1.0, 0.0], [1.0, 0.0, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.4]])  # t r
    out = exclusive_region_masks(masks)
    torch.testing.assert_close(out[:, 0], torch.tensor([0.0, 0.5, 1.0, 0.2 * 0.6]))
    torch.testing.assert_close(out[:, 1:], masks[:, 1:])


@pytest.mark.parametrize("head, eyes", [(1.0, 1.0), (2.0, 0.5)])
def test_mouth_scale_0_leaves_the_mouth_at_the_reference_with_exclusive_masks_only(head, eyes):
    mouth = _hard_masks()[0, 1].bool()
    h, out = _gate_output(True, [head, 0.0, eyes])
    torch.testing.assert_close(out[0][:, mouth], h[0][:, mouth], rtol=0, atol=1e-6)
    assert (out[0][:, ~mouth] - h[0][:, ~mouth]).abs().amax() > 1e-2  # audio still reaches head and eyes
    h, overlapping = _gate_output(False, [head, 0.0, eyes])
    assert (overlapping[0][:, mouth] - h[0][:, mouth]).abs().amax() > 1e-2  # without it the head gate does


def test_the_config_option_reaches_every_gate_and_is_off_by_default():
    assert not TINY.audio.exclusive_masks
    config = dataclasses.replace(TINY, audio=dataclasses.replace(TINY.audio, exclusive_masks=True))
    gates = [m for m in PortraitModel(config).modules() if isinstance(m, RegionGatedAudioAttention)]
    assert gates and all(g.exclusive_masks for g in gates)
    assert not any(m.exclusive_masks for m in PortraitModel(TINY).modules() if isinstance(m, RegionGatedAudioAttention))


def test_hallo_audio_modules_refuse_the_option():
    from pipelines.config import PortraitModelConfig

    hallo = PortraitModelConfig.named("tiny_hallo")
    hallo.audio.exclusive_masks = True
    with pytest.raises(ValueError, match="exclusive_masks"):
        PortraitModel(hallo)
