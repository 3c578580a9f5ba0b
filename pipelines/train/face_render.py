"""A procedural portrait painter for the synthetic talking-head dataset (stand-in for paper 000 §3.2's video data).

Faces are soft-edged ellipses composited back to front: background, shoulders, neck, hair, face, fringe, brows,
eyes (eyelids close them), nose, lips and mouth. Feature placement follows the pack's manual face-box proportions
(`region_masks.MANUAL_LIPS` / `MANUAL_EYES`), so the region masks built from a face box and the masks built from
this painter's exact geometry agree. Per-frame motion moves the head, opens the mouth and closes the eyelids.
Letters: f frames, h w pixels.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, fields

import torch

from ..region_masks import Box, FeatureBoxes

#: Feature geometry in units of the face half-width a (x) and half-height b (y), from the face centre.
#: The eyes are large for a face (about 5.5 x 5 px in a 64 px portrait): an x8 VAE (8 x 8 latents) drew no eyes at
#: all, open or shut, when they were 4 x 3.6 px (0.24, 0.12; bench/vae_roundtrip.py). Their box keeps the bottom edge
#: of `region_masks.MANUAL_EYES`.
EYE_X, EYE_Y, EYE_RX, EYE_RY = 0.40, -0.43, 0.32, 0.17
BROW_X, BROW_Y, BROW_RX, BROW_RY = 0.45, -0.65, 0.35, 0.05
LIPS_Y, LIPS_RX, LIPS_RY = 0.46, 0.40, 0.16
MOUTH_RX, MOUTH_OPEN_RY, JAW_DROP = 0.30, 0.22, 0.10


@dataclass
class FaceStyle:
    """What one synthetic person looks like (pixels for sizes, RGB 0..1 for colours)."""

    centre_x: float
    centre_y: float
    half_width: float  # a
    half_height: float  # b
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    lips: tuple[float, float, float]
    iris: tuple[float, float, float]
    shirt: tuple[float, float, float]
    background_top: tuple[float, float, float]
    background_bottom: tuple[float, float, float]
    hair_width: float  # hair ellipse half-width in units of a
    hair_height: float  # ... and half-height in units of b
    fringe: float  # 0: no fringe, else its half-height in units of b
    shading: float  # left-right light gradient across the face, -0.2..0.2
    eye_scale: float = 1.0  # eye size relative to the training faces
    mouth_scale: float = 1.0  # lip and mouth width relative to the training faces


@dataclass
class FaceMotion:
    """Per-frame motion, each a tensor of f values: head offset (px), mouth opening (0 closed .. ~1 wide open),
    mouth width factor (1 = rest), eyelid closure (0 open .. 1 shut)."""

    head_dx: torch.Tensor
    head_dy: torch.Tensor
    mouth_open: torch.Tensor
    mouth_width: torch.Tensor
    eye_closure: torch.Tensor

    @classmethod
    def still(cls, frames: int) -> "FaceMotion":
        zeros = torch.zeros(frames)
        return cls(zeros, zeros, zeros, torch.ones(frames), zeros)

    def slice(self, start: int, stop: int) -> "FaceMotion":
        return FaceMotion(*(getattr(self, f.name)[start:stop] for f in fields(self)))

    @property
    def frames(self) -> int:
        return self.head_dx.shape[0]


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(1, generator=generator))


def _hsv(generator: torch.Generator, hue: tuple[float, float], sat: tuple[float, float], val: tuple[float, float]):
    return colorsys.hsv_to_rgb(*(_uniform(generator, *r) for r in (hue, sat, val)))


def random_style(generator: torch.Generator, size: int = 64) -> FaceStyle:
    """A random person: natural skin tones for most, any hue for some, random hair, clothes and background."""
    a = size * _uniform(generator, 0.20, 0.27)
    fantasy = float(torch.rand(1, generator=generator)) < 0.2
    skin = _hsv(generator, (0.0, 1.0) if fantasy else (0.02, 0.11), (0.2, 0.6), (0.35, 0.95))
    return FaceStyle(
        centre_x=size * 0.5 + _uniform(generator, -0.05, 0.05) * size,
        centre_y=size * 0.47 + _uniform(generator, -0.05, 0.05) * size,
        half_width=a,
        half_height=a * _uniform(generator, 1.2, 1.4),
        skin=skin,
        hair=_hsv(generator, (0.0, 1.0), (0.1, 0.9), (0.05, 0.8)),
        lips=_hsv(generator, (0.93, 1.02), (0.4, 0.8), (0.4, 0.8)),
        iris=_hsv(generator, (0.0, 1.0), (0.3, 0.9), (0.1, 0.5)),
        shirt=_hsv(generator, (0.0, 1.0), (0.0, 1.0), (0.1, 0.95)),
        background_top=_hsv(generator, (0.0, 1.0), (0.0, 0.8), (0.2, 1.0)),
        background_bottom=_hsv(generator, (0.0, 1.0), (0.0, 0.8), (0.2, 1.0)),
        hair_width=_uniform(generator, 1.05, 1.3),
        hair_height=_uniform(generator, 1.0, 1.25),
        fringe=_uniform(generator, 0.15, 0.3) if float(torch.rand(1, generator=generator)) < 0.6 else 0.0,
        shading=_uniform(generator, -0.2, 0.2),
    )


def feature_boxes(style: FaceStyle) -> FeatureBoxes:
    """Face-oval, closed-lips and eyes+brows boxes of the face at rest (what a landmarker would box), pixels."""
    cx, cy, a, b = style.centre_x, style.centre_y, style.half_width, style.half_height
    face = Box(cx - a, cy - b, cx + a, cy + b)
    lips_rx = LIPS_RX * a * style.mouth_scale
    lips = Box(cx - lips_rx, cy + (LIPS_Y - LIPS_RY) * b, cx + lips_rx, cy + (LIPS_Y + LIPS_RY) * b)
    eyes = Box(cx - (BROW_X + BROW_RX) * a, cy + (BROW_Y - BROW_RY) * b, cx + (BROW_X + BROW_RX) * a, cy + (EYE_Y + EYE_RY) * b)
    return FeatureBoxes(face, lips, eyes)


def ellipse(x: torch.Tensor, y: torch.Tensor, cx, cy, rx, ry) -> torch.Tensor:
    """Anti-aliased coverage (0..1) of ellipses; x: w, y: h pixel centres, parameters f 1 1 tensors or floats -> f h w."""
    u, v = (x[None, None, :] - cx) / rx, (y[None, :, None] - cy) / ry
    level = torch.sqrt(u**2 + v**2).clamp(min=1e-6)
    slope = torch.sqrt((u / rx) ** 2 + (v / ry) ** 2).clamp(min=1e-6) / level  # |grad level|, per pixel
    coverage = (0.5 - (level - 1.0) / slope).clamp(0, 1)  # signed distance to the outline ~ (level - 1) / slope
    inside_box = ((rx + 0.5 - (x[None, None, :] - cx).abs()).clamp(0, 1) * (ry + 0.5 - (y[None, :, None] - cy).abs()).clamp(0, 1))
    thickness = (2 * torch.minimum(torch.as_tensor(rx), torch.as_tensor(ry))).clamp(max=1)  # thinner than a pixel: fainter
    return coverage * inside_box * thickness


def _paint(canvas: torch.Tensor, coverage: torch.Tensor, colour) -> torch.Tensor:
    """canvas f 3 h w, coverage f h w, colour (3,) or f 3 h w -> f 3 h w."""
    colour = torch.as_tensor(colour, dtype=canvas.dtype)
    if colour.ndim == 1:
        colour = colour[None, :, None, None]
    alpha = coverage[:, None]
    return canvas * (1 - alpha) + colour * alpha


def render_frames(style: FaceStyle, motion: FaceMotion, size: int = 64) -> torch.Tensor:
    """Paint one frame per motion step: -> f 3 h w, RGB 0..1."""
    frames = motion.frames
    x = torch.arange(size, dtype=torch.float32) + 0.5
    y = torch.arange(size, dtype=torch.float32) + 0.5

    def per_frame(values: torch.Tensor) -> torch.Tensor:
        return values.float()[:, None, None]

    cx = style.centre_x + per_frame(motion.head_dx)
    cy = style.centre_y + per_frame(motion.head_dy)
    a, b = style.half_width, style.half_height
    top, bottom = torch.tensor(style.background_top), torch.tensor(style.background_bottom)
    mix = (y / size)[None, None, :, None]
    canvas = (top[None, :, None, None] * (1 - mix) + bottom[None, :, None, None] * mix).expand(frames, 3, size, size)

    shoulders = ellipse(x, y, style.centre_x + 0.3 * per_frame(motion.head_dx), style.centre_y + 1.95 * b, 2.1 * a, 0.9 * b)
    canvas = _paint(canvas, shoulders, style.shirt)
    neck = ellipse(x, y, cx, style.centre_y + 1.1 * b, 0.45 * a, 0.6 * b)
    canvas = _paint(canvas, neck, [0.8 * c for c in style.skin])
    canvas = _paint(canvas, ellipse(x, y, cx, cy - 0.15 * b, style.hair_width * a, style.hair_height * b), style.hair)

    shade = (1 + style.shading * ((x[None, None, :] - cx) / a)).clamp(0.6, 1.4)  # f 1 w
    skin = (torch.tensor(style.skin)[None, :, None, None] * shade[:, None]).clamp(0, 1).expand(frames, 3, size, size)
    canvas = _paint(canvas, ellipse(x, y, cx, cy, a, b), skin)
    if style.fringe > 0:
        canvas = _paint(canvas, ellipse(x, y, cx, cy - 0.95 * b, 0.95 * a, style.fringe * b), style.hair)

    brow_colour = [0.6 * c for c in style.hair]
    open_fraction = (1 - per_frame(motion.eye_closure)).clamp(0, 1)
    for side in (-1.0, 1.0):
        canvas = _paint(canvas, ellipse(x, y, cx + side * BROW_X * a, cy + BROW_Y * b, BROW_RX * a, max(BROW_RY * b, 0.8)), brow_colour)
        ex, ey = cx + side * EYE_X * a, cy + EYE_Y * b
        erx, ery = EYE_RX * a * style.eye_scale, EYE_RY * b * style.eye_scale
        eye = ellipse(x, y, ex, ey, erx, (ery * open_fraction).clamp(min=0.05))
        canvas = _paint(canvas, eye, (0.95, 0.95, 0.92))
        canvas = _paint(canvas, eye * ellipse(x, y, ex, ey, 0.5 * erx, ery), style.iris)
        lid = ellipse(x, y, ex, ey, erx, 0.6) * per_frame(motion.eye_closure).clamp(0, 1)
        canvas = _paint(canvas, lid, brow_colour)

    canvas = _paint(canvas, ellipse(x, y, cx, cy + 0.08 * b, 0.09 * a, 0.14 * b), [0.75 * c for c in style.skin])

    opening = per_frame(motion.mouth_open).clamp(min=0)
    width = per_frame(motion.mouth_width) * style.mouth_scale
    mouth_y = cy + LIPS_Y * b + JAW_DROP * b * opening
    lips = ellipse(x, y, cx, mouth_y, LIPS_RX * a * width, LIPS_RY * b + MOUTH_OPEN_RY * b * opening)
    canvas = _paint(canvas, lips, style.lips)
    inside = ellipse(x, y, cx, mouth_y, MOUTH_RX * a * width, 0.35 + MOUTH_OPEN_RY * b * opening)
    return _paint(canvas, inside, (0.18, 0.03, 0.05)).contiguous()
