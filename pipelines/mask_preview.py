"""Preview of the region masks over the portrait, as RegionMaskFromLandmarks shows it (paper 000 sec. 3.1 regions,
paper 001 eq. 7-10 masks): each region tinted in its colour, the landmarks as dots, the face used framed in yellow
and any other face found framed in grey.

Letters: b batch, r regions, h w image height width, c channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from .conditions import RegionMasks
from .face_landmarks import FaceLandmarks

#: Tint of region channel 0, 1, 2 (head / pose blue, mouth / expression red, eyes / lip green).
REGION_COLOURS = ((0.2, 0.5, 1.0), (1.0, 0.25, 0.25), (0.25, 0.9, 0.3))
OPACITY = 0.45
USED_FACE_COLOUR = (255, 220, 0)
OTHER_FACE_COLOUR = (150, 150, 150)
POINT_COLOUR = (255, 255, 255)


def tint_regions(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Blend each region's colour over the image in channel order, weighted by its mask: b h w c, b r h w -> b h w 3."""
    out = images[..., :3].float().cpu().clone()
    for channel, colour in enumerate(REGION_COLOURS[: masks.shape[1]]):
        weight = OPACITY * masks[:, channel, :, :, None].float().cpu()  # b h w 1
        out = out * (1 - weight) + torch.tensor(colour) * weight
    return out


def draw_faces(image: np.ndarray, face: FaceLandmarks) -> np.ndarray:
    """Frame the used face (yellow) and the others (grey) and dot its landmarks: h w 3 uint8 -> h w 3 uint8."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    line = max(1, round(min(face.image_size) / 256))
    for (x, y, w, h), colour in [(box, OTHER_FACE_COLOUR) for box in face.other_faces] + [
        (face.face_box, USED_FACE_COLOUR)
    ]:
        draw.rectangle((x, y, x + w, y + h), outline=colour, width=line)
    for x, y in face.points:
        draw.ellipse((x - line / 2, y - line / 2, x + line / 2, y + line / 2), fill=POINT_COLOUR)
    return np.asarray(canvas)


def draw_region_preview(
    images: torch.Tensor, regions: RegionMasks, landmarks: Sequence[FaceLandmarks]
) -> torch.Tensor:
    """Regions, landmarks and face boxes drawn over the portraits: b h w c (0..1) -> b h w 3 (0..1)."""
    tinted = (tint_regions(images, regions.masks) * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    drawn = np.stack([draw_faces(image, face) for image, face in zip(tinted, landmarks)])
    return torch.from_numpy(drawn).float() / 255
