"""ReferenceNet (000 §3.1, 001 §3.2): an SD1.5-shaped 2D UNet without output head.

It runs once per video on the reference latent (timestep 0); write processors installed by the
PortraitModel leave the normed input of each spatial self-attention in its ReferenceBank.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .config import UNetConfig
from .unet_walk import build_sd_parts, no_hook, timestep_embedding, walk_unet


class ReferenceNet(nn.Module):
    """SD1.5 UNet minus conv_norm_out/conv_out; its keys match Hallo's `reference_unet.` entries."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        for name, module in build_sd_parts(config, with_head=False).items():
            setattr(self, name, module)

    def forward(self, latent: torch.Tensor, identity_tokens: torch.Tensor) -> None:
        """latent: b c h w, identity_tokens: b k d; results land in the installed processors' bank."""
        timesteps = torch.zeros(latent.shape[0], device=latent.device)
        walk_unet(self, latent, timestep_embedding(self, timesteps, latent.dtype), identity_tokens, no_hook)
