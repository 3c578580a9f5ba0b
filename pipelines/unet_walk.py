"""One walk through SD1.5's 2D UNet blocks, shared by the ReferenceNet and the denoiser.

The denoiser inserts its audio and motion modules through `layer_hook`, called after each
resnet(+spatial transformer) layer, in Hallo's order: resnet -> spatial attention -> hook (001 §3.2).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
from diffusers import UNet2DConditionModel

from .config import UNetConfig
from .deep_cache import ShallowPass

#: hook(block_name, layer_index, h, temb) -> h, with block_name like "down_blocks.0" or "mid_block".
LayerHook = Callable[[str, int, torch.Tensor, torch.Tensor], torch.Tensor]

UNET_PARTS = ("conv_in", "time_proj", "time_embedding", "down_blocks", "mid_block", "up_blocks")
OUTPUT_HEAD = ("conv_norm_out", "conv_act", "conv_out")


def build_sd_parts(config: UNetConfig, with_head: bool) -> dict[str, nn.Module]:
    """SD1.5-named UNet submodules (diffusers' blocks), optionally without the output head."""
    unet = UNet2DConditionModel(**config.diffusers_kwargs())
    names = UNET_PARTS + (OUTPUT_HEAD if with_head else ())
    return {name: getattr(unet, name) for name in names}


def timestep_embedding(unet: nn.Module, timesteps: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """n -> n e (e = 4 x first block width)."""
    return unet.time_embedding(unet.time_proj(timesteps).to(dtype))


def _attend(block: nn.Module, index: int, h: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    attentions = getattr(block, "attentions", None)
    if attentions is None:
        return h
    return attentions[index](h, encoder_hidden_states=context, return_dict=False)[0]


def walk_unet(
    unet: nn.Module,
    h: torch.Tensor,
    temb: torch.Tensor,
    context: torch.Tensor,
    layer_hook: LayerHook,
    input_features: torch.Tensor | None = None,
    shallow: ShallowPass | None = None,
) -> torch.Tensor:
    """conv_in + down/mid/up blocks. h: n c h w, temb: n e, context: n k d -> n c' h w (before the head).

    input_features: n c0 h w added right after conv_in (Hallo's FaceLocator output), or None.
    shallow: DeepCache (deep_cache.py): a full pass records the last up block's input; a reusing pass runs only
    conv_in, the first down block's layers and the last up block on the recorded input.
    """
    h = unet.conv_in(h)
    if input_features is not None:
        h = h + input_features.to(h.dtype)
    skips = [h]
    reuse = shallow is not None and shallow.reuse
    for b, block in enumerate(unet.down_blocks):
        for i, resnet in enumerate(block.resnets):
            h = layer_hook(f"down_blocks.{b}", i, _attend(block, i, resnet(h, temb), context), temb)
            skips.append(h)
        if reuse:
            break
        for down in block.downsamplers or ():
            h = down(h)
            skips.append(h)
    last = len(unet.up_blocks) - 1
    if reuse:
        h = shallow.cached().to(h.dtype)
    else:
        h = _deep_path(unet, h, temb, context, layer_hook, skips, last)
        if shallow is not None:
            shallow.record(h)
    block = unet.up_blocks[last]
    for i, resnet in enumerate(block.resnets):
        h = resnet(torch.cat([h, skips.pop()], dim=1), temb)
        h = layer_hook(f"up_blocks.{last}", i, _attend(block, i, h, context), temb)
    return h


def _deep_path(unet, h, temb, context, layer_hook, skips, last) -> torch.Tensor:
    """mid block and up blocks 0 .. last-1 (with their upsamplers): the deep features, popping their skips."""
    mid = unet.mid_block
    h = mid.resnets[0](h, temb)
    for i, resnet in enumerate(mid.resnets[1:]):
        h = resnet(layer_hook("mid_block", i, _attend(mid, i, h, context), temb), temb)
    for b, block in enumerate(unet.up_blocks[:last]):
        for i, resnet in enumerate(block.resnets):
            h = resnet(torch.cat([h, skips.pop()], dim=1), temb)
            h = layer_hook(f"up_blocks.{b}", i, _attend(block, i, h, context), temb)
        for up in block.upsamplers or ():
            h = up(h, output_size=skips[-1].shape[-2:])
    return h


def no_hook(block_name: str, index: int, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
    return h
