"""Gated denoising UNet (000 §3.1 "Denoising Net", Fig. 2; 001 §3.3 for the video backbone).

SD1.5's 2D blocks run per frame on `(b f)`; after each resnet + spatial transformer layer come the
region-gated audio cross-attention (eq. 1-5) and an AnimateDiff temporal module. Keys of the 2D part
equal the SD1.5 UNet's, the temporal modules equal `mm_sd_v15_v2.ckpt`'s, the gates live in
`audio_modules`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from einops import rearrange

from .config import PortraitModelConfig
from .motion_module import MotionModule
from .region_gate import RegionGatedAudioAttention
from .unet_walk import build_sd_parts, timestep_embedding, walk_unet


@dataclass
class FrameConditions:
    """Per-row conditions of one denoiser call (rows = batch items x frames).

    audio_tokens: (b f) m d; masks: b r h w region masks; scales: b r region scales (0 = no audio);
    identity_tokens: b k d.
    """

    audio_tokens: torch.Tensor
    masks: torch.Tensor
    scales: torch.Tensor
    identity_tokens: torch.Tensor


def _block_layers(config: PortraitModelConfig) -> list[tuple[str, int, int, bool]]:
    """(block name, layers, channels, has spatial attention) in SD1.5's block order."""
    unet = config.unet
    widths = list(unet.block_out_channels)
    n = len(widths)
    layers = [(f"down_blocks.{i}", unet.layers_per_block, widths[i], i < n - 1) for i in range(n)]
    layers.append(("mid_block", 1, widths[-1], True))
    reversed_widths = widths[::-1]
    layers += [(f"up_blocks.{i}", unet.layers_per_block + 1, reversed_widths[i], i > 0) for i in range(n)]
    return layers


class GatedDenoisingUNet(nn.Module):
    """b c f h w noisy latents -> b c f h w model output (epsilon or v)."""

    def __init__(self, config: PortraitModelConfig):
        super().__init__()
        self.config = config
        for name, module in build_sd_parts(config.unet, with_head=True).items():
            setattr(self, name, module)
        temb_channels = 4 * config.unet.block_out_channels[0]
        for block_name, layers, channels, has_attention in _block_layers(config):
            block = self.get_submodule(block_name)
            block.motion_modules = nn.ModuleList(
                MotionModule(channels, config.motion.heads, config.motion.max_frames, config.unet.norm_num_groups)
                for _ in range(layers)
            )
            if has_attention:
                block.audio_modules = nn.ModuleList(
                    RegionGatedAudioAttention(
                        channels, config.unet.cross_attention_dim, config.audio.heads, len(config.regions), temb_channels
                    )
                    for _ in range(layers)
                )

    def forward(self, sample: torch.Tensor, timesteps: torch.Tensor, cond: FrameConditions) -> torch.Tensor:
        """sample: b c f h w, timesteps: b -> b c f h w."""
        frames = sample.shape[2]
        h = rearrange(sample, "b c f h w -> (b f) c h w")
        temb = timestep_embedding(self, timesteps.repeat_interleave(frames), h.dtype)
        context = cond.identity_tokens.repeat_interleave(frames, dim=0)
        masks = cond.masks.repeat_interleave(frames, dim=0)
        scales = cond.scales.repeat_interleave(frames, dim=0)
        skip = set(self.config.motion.skip_blocks)

        def layer_hook(block_name: str, index: int, x: torch.Tensor, temb_rows: torch.Tensor) -> torch.Tensor:
            block = self.get_submodule(block_name)
            if hasattr(block, "audio_modules"):
                x = block.audio_modules[index](x, cond.audio_tokens, masks, scales, temb_rows)
            if block_name not in skip:
                x = block.motion_modules[index](x, frames)
            return x

        h = walk_unet(self, h, temb, context, layer_hook)
        h = self.conv_out(self.conv_act(self.conv_norm_out(h)))
        return rearrange(h, "(b f) c h w -> b c f h w", f=frames)
