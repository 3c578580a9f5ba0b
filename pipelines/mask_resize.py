"""One function that brings region masks to any latent / UNet block resolution.

Shared by the sampler, the gated UNet and training so every block sees the same masks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_region_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize soft masks area-preservingly.

    masks: b r h w (0..1) -> b r H W. Downscaling averages the covered pixels (so a mask's
    mean, i.e. its area fraction, is kept); upscaling is bilinear.
    """
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    h, w = masks.shape[-2:]
    if size[0] <= h and size[1] <= w:
        return F.adaptive_avg_pool2d(masks, size)
    return F.interpolate(masks, size=size, mode="bilinear", align_corners=False)
