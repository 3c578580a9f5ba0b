"""The stage chain from the inputs to the video latents, called by the GatedUNetSample node, the render command and
the training evaluation (bench.quality): node-level inputs (reference latent, audio embeddings, region masks, region
scales) -> the sampler's VideoConditions (`video_conditions`) -> sampler.sample_video.

Letters: b batch, c latent channels, f frames, h w latent height width.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from .clip_parallel import LocalWindows
from .conditions import AudioEmbeddings, RegionMasks, VideoConditions
from .config import PortraitModelConfig
from .errors import PortraitInputError
from .interrupts import InterruptCheck
from .mask_resize import resize_region_masks
from .portrait_model import PortraitModel
from .region_scales import RegionScales
from .sampler import LongVideoOptions, SamplerSettings, StepCallback, sample_video
from .speed_options import SPEED_PRESETS, SpeedOptions


@dataclass(frozen=True)
class AnimateSettings:
    """How the video is sampled: steps, scheduler, guidance and seed; the long-video strategy; the speed switches."""

    sampling: SamplerSettings = field(default_factory=SamplerSettings)
    long_video: LongVideoOptions = field(default_factory=LongVideoOptions)
    speed: SpeedOptions = field(default_factory=SpeedOptions)


def preset_settings(
    preset: str, sampling: SamplerSettings, long_video: LongVideoOptions, compile: bool = False
) -> AnimateSettings:
    """The settings asked for with a speed preset of SPEED_PRESETS applied: the preset's share of the steps, its
    scheduler and its speed options ('lossless' changes nothing); `compile` as asked."""
    chosen = SPEED_PRESETS[preset]
    return AnimateSettings(chosen.settings(sampling), long_video, replace(chosen.options, compile=compile))


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
    interrupt: InterruptCheck | None = None,
) -> torch.Tensor:
    """The portrait animated by the audio. reference_latent: 1 c h w in VAE space (unscaled); regions: masks of the
    same portrait -> 1 c f h w latents at the model's scale (divide by model.config.latent_scale for the VAE).

    device: where the conditions go (default: the model's); callback, windows (how each step's windows are spread
    over ranks or device replicas) and interrupt: as sampler.sample_video's.
    """
    cond = video_conditions(model.config, reference_latent, audio, regions, region_scales)
    cond = cond.to(device if device is not None else next(model.parameters()).device)
    return sample_video(
        model, cond, settings.sampling, settings.long_video, callback, windows=windows, speed=settings.speed,
        interrupt=interrupt,
    )


def ordered_masks(config: PortraitModelConfig, regions: RegionMasks, latent_size: tuple[int, int]) -> torch.Tensor:
    """The region masks in the model's region order at latent resolution: -> 1 r h w."""
    missing = [r for r in config.regions if r not in regions.names]
    if missing:
        raise PortraitInputError(
            "regions", f"the masks hold {regions.names} but the model gates {config.regions}",
            "set RegionMaskFromLandmarks' layout to the one this model uses",
        )
    masks = torch.stack([regions.channel(r) for r in config.regions], dim=1)[:1].float()
    height, width = masks.shape[-2:]
    if abs(height / width - latent_size[0] / latent_size[1]) > 0.02:
        raise PortraitInputError(
            "regions", f"masks of {width}x{height} px do not match the reference image's aspect ratio",
            "build the region masks from the same portrait image that is used as reference",
        )
    return resize_region_masks(masks, latent_size)


def face_conditions(config: PortraitModelConfig, regions: RegionMasks, latent_size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Hallo's face embedding (1 e) and face-box image (1 c H W, sized so the FaceLocator lands on the latent grid)."""
    needs_embedding = config.identity.source == "face_embedding"
    needs_image = config.face_locator.enabled
    if not (needs_embedding or needs_image):
        return {}
    if (needs_embedding and regions.face_embedding is None) or (needs_image and regions.face_image is None):
        raise PortraitInputError(
            "regions", "this Hallo model needs the face box and face embedding of the portrait",
            "pass the regions through HalloFaceConditions (with the same portrait and its landmarks)",
        )
    found = {}
    if needs_embedding:
        found["face_embedding"] = regions.face_embedding[:1].float()
    if needs_image:
        factor = 2 ** (len(config.face_locator.channels) - 1)
        size = (latent_size[0] * factor, latent_size[1] * factor)
        found["face_image"] = resize_region_masks(regions.face_image[:1].float(), size)
    return found


def video_conditions(
    config: PortraitModelConfig,
    reference_latent: torch.Tensor,
    audio: AudioEmbeddings,
    regions: RegionMasks,
    region_scales: RegionScales,
) -> VideoConditions:
    """reference_latent: 1 c h w in VAE space (unscaled) -> VideoConditions for one video.

    The latent is made contiguous: VAEs hand back channels-last latents (diffusers) or contiguous ones (ComfyUI), and
    the convolutions round differently on the two layouts, so the video would depend on which VAE encoded it.
    """
    blocks = audio.blocks[:1].float()
    silence = audio.silence if audio.silence is not None else torch.zeros(blocks.shape[2:])
    return VideoConditions(
        reference_latent=reference_latent[:1].float().contiguous() * config.latent_scale,
        audio_blocks=blocks,
        silence_block=silence.float(),
        masks=ordered_masks(config, regions, tuple(reference_latent.shape[-2:])),
        region_scales=region_scales.for_regions(config.regions),
        **face_conditions(config, regions, tuple(reference_latent.shape[-2:])),
    )
