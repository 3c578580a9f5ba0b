"""Region masks of the portrait from its face landmarks, in two layouts.

- LinguaLinker (paper 000, sec. 3.1 eq. 2 and the motion-range paragraph of sec. 4): one box per gate region
  (head, mouth, eyes with eyebrows). "The area of the region mask is determined by the motion range": each box's
  AREA is multiplied by its slider factor about its centre (side x sqrt(factor)), clipped to the image, optionally
  feathered with a Gaussian edge. A head factor above 1 grows the head box into the background for more head motion.
- Hallo (paper 001, eq. 7-10, as its released preprocessing computes them, which is what its checkpoints were
  trained with): lip box = outer-lip landmarks x2.0 (side), face box = face-oval landmarks x`face_expand_ratio`
  (1.2), both shifted back inside the image; each box mask resized to 64x64, Gaussian-blurred (kernel 51 face,
  31 lip) and min-max normalised to F and L; then lip = L, expression = max(F - L, 0), pose = 1 - F.
  For binary boxes with the lip inside the face this is eq. 8-9 (M_exp = (1 - M_lip) * Y_exp); the released
  pose mask is 1 - F (background), where eq. 10 would write 1 - M_exp.

Letters: b batch, r regions, h w image height width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from .conditions import HALLO_REGIONS, LINGUALINKER_REGIONS, RegionMasks
from .errors import PortraitInputError
from .face_landmarks import FaceLandmarks
from .mask_resize import resize_region_masks

#: MediaPipe face-mesh indices (468/478-point topology; facts from MediaPipe's face-mesh connection sets).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375)
EYES_AND_BROWS = (
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,  # right eye
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,  # left eye
    46, 53, 52, 65, 55, 70, 63, 105, 66, 107,  # right eyebrow
    276, 283, 282, 295, 285, 300, 293, 334, 296, 336,  # left eyebrow
)

#: Lips and eyes+brows boxes as (x0, y0, x1, y1) fractions of a manual face box, measured on a frontal face
#: (skimage's astronaut, face-oval box) and made symmetric.
MANUAL_LIPS = (0.30, 0.65, 0.70, 0.81)
MANUAL_EYES = (0.10, 0.15, 0.90, 0.36)

#: Hallo's fixed preprocessing numbers (released code): lip side ratio, default face ratio, soft-mask grid, kernels.
HALLO_LIP_EXPAND = 2.0
HALLO_FACE_EXPAND = 1.2
HALLO_GRID = 64
HALLO_FACE_KERNEL = 51
HALLO_LIP_KERNEL = 31
#: Feather sigmas below this change no pixel beyond float32 precision (neighbour weight exp(-1 / 2 sigma^2) < 1e-21);
#: they are skipped, since a vanishing sigma makes the Gaussian kernel 0 / 0.
MIN_FEATHER_PX = 0.1

#: Optional MASK inputs that replace a region, in channel order (Hallo layout: pose, expression, lip).
OVERRIDE_INPUTS = ("head_mask", "mouth_mask", "eyes_mask")
LAYOUTS = ("lingualinker", "hallo")


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in image pixels: (x0, y0) top-left corner, (x1, y1) bottom-right corner."""

    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def around(cls, points: np.ndarray) -> Box:
        """Bounding box of n 2 (x, y) points."""
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        return cls(float(x0), float(y0), float(x1), float(y1))

    @classmethod
    def from_xywh(cls, box: Sequence[float]) -> Box:
        x, y, w, h = box
        return cls(x, y, x + w, y + h)

    @property
    def area(self) -> float:
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)

    def part(self, fractions: Sequence[float]) -> Box:
        """Sub-box given as (x0, y0, x1, y1) fractions of this box."""
        w, h = self.x1 - self.x0, self.y1 - self.y0
        fx0, fy0, fx1, fy1 = fractions
        return Box(self.x0 + fx0 * w, self.y0 + fy0 * h, self.x0 + fx1 * w, self.y0 + fy1 * h)

    def scaled(self, side: float) -> Box:
        """Both sides multiplied by `side` about the centre (area x side**2)."""
        cx, cy = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
        hw, hh = (self.x1 - self.x0) * side / 2, (self.y1 - self.y0) * side / 2
        return Box(cx - hw, cy - hh, cx + hw, cy + hh)

    def clipped(self, image_size: tuple[int, int]) -> Box:
        h, w = image_size
        return Box(min(max(self.x0, 0), w), min(max(self.y0, 0), h), min(max(self.x1, 0), w), min(max(self.y1, 0), h))

    def shifted_inside(self, image_size: tuple[int, int]) -> Box:
        """Moved (not shrunk) back inside the image where it sticks out, then clipped; Hallo's rule."""
        h, w = image_size
        dx = max(-self.x0, 0) - max(self.x1 - w, 0)
        dy = max(-self.y0, 0) - max(self.y1 - h, 0)
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy).clipped(image_size)

    def rounded(self) -> Box:
        return Box(*(float(round(v)) for v in (self.x0, self.y0, self.x1, self.y1)))


@dataclass(frozen=True)
class FeatureBoxes:
    """Unscaled boxes of the face features the regions are built from."""

    face: Box
    lips: Box
    eyes: Box


def feature_boxes(landmarks: FaceLandmarks) -> FeatureBoxes:
    """Face-oval, outer-lip and eyes+eyebrows boxes; from the manual face box's proportions when it has no points."""
    if len(landmarks.points) == 0:
        face = Box.from_xywh(landmarks.face_box)
        return FeatureBoxes(face, face.part(MANUAL_LIPS), face.part(MANUAL_EYES))
    return FeatureBoxes(*(Box.around(landmarks.points[list(ids)]) for ids in (FACE_OVAL, OUTER_LIPS, EYES_AND_BROWS)))


@dataclass(frozen=True)
class RegionAreas:
    """LinguaLinker's area sliders: each region box's area is multiplied by its factor (mask area = motion range).

    head 2.0: the face-oval box grows by sqrt(2) per side into hair and background, room for head motion;
    mouth 2.0: the closed-lip box doubles, room for the opening jaw; eyes 1.5: eyes and brows plus a margin
    for raised eyebrows. 1.0 keeps the landmark box itself.
    """

    head: float = 2.0
    mouth: float = 2.0
    eyes: float = 1.5


def lingualinker_boxes(boxes: FeatureBoxes, areas: RegionAreas, image_size: tuple[int, int]) -> tuple[Box, Box, Box]:
    """(head, mouth, eyes) boxes: each feature box's area scaled by its factor about its centre, clipped."""
    pairs = ((boxes.face, areas.head), (boxes.lips, areas.mouth), (boxes.eyes, areas.eyes))
    for (_, factor), name in zip(pairs, LINGUALINKER_REGIONS):
        if factor <= 0:
            raise PortraitInputError(f"{name}_area", f"{factor} is not a positive area factor", "use a value > 0")
    return tuple(box.scaled(math.sqrt(factor)).clipped(image_size) for box, factor in pairs)


def box_mask(box: Box, image_size: tuple[int, int]) -> torch.Tensor:
    """h w mask covering `box` with exact fractional coverage at its edges (its sum is the clipped box area)."""
    h, w = image_size

    def coverage(lo: float, hi: float, n: int) -> torch.Tensor:
        edges = torch.arange(n, dtype=torch.float64)
        return (torch.minimum(edges + 1, torch.tensor(hi)) - torch.maximum(edges, torch.tensor(lo))).clamp(0, 1)

    return torch.outer(coverage(box.y0, box.y1, h), coverage(box.x0, box.x1, w)).float()


def feather(masks: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """Gaussian-soften mask edges, separably, reflecting at the image border: r h w -> r h w."""
    if sigma_px < MIN_FEATHER_PX:
        return masks
    h, w = masks.shape[-2:]
    kernel = 2 * math.ceil(3 * sigma_px) + 1  # +-3 sigma, cut to what reflect padding allows (< the side)
    rows = gaussian_blur(masks, [min(kernel, 2 * w - 1), 1], [sigma_px, sigma_px])
    return gaussian_blur(rows, [1, min(kernel, 2 * h - 1)], [sigma_px, sigma_px])


def lingualinker_masks(landmarks: FaceLandmarks, areas: RegionAreas, feather_px: float = 0.0) -> torch.Tensor:
    """Head, mouth, eyes box masks of one image: -> r h w (r = 3)."""
    boxes = lingualinker_boxes(feature_boxes(landmarks), areas, landmarks.image_size)
    return feather(torch.stack([box_mask(box, landmarks.image_size) for box in boxes]), feather_px)


def hallo_boxes(boxes: FeatureBoxes, image_size: tuple[int, int], face_expand_ratio: float) -> tuple[Box, Box]:
    """(face, lip) boxes as Hallo draws them: sides x ratio about the centre, shifted inside, whole pixels."""
    if face_expand_ratio <= 0:
        raise PortraitInputError(
            "face_expand_ratio", f"{face_expand_ratio} is not a positive ratio", f"use Hallo's {HALLO_FACE_EXPAND}"
        )
    return tuple(
        box.scaled(ratio).shifted_inside(image_size).rounded()
        for box, ratio in ((boxes.face, face_expand_ratio), (boxes.lips, HALLO_LIP_EXPAND))
    )


def hallo_soft_mask(box: Box, image_size: tuple[int, int], kernel: int) -> torch.Tensor:
    """Box mask resized to 64x64 (bilinear, as cv2.resize), Gaussian-blurred (sigma from kernel, as OpenCV),
    min-max normalised: -> 64 64. A flat result (box empty or covering everything) is left as it is."""
    mask = box_mask(box, image_size)[None, None]
    small = F.interpolate(mask, size=(HALLO_GRID, HALLO_GRID), mode="bilinear", align_corners=False)[0]
    blurred = gaussian_blur(small, [kernel, kernel])[0]
    low, high = blurred.min(), blurred.max()
    return (blurred - low) / (high - low) if high - low > 1e-6 else blurred


def hallo_layout(face_soft: torch.Tensor, lip_soft: torch.Tensor) -> torch.Tensor:
    """Hallo's eq. 8-10 as released: (pose, expression, lip) = (1 - F, max(F - L, 0), L): h w, h w -> r h w."""
    return torch.stack([1 - face_soft, (face_soft - lip_soft).clamp(min=0), lip_soft])


def hallo_masks(landmarks: FaceLandmarks, face_expand_ratio: float = HALLO_FACE_EXPAND) -> torch.Tensor:
    """Pose, expression, lip soft masks of one image at its resolution: -> r h w (r = 3)."""
    size = landmarks.image_size
    face, lip = hallo_boxes(feature_boxes(landmarks), size, face_expand_ratio)
    layout = hallo_layout(hallo_soft_mask(face, size, HALLO_FACE_KERNEL), hallo_soft_mask(lip, size, HALLO_LIP_KERNEL))
    return resize_region_masks(layout[None], size)[0]


def apply_overrides(masks: torch.Tensor, overrides: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """Replace channels by painted masks (b h w or h w, any size, batch 1 or b): b r h w -> b r h w."""
    masks = masks.clone()
    b, _, h, w = masks.shape
    for channel, (name, painted) in enumerate(zip(OVERRIDE_INPUTS, overrides)):
        if painted is None:
            continue
        painted = painted.reshape(-1, *painted.shape[-2:]).float()
        if painted.shape[0] not in (1, b):
            raise PortraitInputError(
                name, f"has {painted.shape[0]} masks for {b} images", "give one mask, or one per image of the batch"
            )
        resized = resize_region_masks(painted[:, None], (h, w))[:, 0].clamp(0, 1)
        masks[:, channel] = resized.to(masks)
    return masks


def portrait_region_masks(
    landmarks: Sequence[FaceLandmarks],
    layout: str = "lingualinker",
    areas: RegionAreas = RegionAreas(),
    feather_px: float = 0.0,
    face_expand_ratio: float = HALLO_FACE_EXPAND,
    overrides: Sequence[torch.Tensor | None] = (),
) -> RegionMasks:
    """Region masks of a batch at image resolution, layout 'lingualinker' (head, mouth, eyes) or 'hallo'
    (pose, expression, lip), painted overrides applied last: b FaceLandmarks -> masks b r h w."""
    if layout == "lingualinker":
        masks = torch.stack([lingualinker_masks(face, areas, feather_px) for face in landmarks])
        names = LINGUALINKER_REGIONS
    elif layout == "hallo":
        masks = torch.stack([hallo_masks(face, face_expand_ratio) for face in landmarks])
        names = HALLO_REGIONS
    else:
        raise PortraitInputError("layout", f"unknown layout '{layout}'", f"pick one of {LAYOUTS}")
    return RegionMasks(apply_overrides(masks, overrides), names)
