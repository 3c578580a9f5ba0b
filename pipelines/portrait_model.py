"""The region-gated portrait model: ReferenceNet + gated denoising UNet + condition projections.

`encode_reference` runs once per video (000 §3.1: reference features are reused for every step and
clip); `predict` runs one denoiser call for a batch of clips, CFG branches included.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .conditioning import AudioProjection, IdentityProjection
from .config import PortraitModelConfig
from .denoising_unet import FrameConditions, GatedDenoisingUNet
from .reference_attention import ReferenceBank, install_reference_processors
from .reference_net import ReferenceNet


@dataclass
class ReferenceFeatures:
    """What the ReferenceNet computed for b videos: per-layer tokens (b t c) and identity tokens (b k d)."""

    layers: dict[str, torch.Tensor]
    identity_tokens: torch.Tensor


class PortraitModel(nn.Module):
    """All trainable networks of the pack-native model, built from one PortraitModelConfig."""

    def __init__(self, config: PortraitModelConfig):
        super().__init__()
        self.config = config
        token_dim = config.unet.cross_attention_dim
        self.reference_net = ReferenceNet(config.unet)
        self.denoising_unet = GatedDenoisingUNet(config)
        self.audio_proj = AudioProjection(config.audio, token_dim)
        self.identity_proj = IdentityProjection(config.identity, config.unet.in_channels, token_dim)
        self.bank = ReferenceBank()
        install_reference_processors(self.reference_net, self.bank, write=True)
        install_reference_processors(self.denoising_unet, self.bank, write=False)

    def encode_reference(self, latent: torch.Tensor) -> ReferenceFeatures:
        """latent: b c h w (scaled reference latent) -> ReferenceFeatures for b videos."""
        identity = self.identity_proj(latent)
        self.bank.features = {}
        self.reference_net(latent, identity)
        layers, self.bank.features = self.bank.features, {}
        return ReferenceFeatures(layers, identity)

    def predict(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        reference: ReferenceFeatures,
        audio_blocks: torch.Tensor,
        masks: torch.Tensor,
        scales: torch.Tensor,
        videos: torch.Tensor,
        with_reference: torch.Tensor,
    ) -> torch.Tensor:
        """One denoiser call.

        sample: b c f h w; timesteps: b; audio_blocks: b f l c; masks: b r h w; scales: b r (rows
        without audio have scale 0); videos: b long, which reference video each item uses;
        with_reference: b bool (False = unconditional branch: no reference attention, zero identity).
        -> b c f h w.
        """
        identity = reference.identity_tokens[videos] * with_reference[:, None, None].to(sample.dtype)
        cond = FrameConditions(self.audio_proj(audio_blocks.to(sample.dtype)), masks, scales, identity)
        self.bank.features = reference.layers
        self.bank.bind(videos, with_reference, sample.shape[2])
        try:
            return self.denoising_unet(sample, timesteps, cond)
        finally:
            self.bank.features = {}
