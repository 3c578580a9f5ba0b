"""Frame alignment of encoder features to video frames and per-frame audio context blocks.

LinguaLinker (paper 000 §3.1) turns the audio sequence b x f x c into blocks b x F x l x c, one block of l audio
frames per video frame (l = 5: the current frame +- 2, §4.1). Hallo (paper 001 §3.2) builds the same +-2 window with
clamped indices; Sonic (paper 002 §3.1) gives each video frame 0.2 s of Whisper positions.

Rounding, stated once for the whole pack:
- Frame count: F = ceil(duration * fps), duration = samples / sample_rate of the input audio. Every started 1/fps
  interval gets a frame, so the video is never shorter than the audio (the last frame may cover a partial interval).
- Encoder position of video frame i: p_i = i * (T - 1) / (F - 1) for T encoder positions (0 when F or T is 1), the
  linear, corner-aligned mapping Hallo uses to stretch wav2vec2's 50 Hz features onto video frames. The first and the
  last video frame read the first and the last encoder position; the stretch against exact timing is under one
  frame for any length.
- Context: frame i reads positions i - l//2 .. i + l//2, indices clamped to the sequence (edge padding).

Letters: b batch, f video frames, n encoder positions, l context window, c channels.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
import torch.nn.functional as F


def exact_fps(fps: float) -> Fraction:
    """fps as an exact fraction (29.97 -> 2997/100, 30000/1001 stays NTSC)."""
    return Fraction(fps).limit_denominator(1001)


def frame_count(samples: int, sample_rate: int, fps: float) -> int:
    """F = ceil(samples / sample_rate * fps), computed exactly (no float rounding at frame boundaries)."""
    rate = exact_fps(fps)
    return math.ceil(Fraction(samples) * rate / int(sample_rate))


def frame_positions(frames: int, positions: int) -> torch.Tensor:
    """Encoder position p_i (float) of each video frame: f."""
    if frames == 1 or positions == 1:
        return torch.zeros(frames, dtype=torch.float64)
    return torch.arange(frames, dtype=torch.float64) * ((positions - 1) / (frames - 1))


def sample_at(sequence: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of a sequence at fractional positions (clamped): b n c, f -> b f c."""
    positions = positions.clamp(0, sequence.shape[1] - 1)
    low = positions.floor().long()
    high = (low + 1).clamp(max=sequence.shape[1] - 1)
    weight = (positions - low).to(sequence.dtype).to(sequence.device)[None, :, None]  # 1 f 1
    return torch.lerp(sequence[:, low.to(sequence.device)], sequence[:, high.to(sequence.device)], weight)


def context_blocks(sequence: torch.Tensor, context: int) -> torch.Tensor:
    """Per-frame windows of `context` (odd) neighbours, edge padded: b f c -> b f l c.

    The result is a strided view of the padded sequence (no copy of the l-fold data); slice frames before moving
    it to another device, and use `reshape`, not `view`, on it.
    """
    half = context // 2
    padded = F.pad(sequence.transpose(1, 2), (half, half), mode="replicate")  # b c (f + l - 1)
    return padded.unfold(2, context, 1).permute(0, 2, 3, 1)  # b c f l -> b f l c


def position_windows(sequence: torch.Tensor, centres: torch.Tensor, before: int, length: int) -> torch.Tensor:
    """Windows of `length` positions starting `before` ahead of each centre, indices clamped: b n c, f -> b f l c."""
    offsets = torch.arange(length) - before
    index = (centres[:, None] + offsets[None, :]).clamp(0, sequence.shape[1] - 1)  # f l
    return sequence[:, index.to(sequence.device)]
