"""Tiny Hallo-shaped models and conditions shared by the Hallo tests."""

from __future__ import annotations

import torch

from pipelines.config import PortraitModelConfig
from pipelines.portrait_model import PortraitModel
from pipelines.conditions import VideoConditions

from pipelines.tiny_models import tiny_conditions

TINY_HALLO = PortraitModelConfig.named("tiny_hallo")
#: Parameters the release zero-initialises (audio zero convs, FaceLocator output, temporal proj_out).
ZERO_INITIALISED = ("zero_conv_", "face_locator.conv_out", "motion_modules")


def tiny_hallo_model(seed: int = 0, config: PortraitModelConfig = TINY_HALLO) -> PortraitModel:
    """The tiny Hallo config with random weights, zero-initialised convs woken so every path matters."""
    torch.manual_seed(seed)
    model = PortraitModel(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if any(part in name for part in ZERO_INITIALISED) and ("proj_out" in name or "motion_modules" not in name):
                param.normal_(0, 0.2)
    return model


def tiny_hallo_conditions(frames: int, size: int = 8, seed: int = 1) -> VideoConditions:
    """Random latent, audio blocks, soft masks, face embedding and a face-box image for one video."""
    return tiny_conditions(frames, size, seed, config=TINY_HALLO)
