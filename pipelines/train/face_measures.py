"""Measures of the synthetic faces in generated frames, for benchmarks and tests of a trained model.

Frames are compared with the person's rest pose (the reference) inside boxes taken from the painter's geometry:
- mouth opening: the mean darkening (luminance drop) inside the mouth box; an open mouth shows its dark inside;
- eye closure: the mean absolute luminance change inside the two eye boxes (eyelids cover the bright eye whites);
- head offset: the translation (px) that best registers the frame's head onto the reference's (grid search);
- identity error: the mean absolute RGB error against the reference outside the mouth and eye regions.
Mouth and eyes are measured on frames moved back by their head offset, so head motion does not leak into them.
Each feature measure is divided by the same measure of a painted frame at full motion (mouth open at the training
gain, eyes shut), so 1 means "as much as the training videos at region scale 1". Letters: f frames, h w pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .face_render import BROW_X, EYE_RX, EYE_RY, EYE_X, EYE_Y, JAW_DROP, LIPS_Y, MOUTH_OPEN_RY, MOUTH_RX, FaceMotion, FaceStyle, render_frames
from .motion_tracks import MOUTH_GAIN

LUMA = torch.tensor([0.299, 0.587, 0.114])
#: Head offsets searched when registering a frame to the reference: +-SHIFT_RANGE_PX.
SHIFT_RANGE_PX = 4.0


def luminance(frames: torch.Tensor) -> torch.Tensor:
    """f 3 h w (or 3 h w) RGB -> f h w (or h w)."""
    return torch.einsum("...chw,c->...hw", frames, LUMA.to(frames))


def box_mask(size: int, x0: float, y0: float, x1: float, y1: float) -> torch.Tensor:
    """h w mask of the pixels whose centres lie in the box."""
    centres = torch.arange(size) + 0.5
    rows = (centres >= y0) & (centres <= y1)
    cols = (centres >= x0) & (centres <= x1)
    return (rows[:, None] & cols[None, :]).float()


@dataclass
class FaceRegions:
    """h w masks of one synthetic face at rest: mouth (lips and the opening jaw), eyes, head (minus both)."""

    mouth: torch.Tensor
    eyes: torch.Tensor
    head: torch.Tensor

    @classmethod
    def of(cls, style: FaceStyle, size: int) -> "FaceRegions":
        cx, cy, a, b = style.centre_x, style.centre_y, style.half_width, style.half_height
        mouth_y = cy + LIPS_Y * b
        mouth = box_mask(size, cx - MOUTH_RX * a, mouth_y - 0.1 * b, cx + MOUTH_RX * a, mouth_y + (JAW_DROP + MOUTH_OPEN_RY) * b)
        eyes = sum(
            box_mask(size, cx + side * EYE_X * a - EYE_RX * a, cy + (EYE_Y - EYE_RY) * b, cx + side * EYE_X * a + EYE_RX * a, cy + (EYE_Y + EYE_RY) * b)
            for side in (-1, 1)
        )
        head = box_mask(size, cx - 1.2 * a, cy - 1.2 * b, cx + 1.2 * a, cy + 1.2 * b)
        features = box_mask(size, cx - (BROW_X + 0.4) * a, cy - 0.8 * b, cx + (BROW_X + 0.4) * a, cy - 0.2 * b)
        features = torch.maximum(features, box_mask(size, cx - 0.5 * a, mouth_y - 0.3 * b, cx + 0.5 * a, mouth_y + 0.6 * b))
        return cls(mouth, eyes.clamp(max=1), head * (1 - features))


def translated(images: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Images f c h w moved by -offsets (f 2, (dx, dy) px): output(x) = input(x + offset), bilinear, edges repeated."""
    f, _, h, w = images.shape
    theta = torch.zeros(f, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2], theta[:, 1, 2] = 2 * offsets[:, 0] / w, 2 * offsets[:, 1] / h
    grid = F.affine_grid(theta, (f, 1, h, w), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _best_offsets(luma: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """luma f 1 h w, candidates n f 2 (per-frame offsets to try) -> f 2, the candidate that matches best."""
    errors = torch.stack([masked_mean((translated(luma, offsets)[:, 0] - target).abs(), mask) for offsets in candidates])
    return candidates.gather(0, errors.argmin(dim=0)[None, :, None].expand(1, -1, 2))[0]


def head_offsets(frames: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per frame, the (dx, dy) px the head moved from the reference, by a coarse-to-fine grid search (whole pixels
    within +-SHIFT_RANGE_PX, then half and quarter pixels): frames f 3 h w, reference 3 h w, mask h w -> f 2."""
    luma, target = luminance(frames)[:, None], luminance(reference)
    f = luma.shape[0]
    steps = torch.arange(-SHIFT_RANGE_PX, SHIFT_RANGE_PX + 0.5)
    best = _best_offsets(luma, target, mask, torch.cartesian_prod(steps, steps)[:, None].expand(-1, f, 2))
    for step in (0.5, 0.25):
        around = torch.cartesian_prod(*(torch.tensor([-step, 0.0, step]),) * 2)  # 9 2
        best = _best_offsets(luma, target, mask, best[None] + around[:, None])
    return best


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """values f h w, mask h w -> f."""
    return (values * mask).sum((-2, -1)) / mask.sum().clamp(min=1)


def raw_mouth(frames: torch.Tensor, reference: torch.Tensor, regions: FaceRegions) -> torch.Tensor:
    return masked_mean((luminance(reference) - luminance(frames)).clamp(min=0), regions.mouth)


def raw_eyes(frames: torch.Tensor, reference: torch.Tensor, regions: FaceRegions) -> torch.Tensor:
    return masked_mean((luminance(frames) - luminance(reference)).abs(), regions.eyes)


class FaceMeter:
    """Measures frames of one synthetic person against that person's rest pose (both as seen through the same VAE
    when `reference` is the decoded reference)."""

    def __init__(self, style: FaceStyle, size: int, reference: torch.Tensor | None = None):
        self.regions = FaceRegions.of(style, size)
        painted_rest = render_frames(style, FaceMotion.still(1), size)[0]
        self.reference = painted_rest if reference is None else reference
        full = FaceMotion.still(1)
        full.mouth_open = torch.tensor([MOUTH_GAIN])
        full.eye_closure = torch.tensor([1.0])
        painted_full = render_frames(style, full, size)
        self.mouth_unit = float(raw_mouth(painted_full, painted_rest, self.regions)[0])
        self.eyes_unit = float(raw_eyes(painted_full, painted_rest, self.regions)[0])

    def head_offsets(self, frames: torch.Tensor) -> torch.Tensor:
        """f 3 h w -> f 2, the head's (dx, dy) px from its rest position."""
        return head_offsets(frames, self.reference, self.regions.head)

    def aligned(self, frames: torch.Tensor) -> torch.Tensor:
        """f 3 h w frames moved back by their head offsets (the head where the reference has it)."""
        return translated(frames, self.head_offsets(frames))

    def mouth_opening(self, frames: torch.Tensor) -> torch.Tensor:
        """Aligned frames f 3 h w -> f, about 0 at rest and 1 at the training videos' full opening."""
        return raw_mouth(frames, self.reference, self.regions) / self.mouth_unit

    def eye_closure(self, frames: torch.Tensor) -> torch.Tensor:
        """Aligned frames f 3 h w -> f, about 0 open and 1 shut."""
        return raw_eyes(frames, self.reference, self.regions) / self.eyes_unit

    def identity_error(self, frames: torch.Tensor) -> float:
        """Mean absolute RGB error to the reference outside mouth and eye regions (whole image otherwise)."""
        outside = 1 - torch.maximum(self.regions.mouth, self.regions.eyes)
        return float(masked_mean((frames - self.reference).abs().mean(1), outside).mean())


def blink_count(closure: torch.Tensor, threshold: float = 0.5) -> int:
    """Number of times the eye closure rises more than `threshold` above its median (the open-eye level): f -> int."""
    above = (closure - closure.median() > threshold).int()
    return int((above[1:] - above[:-1] == 1).sum() + above[0])


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    """Correlation of two f series (0 when either is constant)."""
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    denominator = (x.square().sum() * y.square().sum()).sqrt()
    return float((x * y).sum() / denominator) if denominator > 1e-12 else 0.0
