"""AnimateDiff-style temporal modules (000 §3.1 "temporal module [16]", 001 §3.3).

Key names follow the released `mm_sd_v15_v2.ckpt` (`motion_modules.M.temporal_transformer...`), so
AnimateDiff and Hallo weights load strictly. Temporal self-attention runs over the frame axis of each
spatial position; preceding (motion) frames are simply extra leading frames of the sequence.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.models.attention import FeedForward
from einops import rearrange


def sinusoidal_table(length: int, channels: int) -> torch.Tensor:
    """Transformer sine/cosine table, 1 n c (even channels sin, odd channels cos)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, channels, 2, dtype=torch.float32) * (-math.log(10000.0) / channels))
    table = torch.zeros(1, length, channels)
    table[0, :, 0::2] = torch.sin(position * div)
    table[0, :, 1::2] = torch.cos(position * div)
    return table


class SinusoidalPositions(nn.Module):
    """Adds frame-position encodings; `pe` (1 max_frames c) is a persistent buffer as in the release."""

    def __init__(self, channels: int, max_frames: int):
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(max_frames, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: n f c -> n f c."""
        if x.shape[1] > self.pe.shape[1]:
            raise ValueError(
                f"{x.shape[1]} frames exceed the temporal modules' {self.pe.shape[1]} positions; "
                "use a shorter clip (clip length + motion frames)"
            )
        return x + self.pe[:, : x.shape[1]].to(x.dtype)


class TemporalSelfAttention(nn.Module):
    """Self-attention over frames with position encodings on queries, keys and values."""

    def __init__(self, channels: int, heads: int, max_frames: int):
        super().__init__()
        self.heads = heads
        self.pos_encoder = SinusoidalPositions(channels, max_frames)
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: n f c -> n f c (n = batch x spatial positions)."""
        x = self.pos_encoder(x)
        q, k, v = (rearrange(p(x), "n f (a d) -> n a f d", a=self.heads) for p in (self.to_q, self.to_k, self.to_v))
        out = rearrange(F.scaled_dot_product_attention(q, k, v), "n a f d -> n f (a d)")
        return self.to_out[1](self.to_out[0](out))


class TemporalTransformerBlock(nn.Module):
    """Two temporal self-attentions and a GEGLU feed-forward, each pre-normed with a residual."""

    def __init__(self, channels: int, heads: int, max_frames: int):
        super().__init__()
        self.attention_blocks = nn.ModuleList([TemporalSelfAttention(channels, heads, max_frames) for _ in range(2)])
        self.norms = nn.ModuleList([nn.LayerNorm(channels) for _ in range(2)])
        self.ff = FeedForward(channels, activation_fn="geglu")
        self.ff_norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: n f c -> n f c."""
        for attention, norm in zip(self.attention_blocks, self.norms):
            x = attention(norm(x)) + x
        return self.ff(self.ff_norm(x)) + x


class TemporalTransformer(nn.Module):
    """GroupNorm -> Linear in -> temporal block -> Linear out (zero-initialised), residual.

    contiguous_layout (speed_options.apply_layout): copy the (b h w) f c sequence into contiguous memory once,
    so every projection and attention of the block reads it without strided gathers.
    """

    contiguous_layout = False

    def __init__(self, channels: int, heads: int, max_frames: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([TemporalTransformerBlock(channels, heads, max_frames)])
        self.proj_out = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, h: torch.Tensor, frames: int) -> torch.Tensor:
        """h: (b f) c h w -> (b f) c h w."""
        height, width = h.shape[-2:]
        x = rearrange(self.norm(h), "(b f) c h w -> (b h w) f c", f=frames)
        if self.contiguous_layout:
            x = x.contiguous()
        x = self.proj_in(x)
        for block in self.transformer_blocks:
            x = block(x)
        x = rearrange(self.proj_out(x), "(b h w) f c -> (b f) c h w", h=height, w=width)
        return h + x


class MotionModule(nn.Module):
    """One AnimateDiff motion module (the `motion_modules.M` entry of a UNet block)."""

    def __init__(self, channels: int, heads: int, max_frames: int, groups: int):
        super().__init__()
        self.temporal_transformer = TemporalTransformer(channels, heads, max_frames, groups)

    def forward(self, h: torch.Tensor, frames: int) -> torch.Tensor:
        """h: (b f) c h w -> (b f) c h w."""
        return self.temporal_transformer(h, frames)
