"""Region-specific gated audio cross-attention of LinguaLinker (paper 000, §3.1, eq. 1-5).

    h_ref        = CrossAttn(h, ref_features)                          (4)  -- the spatial transformer
    h_audio      = CrossAttn(h_ref, audio_emb_block)                   (5)
    gate_states  = AdaLN(Linear(h_audio), timestep)                    (3)
    RegionGate_r = RegionMask_r + tanh(Linear_r(gate_states)) * SiLU(alpha_r)   (2)
    out          = h_ref + sum_r RegionGate_r * region_scale_r * h_audio  (1)

for r in the model's regions (head, mouth, eyes). Only alpha starts at zero, so a fresh gate equals
the mask exactly and still receives gradients (through alpha first, then through the Linear).
With `exclusive_masks` the first region's mask loses the area of the others (head -> head minus mouth and eyes)
before eq. 2, so at mouth scale 0 no gate's mask term brings audio into the mouth.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention
from einops import rearrange

from .mask_resize import resize_region_masks


def exclusive_region_masks(masks: torch.Tensor) -> torch.Tensor:
    """The first region minus the union of the others: masks ... r (0..1) -> ... r, the others unchanged."""
    if masks.shape[-1] < 2:
        return masks
    inner = masks[..., 1:].amax(dim=-1, keepdim=True)
    return torch.cat([masks[..., :1] * (1 - inner), masks[..., 1:]], dim=-1)


class AdaLayerNorm(nn.Module):
    """LayerNorm whose scale and shift come from the timestep embedding (DiT's AdaLN, 000 ref [11])."""

    def __init__(self, channels: int, temb_channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels, elementwise_affine=False)
        self.modulation = nn.Linear(temb_channels, 2 * channels)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """x: n t c, temb: n e -> n t c."""
        scale, shift = self.modulation(F.silu(temb))[:, None].chunk(2, dim=-1)
        return self.norm(x) * (1 + scale) + shift


class RegionGatedAudioAttention(nn.Module):
    """Audio cross-attention added to h_ref through one learned gate per face region (eq. 1-5)."""

    def __init__(self, channels: int, audio_dim: int, heads: int, regions: int, temb_channels: int, exclusive_masks: bool = False):
        super().__init__()
        self.exclusive_masks = exclusive_masks
        self.norm = nn.LayerNorm(channels)
        self.attention = Attention(channels, cross_attention_dim=audio_dim, heads=heads, dim_head=channels // heads)
        self.gate_proj = nn.Linear(channels, channels)
        self.gate_norm = AdaLayerNorm(channels, temb_channels)
        self.gate_offset = nn.Linear(channels, regions)  # the per-region Linear_r of eq. 2, stacked
        self.alpha = nn.Parameter(torch.zeros(regions))

    def region_gates(self, h_audio: torch.Tensor, masks: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """Eq. 2-3. h_audio: n t c, masks: n t r (0..1), temb: n e -> gates n t r."""
        gate_states = self.gate_norm(self.gate_proj(h_audio), temb)
        return masks + torch.tanh(self.gate_offset(gate_states)) * F.silu(self.alpha)

    def forward(
        self,
        h: torch.Tensor,
        audio_tokens: torch.Tensor,
        masks: torch.Tensor,
        region_scales: torch.Tensor,
        temb: torch.Tensor,
    ) -> torch.Tensor:
        """Eq. 1. h: n c h w (= h_ref), audio_tokens: n m d, masks: n r H W, region_scales: n r, temb: n e -> n c h w."""
        height, width = h.shape[-2:]
        h_ref = rearrange(h, "n c h w -> n (h w) c")
        h_audio = self.attention(self.norm(h_ref), encoder_hidden_states=audio_tokens)
        block_masks = rearrange(resize_region_masks(masks.to(h.dtype), (height, width)), "n r h w -> n (h w) r")
        if self.exclusive_masks:
            block_masks = exclusive_region_masks(block_masks)
        gates = self.region_gates(h_audio, block_masks, temb) * region_scales[:, None, :].to(h.dtype)
        out = h_ref + gates.sum(dim=-1, keepdim=True) * h_audio
        return rearrange(out, "n (h w) c -> n c h w", h=height, w=width)
