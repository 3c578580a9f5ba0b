"""Bring a portrait of any size to the model's resolution before anything encodes it.

A phone photo (4032x3024) is scaled down, aspect kept, to about the model's pixel count (resolution^2); each
side is rounded to the nearest multiple the VAE and the UNet need, and the few source pixels this rounding
leaves over are cropped on the side away from the face (the region masks' centre). The region masks (and Hallo's
face-box image) take the same crop, so they keep matching the image. Smaller portraits keep their scale.

Letters: b batch, h w height width, c channels, r regions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .conditions import RegionMasks
from .errors import PortraitInputError


@dataclass(frozen=True)
class PortraitFit:
    """Source crop (top, left, height, width) as fractions of the source's sides, and the output size (h, w)."""

    crop: tuple[float, float, float, float]
    size: tuple[int, int]


def plan_fit(source: tuple[int, int], resolution: int, multiple: int, centre: tuple[float, float] = (0.5, 0.5)) -> PortraitFit:
    """How to bring an h w portrait to at most resolution^2 pixels with sides in multiples of `multiple`.

    centre: (y, x) fractions the crop of the rounding remainder keeps central where it can (the face).
    """
    height, width = source
    if min(height, width) < multiple:
        raise PortraitInputError(
            "reference", f"the portrait is {width}x{height} px, smaller than the {multiple} px the model needs per side",
            f"use a portrait of at least {multiple}x{multiple} px (the model works at about {resolution}x{resolution})",
        )
    scale = min(1.0, resolution / math.sqrt(height * width))
    size = tuple(max(multiple, round(side * scale / multiple) * multiple) for side in (height, width))
    return fit_to_size(source, size, centre)


def fit_to_size(source: tuple[int, int], size: tuple[int, int], centre: tuple[float, float] = (0.5, 0.5)) -> PortraitFit:
    """The largest crop of an h w source with the aspect of `size`, centred on `centre` (y, x fractions) and
    clamped inside the image, scaled to `size`: what the sampler did to the portrait, for later stages too."""
    height, width = source
    fit = min(height / size[0], width / size[1])
    crop_h, crop_w = size[0] * fit / height, size[1] * fit / width
    top = min(max(centre[0] - crop_h / 2, 0.0), 1.0 - crop_h)
    left = min(max(centre[1] - crop_w / 2, 0.0), 1.0 - crop_w)
    return PortraitFit((top, left, crop_h, crop_w), tuple(size))


def _crop(pixels: torch.Tensor, fit: PortraitFit) -> torch.Tensor:
    """b c h w -> the fit's crop of `pixels`, in their own pixel grid."""
    height, width = pixels.shape[-2:]
    top, left, crop_h, crop_w = fit.crop
    y0, x0 = round(top * height), round(left * width)
    y1, x1 = max(y0 + 1, round((top + crop_h) * height)), max(x0 + 1, round((left + crop_w) * width))
    return pixels[..., y0:y1, x0:x1]


def fit_image(image: torch.Tensor, fit: PortraitFit) -> torch.Tensor:
    """b h w c image (0..1) -> b H W c, cropped and scaled as planned (antialiased bilinear)."""
    cropped = _crop(image.movedim(-1, 1), fit)
    if tuple(cropped.shape[-2:]) != fit.size:
        cropped = F.interpolate(cropped, size=fit.size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return cropped.movedim(1, -1).contiguous()


def fit_regions(regions: RegionMasks, fit: PortraitFit) -> RegionMasks:
    """The same crop for the region masks (and the face-box image), each in its own pixel grid and resolution:
    the sampler resizes them to the latent grid and checks there that they match the portrait's aspect."""
    face_image = None if regions.face_image is None else _crop(regions.face_image.float(), fit)
    return replace(regions, masks=_crop(regions.masks.float(), fit), face_image=face_image)


def mask_centre(masks: torch.Tensor) -> tuple[float, float]:
    """(y, x) fractions of the masks' centre of mass (all regions of the first image); the middle when empty."""
    weight = masks[0].float().sum(0)  # h w
    total = float(weight.sum())
    if total <= 0:
        return 0.5, 0.5
    height, width = weight.shape
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width
    return float((weight.sum(1) * ys).sum()) / total, float((weight.sum(0) * xs).sum()) / total


def fit_portrait(image: torch.Tensor, regions: RegionMasks, resolution: int, multiple: int) -> tuple[torch.Tensor, RegionMasks, PortraitFit]:
    """A b h w c portrait and its regions brought to the model's resolution, the crop centred on the face."""
    fit = plan_fit(tuple(image.shape[1:3]), resolution, multiple, mask_centre(regions.masks))
    return fit_image(image, fit), fit_regions(regions, fit), fit
