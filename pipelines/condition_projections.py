"""Condition projections: audio context blocks -> per-frame tokens, reference latent -> identity tokens.

AudioProjection is the MLP LinguaLinker inserts between the audio encoder and the denoiser (000 §3.1),
shaped like Hallo's AudioProj (001 §3.2: flatten l x c -> hidden -> hidden -> m tokens, LayerNorm).
IdentityProjection pools the reference latent into the few tokens the spatial cross-attention reads.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange

from .config import AudioConfig, IdentityConfig


class AudioProjection(nn.Module):
    """b f l c audio context blocks -> (b f) m d audio tokens, one token set per video frame."""

    def __init__(self, config: AudioConfig, token_dim: int):
        super().__init__()
        self.tokens, self.token_dim = config.tokens, token_dim
        self.proj1 = nn.Linear(config.context_frames * config.feature_dim, config.hidden_dim)
        self.proj2 = nn.Linear(config.hidden_dim, config.hidden_dim)
        self.proj3 = nn.Linear(config.hidden_dim, config.tokens * token_dim)
        self.norm = nn.LayerNorm(token_dim)
        self.act = nn.ReLU()

    def forward(self, blocks: torch.Tensor) -> torch.Tensor:
        """blocks: b f l c -> (b f) m d."""
        x = rearrange(blocks, "b f l c -> (b f) (l c)")
        x = self.proj3(self.act(self.proj2(self.act(self.proj1(x)))))
        return self.norm(rearrange(x, "n (m d) -> n m d", m=self.tokens))


class IdentityProjection(nn.Module):
    """b c h w reference latent -> b k d identity tokens (k = config.tokens)."""

    def __init__(self, config: IdentityConfig, latent_channels: int, token_dim: int):
        super().__init__()
        self.tokens, self.token_dim = config.tokens, token_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(latent_channels, config.hidden_dim, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(config.hidden_dim, config.hidden_dim, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.proj = nn.Linear(config.hidden_dim, config.tokens * token_dim)
        self.norm = nn.LayerNorm(token_dim)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """latent: b c h w -> b k d."""
        x = self.proj(self.encoder(latent))
        return self.norm(rearrange(x, "b (k d) -> b k d", k=self.tokens))
