"""Hallo's hierarchical audio-visual cross-attention as the pack's audio module (paper 001 §3.2, eq. 11-15).

Per layer: GroupNorm -> 1x1 conv in -> self-attention -> three cross-attentions to the frame's own audio tokens,
one per region (pose / expression / lip): each output is multiplied by its region mask at this resolution, passed
through a zero-initialised 1x1 conv and scaled by its region scale (Hallo's pose / face / lip weights), then summed
into the residual -> GEGLU feed-forward -> 1x1 conv out, residual. As released, each region has its own
cross-attention (eq. 11 has one) and the region weights scale the conv outputs of eq. 15. Key names equal the
`audio_modules` entries of Hallo's `net.pth`.

In the terms of LinguaLinker's region gate (000 eq. 2), Hallo's branches use gate = mask exactly, i.e. eq. 2 with
alpha = 0: `RegionGate_r = RegionMask_r`. Unlike the pack's gate, each region has its own attention and the mask is
applied before the 1x1 conv, so the conv's bias reaches every pixel (scaled by the region scale), as in the release.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from einops import rearrange

from .mask_resize import resize_region_masks

#: Hallo's branch suffixes in its region order (pose = full, expression = face, lip).
BRANCHES = ("full", "face", "lip")


def hallo_inner_widths(block_out_channels: tuple[int, ...], layers_per_block: int) -> dict[str, list[int]]:
    """Inner width of every audio module, by block name, as Hallo builds them.

    Hallo's blocks give each audio module `in_channels` as its inner width (and the block width as its outer
    width). In a down block `in_channels` is the input of the layer (the previous block's width for layer 0, then
    the block's own); in an up block it is the block's `in_channels` argument, the width of the skip connection from
    the next-shallower level, for every layer; the mid block uses its width. For SD1.5 that gives 320 in down 1 `.0`
    and up 2, 640 in down 2 `.0` and up 1, the block width elsewhere.
    """
    widths = list(block_out_channels)
    n = len(widths)
    table = {}
    for i in range(n):
        first = widths[i - 1] if i > 0 else widths[0]
        table[f"down_blocks.{i}"] = [first] + [widths[i]] * (layers_per_block - 1)
    table["mid_block"] = [widths[-1]]
    reversed_widths = widths[::-1]
    for i in range(n):
        table[f"up_blocks.{i}"] = [reversed_widths[min(i + 1, n - 1)]] * (layers_per_block + 1)
    return table


class HalloAudioTransformerBlock(nn.Module):
    """Self-attention, three region-masked audio cross-attentions, feed-forward, on n t c tokens."""

    def __init__(self, channels: int, audio_dim: int, heads: int):
        super().__init__()
        dim_head = channels // heads
        self.attn1 = Attention(channels, heads=heads, dim_head=dim_head)
        self.norm1 = nn.LayerNorm(channels)
        for i in range(len(BRANCHES)):
            setattr(self, f"attn2_{i}", Attention(channels, cross_attention_dim=audio_dim, heads=heads, dim_head=dim_head))
        self.norm2 = nn.LayerNorm(channels)
        for name in BRANCHES:
            conv = nn.Conv2d(channels, channels, kernel_size=1)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
            setattr(self, f"zero_conv_{name}", conv)
        self.ff = FeedForward(channels, activation_fn="geglu")
        self.norm3 = nn.LayerNorm(channels)

    def region_branch(self, index: int, x: torch.Tensor, audio_tokens: torch.Tensor, mask: torch.Tensor, height: int) -> torch.Tensor:
        """Masked cross-attention through its zero conv. x: n t c, audio_tokens: n m d, mask: n t -> n t c."""
        attended = getattr(self, f"attn2_{index}")(x, encoder_hidden_states=audio_tokens) * mask[..., None]
        conv = getattr(self, f"zero_conv_{BRANCHES[index]}")
        image = rearrange(attended, "n (h w) c -> n c h w", h=height)
        return rearrange(conv(image), "n c h w -> n (h w) c")

    def forward(self, x: torch.Tensor, audio_tokens: torch.Tensor, masks: torch.Tensor, region_scales: torch.Tensor, height: int) -> torch.Tensor:
        """x: n t c, audio_tokens: n m d, masks: n t r (at this resolution), region_scales: n r -> n t c."""
        x = self.attn1(self.norm1(x)) + x
        normed = self.norm2(x)
        for index in range(len(BRANCHES)):
            branch = self.region_branch(index, normed, audio_tokens, masks[..., index], height)
            x = x + region_scales[:, index, None, None] * branch
        return self.ff(self.norm3(x)) + x


class HalloAudioModule(nn.Module):
    """GroupNorm -> 1x1 conv to the inner width -> HalloAudioTransformerBlock -> 1x1 conv back, residual."""

    def __init__(self, channels: int, inner_channels: int, audio_dim: int, heads: int, groups: int, regions: int = 3):
        super().__init__()
        if regions != len(BRANCHES):
            raise ValueError(f"Hallo's audio module has {len(BRANCHES)} region branches {BRANCHES}, the config has {regions}")
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, inner_channels, kernel_size=1)
        self.transformer_blocks = nn.ModuleList([HalloAudioTransformerBlock(inner_channels, audio_dim, heads)])
        self.proj_out = nn.Conv2d(inner_channels, channels, kernel_size=1)

    def forward(
        self,
        h: torch.Tensor,
        audio_tokens: torch.Tensor,
        masks: torch.Tensor,
        region_scales: torch.Tensor,
        temb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """h: n c h w, audio_tokens: n m d, masks: n r H W (pose, expression, lip), region_scales: n r -> n c h w.

        Same call as RegionGatedAudioAttention; the timestep embedding is not used by Hallo's module.
        """
        height, width = h.shape[-2:]
        x = rearrange(self.proj_in(self.norm(h)), "n c h w -> n (h w) c")
        block_masks = rearrange(resize_region_masks(masks.to(h.dtype), (height, width)), "n r h w -> n (h w) r")
        for block in self.transformer_blocks:
            x = block(x, audio_tokens, block_masks, region_scales.to(h.dtype), height)
        return h + self.proj_out(rearrange(x, "n (h w) c -> n c h w", h=height, w=width))
