"""A small picture of the audio against the video frame grid, so artists can see the alignment of AudioEncode.

Bars: waveform energy (RMS of 10 ms blocks in dB, -60..0 dBFS) per pixel column of the first clip; thin lines:
video frame starts (every `grid_step` frames when frames are too dense to draw each); bright ticks: whole seconds;
red line: the end of the audio (the last frame may reach past it, F = ceil(duration * fps)).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

BACKGROUND = (24, 26, 32)
ENERGY = (86, 180, 233)
FRAME_LINE = (70, 74, 88)
SECOND_TICK = (230, 230, 230)
AUDIO_END = (230, 80, 70)
FLOOR_DB = -60.0
#: Energy is measured in 10 ms blocks (syllables, not pitch periods) before it is spread over the pixel columns.
ENERGY_BLOCKS_PER_S = 100
#: Frame-grid steps tried in order until the lines are at least MIN_SPACING_PX apart.
GRID_STEPS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
SECOND_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600)
MIN_SPACING_PX = 4
LABEL_HEIGHT = 14


def grid_step(frames_px: float, steps: tuple[int, ...] = GRID_STEPS, min_px: float = MIN_SPACING_PX) -> int:
    """Smallest step whose lines are `min_px` apart when one unit is `frames_px` pixels wide."""
    return next((step for step in steps if step * frames_px >= min_px), steps[-1])


def column_energy_db(waveform: torch.Tensor, sample_rate: int, span_s: float, width: int) -> torch.Tensor:
    """RMS level (dBFS) of 10 ms blocks of the first clip's channel mean, per pixel column: b c t -> width."""
    mono = waveform[0].float().mean(dim=0)
    span_samples = max(width, math.ceil(span_s * sample_rate))
    power = F.pad(mono.square(), (0, max(0, span_samples - mono.shape[0])))[:span_samples]
    blocks = F.adaptive_avg_pool1d(power[None, None], max(1, round(span_s * ENERGY_BLOCKS_PER_S)))
    rms = F.adaptive_avg_pool1d(blocks, width)[0, 0].sqrt()
    return 20.0 * torch.log10(rms.clamp(min=1e-6))


def audio_preview(
    waveform: torch.Tensor, sample_rate: int, frames: int, fps: float, width: int = 768, height: int = 160
) -> torch.Tensor:
    """Energy and frame-grid picture of the audio: b c t -> IMAGE 1 h w 3 (0..1)."""
    span_s = frames / fps
    duration_s = waveform.shape[-1] / sample_rate
    px_per_s = width / span_s
    plot_top, plot_bottom = LABEL_HEIGHT, height - 1
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    step = grid_step(px_per_s / fps)
    for frame in range(0, frames + 1, step):
        x = round(frame / fps * px_per_s)
        draw.line([(x, plot_top), (x, plot_bottom)], fill=FRAME_LINE)

    level = ((column_energy_db(waveform, sample_rate, span_s, width) - FLOOR_DB) / -FLOOR_DB).clamp(0, 1)
    for x, value in enumerate(level.tolist()):
        bar = round(value * (plot_bottom - plot_top))
        if bar > 0:
            draw.line([(x, plot_bottom - bar), (x, plot_bottom)], fill=ENERGY)

    second_step = grid_step(px_per_s, SECOND_STEPS, 40)
    for second in range(0, math.floor(span_s) + 1, second_step):
        x = round(second * px_per_s)
        draw.line([(x, plot_top), (x, plot_top + 6)], fill=SECOND_TICK)
    end_x = min(width - 1, round(duration_s * px_per_s))
    draw.line([(end_x, plot_top), (end_x, plot_bottom)], fill=AUDIO_END)

    label = f"{frames} frames @ {fps:g} fps | {duration_s:.2f} s | grid every {step} frame(s), ticks {second_step} s"
    draw.text((2, 1), label, fill=SECOND_TICK)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)[None]
