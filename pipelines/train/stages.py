"""The two training stages of paper 000 §4.1 and the batches each one reads.

- Stage 1, image pretraining: ReferenceNet, the denoiser's 2D part (SD1.5-shaped blocks) and the identity projection
  learn to redraw the reference person in a target frame's pose; one frame per clip, no audio.
- Stage 2, video training: temporal modules, audio projection and the region-gated audio attention learn motion and
  lip sync on whole clips; the stage 1 networks stay frozen unless `train_2d` (small models trained from scratch
  benefit from adapting them too).
Condition dropout for classifier-free guidance: a row loses reference and audio with probability `uncond_prob`.
The "no audio" condition needs no dropout here: clips rendered with all region scales 0 show the face at rest.
Letters: b batch, c channels, f frames, h w latent size, r regions.
"""

from __future__ import annotations

import torch

from ..portrait_model import PortraitModel
from .clip_cache import LatentClips
from .objectives import TrainBatch

STAGES = (1, 2)
#: Name fragments of the denoiser's stage 2 modules (AnimateDiff temporal modules, LinguaLinker audio gates).
VIDEO_MODULES = (".motion_modules.", ".audio_modules.")


def is_stage2_parameter(name: str) -> bool:
    return name.startswith("audio_proj.") or any(part in name for part in VIDEO_MODULES)


def set_trainable(model: PortraitModel, stage: int, train_2d: bool = False) -> list[torch.nn.Parameter]:
    """Freeze everything the stage does not train; returns the trainable parameters."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage}")
    trainable = []
    for name, param in model.named_parameters():
        video = is_stage2_parameter(name)
        param.requires_grad_((stage == 1 and not video) or (stage == 2 and (video or train_2d)))
        if param.requires_grad:
            trainable.append(param)
    return trainable


def focus_clips(scales: torch.Tensor, regions: tuple[int, ...]) -> torch.Tensor:
    """Indices of the clips (scales n r) where one of `regions` moves less than the most-moving other region, e.g. a
    still mouth in a nodding head: the cases a region slider at 0 must reproduce."""
    found = torch.zeros(scales.shape[0], dtype=torch.bool)
    for region in regions:
        others = torch.cat([scales[:, :region], scales[:, region + 1 :]], dim=1)
        found |= scales[:, region] < others.amax(dim=1)
    return torch.nonzero(found).flatten()


def sample_clip_indices(
    scales: torch.Tensor,
    batch: int,
    generator: torch.Generator,
    focus_regions: tuple[int, ...] | None = None,
    focus_share: float = 0.0,
) -> torch.Tensor:
    """Clip indices (batch) for one step, uniform over the clips (scales n r). With focus regions and a share > 0,
    each row comes with probability `focus_share` from `focus_clips` (else uniform over all clips), so a slider case
    that is rare in the data (mouth 0 in a moving head: ~6 % of the demo clips) is seen more often. Share 0 or no
    focus region draws exactly what plain uniform sampling draws from the same generator."""
    uniform = torch.randint(0, scales.shape[0], (batch,), generator=generator)
    if not focus_regions or focus_share <= 0:
        return uniform
    pool = focus_clips(scales, focus_regions)
    if pool.numel() == 0:
        raise ValueError(f"no clip has one of the regions {list(focus_regions)} scaled below another region; drop the focus option")
    focused = pool[torch.randint(0, pool.numel(), (batch,), generator=generator)]
    return torch.where(torch.rand(batch, generator=generator) < focus_share, focused, uniform)


def stage_batch(
    clips: LatentClips,
    indices: torch.Tensor,
    stage: int,
    latent_scale: float,
    generator: torch.Generator,
    uncond_prob: float = 0.1,
) -> TrainBatch:
    """Clips `indices` (b) as a batch: stage 1 takes one random frame of each and no audio, stage 2 whole clips."""
    latents = clips.latents[indices].float() * latent_scale  # b c f h w
    audio = clips.audio[indices].float()
    scales = clips.scales[indices].float()
    b = indices.shape[0]
    if stage == 1:
        frame = torch.randint(0, latents.shape[2], (b,), generator=generator)
        rows = torch.arange(b)
        latents = latents[rows, :, frame][:, :, None]  # b c 1 h w
        audio = audio[rows, frame][:, None]  # b 1 l a
        scales = torch.zeros_like(scales)
    with_reference = torch.rand(b, generator=generator) >= uncond_prob
    scales = scales * with_reference[:, None]
    return TrainBatch(
        latents=latents,
        reference=clips.references[indices].float() * latent_scale,
        audio=audio,
        masks=clips.masks[indices].float(),
        scales=scales,
        with_reference=with_reference,
    )
