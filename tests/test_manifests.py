"""The full SD1.5-sized model matches the released checkpoints' key/shape manifests (built on meta)."""

from __future__ import annotations

import re

import pytest
import torch

from manifest_data import meta_state_dict, read_manifest
from pipelines.config import PortraitModelConfig
from pipelines import model_files
from pipelines.errors import CheckpointError
from pipelines.model_files import load_motion_modules
from pipelines.portrait_model import PortraitModel


@pytest.fixture(scope="module")
def full_model():
    with torch.device("meta"):
        return PortraitModel(PortraitModelConfig.named("sd15"))


def _shapes(module, keep=lambda key: True):
    return {k: tuple(v.shape) for k, v in module.state_dict().items() if keep(k)}


def test_manifest_denoiser_2d_part_equals_sd15_unet(full_model):
    two_d = _shapes(full_model.denoising_unet, lambda k: ".motion_modules." not in k and ".audio_modules." not in k)
    assert two_d == read_manifest("sd15_unet_diffusion_pytorch_model")


def test_manifest_temporal_modules_equal_animatediff_v2(full_model):
    motion = _shapes(full_model.denoising_unet, lambda k: ".motion_modules." in k)
    assert motion == read_manifest("mm_sd_v15_v2_ckpt")


def test_manifest_reference_net_equals_hallo_reference_unet(full_model):
    assert _shapes(full_model.reference_net) == read_manifest("hallo_net__reference_unet")


def test_manifest_motion_file_loads_strictly_into_the_temporal_modules(full_model, monkeypatch):
    state = meta_state_dict(read_manifest("mm_sd_v15_v2_ckpt"))
    missing = dict(state)
    dropped = next(iter(missing))
    del missing[dropped]
    monkeypatch.setattr(model_files, "read_state_dict", lambda _: missing)
    with pytest.raises(CheckpointError, match=re.escape(dropped)):
        load_motion_modules(full_model, "mm_sd_v15_v2.ckpt")
    monkeypatch.setattr(model_files, "read_state_dict", lambda _: state)
    load_motion_modules(full_model, "mm_sd_v15_v2.ckpt")


def test_manifest_full_model_size_is_sd15_plus_modules(full_model):
    denoiser = sum(p.numel() for p in full_model.denoising_unet.parameters())
    sd15 = 859_520_964
    motion = 453_209_280
    assert denoiser > sd15 + motion  # plus the region-gated audio modules
    assert sum(p.numel() for p in full_model.reference_net.parameters()) == 859_508_800
