"""Random-weight models and random conditions at any config (the tiny one by default), shared by the tests and the
benchmarks: the same PortraitModel class as the user path, built from a small config."""

from __future__ import annotations

import torch

from pipelines.conditions import VideoConditions
from pipelines.config import PortraitModelConfig
from pipelines.portrait_model import PortraitModel

TINY = PortraitModelConfig.named("tiny")


def tiny_model(seed: int = 0, alpha: float | None = None, temporal: bool = True) -> PortraitModel:
    """The tiny config with random weights; optionally set every gate alpha and wake the temporal modules."""
    torch.manual_seed(seed)
    model = PortraitModel(TINY).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if alpha is not None and name.endswith(".alpha"):
                param.fill_(alpha)
            if temporal and ".motion_modules." in name and "proj_out" in name:
                param.normal_(0, 0.2)  # zero-initialised in the release; random here so frames interact
    return model


def tiny_conditions(frames: int, size: int = 8, seed: int = 1, config: PortraitModelConfig = TINY) -> VideoConditions:
    """Random reference latent, audio blocks and soft masks for one video of `frames` frames (size: latent side;
    config: the model whose audio shape and regions they take, bench/step_time.py uses full-size ones too), and the
    face embedding and a face-box image where the config reads them (Hallo)."""
    g = torch.Generator().manual_seed(seed)
    audio = config.audio
    cond = VideoConditions(
        reference_latent=torch.randn(1, 4, size, size, generator=g),
        audio_blocks=torch.randn(1, frames, audio.context_frames, audio.feature_dim, generator=g),
        silence_block=torch.zeros(audio.context_frames, audio.feature_dim),
        masks=torch.rand(1, len(config.regions), size, size, generator=g),
        region_scales=torch.ones(1, len(config.regions)),
    )
    if config.identity.source == "face_embedding":
        cond.face_embedding = torch.randn(1, config.identity.embedding_dim, generator=g) * 20
    if config.face_locator.enabled:
        cond.face_image = torch.zeros(1, config.face_locator.input_channels, 8 * size, 8 * size)
        cond.face_image[:, :, 2 * size : 6 * size, 2 * size : 6 * size] = 1.0
    return cond
