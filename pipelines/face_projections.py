"""Hallo's face conditions (paper 001 §3.2 "Face Embedding"; the FaceLocator as released).

FaceEmbeddingProjection turns a face-recognition embedding (ArcFace, 512-d, raw) into the identity tokens the
spatial cross-attention reads (Hallo's ImageProj: `proj`, `norm`). FaceLocator encodes the binary face-box mask
image into features added to the denoiser's input right after `conv_in` (Hallo's FaceLocator: `conv_in`,
`blocks.N`, `conv_out`, the last zero-initialised).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from .config import FaceLocatorConfig, IdentityConfig


class FaceEmbeddingProjection(nn.Module):
    """b e face embeddings -> b k d identity tokens (Linear e -> k d, LayerNorm over d)."""

    def __init__(self, config: IdentityConfig, token_dim: int):
        super().__init__()
        self.tokens = config.tokens
        self.proj = nn.Linear(config.embedding_dim, config.tokens * token_dim)
        self.norm = nn.LayerNorm(token_dim)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        """embedding: b e -> b k d."""
        return self.norm(rearrange(self.proj(embedding), "b (k d) -> b k d", k=self.tokens))


class FaceLocator(nn.Module):
    """b c H W face-box mask image -> b o H/2^s W/2^s features (s = stride-2 convs, 3 for Hallo: latent size)."""

    def __init__(self, config: FaceLocatorConfig, out_channels: int):
        super().__init__()
        widths = list(config.channels)
        self.conv_in = nn.Conv2d(config.input_channels, widths[0], 3, padding=1)
        self.blocks = nn.ModuleList()
        for width, wider in zip(widths, widths[1:]):
            self.blocks.append(nn.Conv2d(width, width, 3, padding=1))
            self.blocks.append(nn.Conv2d(width, wider, 3, padding=1, stride=2))
        self.conv_out = nn.Conv2d(widths[-1], out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image: b c H W (0..1) -> b o h w."""
        x = F.silu(self.conv_in(image))
        for block in self.blocks:
            x = F.silu(block(x))
        return self.conv_out(x)
