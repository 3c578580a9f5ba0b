"""Gated denoising UNet (000 §3.1 "Denoising Net", Fig. 2; 001 §3.3 for the video backbone).

SD1.5's 2D blocks run per frame on `(b f)`; after each resnet + spatial transformer layer come the
region-gated audio cross-attention (eq. 1-5) and an AnimateDiff temporal module. Keys of the 2D part
equal the SD1.5 UNet's, the temporal modules equal `mm_sd_v15_v2.ckpt`'s, the gates live in
`audio_modules`. The config picks the audio module (the pack's region gate or Hallo's three masked
branches, `hallo_audio_module.py`) and, for Hallo, the FaceLocator features added after `conv_in` and the
motion-frame features that lead the temporal modules' sequences (Hallo's train-mode behaviour).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange

from .conditions import FrameConditions
from .config import PortraitModelConfig
from .deep_cache import ShallowPass
from .hallo_audio_module import HalloAudioModule, hallo_inner_widths
from .motion_module import MotionModule
from .region_gate import RegionGatedAudioAttention
from .unet_walk import build_sd_parts, timestep_embedding, walk_unet


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


def audio_module(config: PortraitModelConfig, channels: int, inner_channels: int) -> nn.Module:
    """The audio module the config names, for one layer of `channels` width."""
    audio, unet = config.audio, config.unet
    if audio.module == "hallo":
        if audio.exclusive_masks:
            raise ValueError("audio.exclusive_masks is an option of the 'region_gate' module; Hallo's branches mask themselves")
        return HalloAudioModule(channels, inner_channels, unet.cross_attention_dim, audio.heads, unet.norm_num_groups, len(config.regions))
    if audio.module == "region_gate":
        return RegionGatedAudioAttention(channels, unet.cross_attention_dim, audio.heads, len(config.regions),
                                         4 * unet.block_out_channels[0], audio.exclusive_masks)
    raise ValueError(f"unknown audio module '{audio.module}'; known: 'region_gate', 'hallo'")


def audio_inner_widths(config: PortraitModelConfig) -> dict[str, list[int]]:
    """Inner width of each layer's audio module by block name, by the config's width rule."""
    if config.audio.width_rule == "block_in":
        return hallo_inner_widths(config.unet.block_out_channels, config.unet.layers_per_block)
    if config.audio.width_rule == "block_out":
        return {name: [channels] * layers for name, layers, channels, _ in _block_layers(config)}
    raise ValueError(f"unknown audio width rule '{config.audio.width_rule}'; known: 'block_out', 'block_in'")


def with_motion_frames(module: nn.Module, h: torch.Tensor, frames: int, motion: torch.Tensor) -> torch.Tensor:
    """Temporal module over [motion frames ; frames], motion frames dropped after. h: (b f) c h w, motion: b m t c."""
    height, width = h.shape[-2:]
    lead = rearrange(motion.to(h.dtype), "b m (h w) c -> b m c h w", h=height, w=width)
    sequence = torch.cat([lead, rearrange(h, "(b f) c h w -> b f c h w", f=frames)], dim=1)
    out = module(rearrange(sequence, "b g c h w -> (b g) c h w"), sequence.shape[1])
    return rearrange(rearrange(out, "(b g) c h w -> b g c h w", g=sequence.shape[1])[:, lead.shape[1]:], "b f c h w -> (b f) c h w")


class GatedDenoisingUNet(nn.Module):
    """b c f h w noisy latents -> b c f h w model output (epsilon or v)."""

    def __init__(self, config: PortraitModelConfig):
        super().__init__()
        self.config = config
        for name, module in build_sd_parts(config.unet, with_head=True).items():
            setattr(self, name, module)
        inner_widths = audio_inner_widths(config)
        for block_name, layers, channels, has_attention in _block_layers(config):
            block = self.get_submodule(block_name)
            block.motion_modules = nn.ModuleList(
                MotionModule(channels, config.motion.heads, config.motion.max_frames, config.unet.norm_num_groups)
                for _ in range(layers)
            )
            if has_attention:
                block.audio_modules = nn.ModuleList(audio_module(config, channels, inner) for inner in inner_widths[block_name])

    def forward(
        self, sample: torch.Tensor, timesteps: torch.Tensor, cond: FrameConditions, shallow: ShallowPass | None = None
    ) -> torch.Tensor:
        """sample: b c f h w, timesteps: b -> b c f h w. shallow: DeepCache pass (deep_cache.py) or None."""
        frames = sample.shape[2]
        h = rearrange(sample, "b c f h w -> (b f) c h w")
        temb = timestep_embedding(self, timesteps.repeat_interleave(frames), h.dtype)
        context = cond.identity_tokens.repeat_interleave(frames, dim=0)
        masks = cond.masks.repeat_interleave(frames, dim=0)
        region_scales = cond.region_scales.repeat_interleave(frames, dim=0)
        skip = set(self.config.motion.skip_blocks)
        motion = cond.motion_features or {}
        face = None if cond.face_features is None else cond.face_features.repeat_interleave(frames, dim=0)

        def layer_hook(block_name: str, index: int, x: torch.Tensor, temb_rows: torch.Tensor) -> torch.Tensor:
            block = self.get_submodule(block_name)
            if hasattr(block, "audio_modules"):
                x = block.audio_modules[index](x, cond.audio_tokens, masks, region_scales, temb_rows)
            if block_name in skip:
                return x
            lead = motion.get(f"{block_name}.attentions.{index}.transformer_blocks.0.attn1")
            if lead is None:
                return block.motion_modules[index](x, frames)
            return with_motion_frames(block.motion_modules[index], x, frames, lead)

        h = walk_unet(self, h, temb, context, layer_hook, face, shallow)
        h = self.conv_out(self.conv_act(self.conv_norm_out(h)))
        return rearrange(h, "(b f) c h w -> b c f h w", f=frames)
