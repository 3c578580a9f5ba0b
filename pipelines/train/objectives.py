"""The training objective (paper 000 §3.2 "Loss Design"): the diffusion loss over the whole latent plus extra
region losses on the mouth and the eyes, weighted so that the regions get attention without drowning the rest.

    L = mean ||v_pred - v||^2 + sum_r w_r * mean_{M_r} ||v_pred - v||^2     (r in mouth, eyes; M_r the region mask)

Targets follow the model's scheduler config: v-prediction on a zero-terminal-SNR linear schedule (Hallo's setup).
Letters: b batch, c channels, f frames, h w latent size, l audio context, a audio width, r regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..portrait_model import PortraitModel


@dataclass
class TrainBatch:
    """latents b c f h w and reference b c h w (already times the latent scale), audio b f l a, masks b r h w,
    scales b r (0 = no audio in that region), with_reference b bool (False = the unconditional CFG row)."""

    latents: torch.Tensor
    reference: torch.Tensor
    audio: torch.Tensor
    masks: torch.Tensor
    scales: torch.Tensor
    with_reference: torch.Tensor

    def to(self, device) -> "TrainBatch":
        return TrainBatch(**{name: value.to(device) for name, value in vars(self).items()})


def diffusion_target(scheduler, latents: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
    """What the model predicts: v (v_prediction) or the noise (epsilon)."""
    if scheduler.config.prediction_type == "v_prediction":
        return scheduler.get_velocity(latents, noise, timesteps)
    return noise


def region_error(error: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error inside a soft mask: error b c f h w, mask b h w -> scalar."""
    weight = mask[:, None, None].to(error)  # b 1 1 h w
    return (error * weight).sum() / (weight.sum() * error.shape[1] * error.shape[2]).clamp(min=1e-6)


def diffusion_loss(
    model: PortraitModel,
    batch: TrainBatch,
    scheduler,
    generator: torch.Generator,
    region_weights: dict[str, float],
) -> dict[str, torch.Tensor]:
    """One noised batch through the model: -> {'loss', 'base', <region>: ...} (parts detached)."""
    latents = batch.latents
    device, b = latents.device, latents.shape[0]
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (b,), generator=generator).to(device)
    noise = torch.randn(latents.shape, generator=generator).to(device, latents.dtype)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    target = diffusion_target(scheduler, latents, noise, timesteps)
    reference = model.encode_reference(batch.reference)
    videos = torch.arange(b, device=device)
    prediction = model.predict(noisy, timesteps, reference, batch.audio, batch.masks, batch.scales, videos, batch.with_reference)
    error = (prediction.float() - target.float()).square()
    loss = base = error.mean()
    parts = {"base": base.detach()}
    for name, weight in region_weights.items():
        region = region_error(error, batch.masks[:, model.config.regions.index(name)])
        loss = loss + weight * region
        parts[name] = region.detach()
    return {"loss": loss, **parts}
