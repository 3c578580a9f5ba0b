"""The stage chain from the inputs to the video latents, called by the GatedUNetSample node, the render command and
the training evaluation (bench.quality): conditions (video_conditions.py) -> sampler (sampler.py).

Letters: b batch, c latent channels, f frames, h w latent height width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .clip_parallel import LocalWindows
from .conditions import AudioEmbeddings, RegionMasks
from .portrait_model import PortraitModel
from .region_scales import RegionScales
from .sampler import LongVideoOptions, SamplerSettings, StepCallback, sample_video
from .speed_options import SpeedOptions
from .video_conditions import video_conditions


@dataclass(frozen=True)
class AnimateSettings:
    """How the video is sampled: steps, scheduler, guidance and seed; the long-video strategy; the speed switches."""

    sampling: SamplerSettings = field(default_factory=SamplerSettings)
    long_video: LongVideoOptions = field(default_factory=LongVideoOptions)
    speed: SpeedOptions = field(default_factory=SpeedOptions)


def animate(
    model: PortraitModel,
    reference_latent: torch.Tensor,
    audio: AudioEmbeddings,
    regions: RegionMasks,
    region_scales: RegionScales,
    settings: AnimateSettings = AnimateSettings(),
    *,
    device: torch.device | None = None,
    callback: StepCallback | None = None,
    windows: LocalWindows | None = None,
) -> torch.Tensor:
    """The portrait animated by the audio. reference_latent: 1 c h w in VAE space (unscaled); regions: masks of the
    same portrait -> 1 c f h w latents at the model's scale (divide by model.config.latent_scale for the VAE).

    device: where the conditions go (default: the model's); windows: how each step's windows are spread over ranks
    or device replicas (sampler.sample_video).
    """
    cond = video_conditions(model.config, reference_latent, audio, regions, region_scales)
    cond = cond.to(device if device is not None else next(model.parameters()).device)
    return sample_video(
        model, cond, settings.sampling, settings.long_video, callback, windows=windows, speed=settings.speed
    )
