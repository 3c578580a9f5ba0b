"""Encoding audio of any length in overlapping windows, cross-faded in feature space.

Transformer attention is quadratic in its input, and Whisper (paper 002 §3.1) only takes 30 s at a time, so the
feature sequence is produced window by window (default 30 s, 4 s overlap) and the windows are blended with linear
ramps over their overlaps. Memory is linear in the audio length: one window's activations plus the output sequence.
Audio no longer than one window is encoded in a single pass, identical to one-shot encoding.

Letters: b batch, t samples, n sequence items, c channels.
"""

from __future__ import annotations

from typing import Callable

import torch

from .encoders import AudioEncoder, Track

DEFAULT_WINDOW_S = 30.0
DEFAULT_OVERLAP_S = 4.0


def window_spans(total: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Spans [start, stop) of `window` items covering 0..total, neighbours overlapping by at least `overlap`.

    The last span is shifted back to end at `total`, so every span has full context.
    """
    if total <= window:
        return [(0, total)]
    hop = window - overlap
    starts = list(range(0, total - window, hop)) + [total - window]
    return [(start, start + window) for start in starts]


def fade_weights(start: int, stop: int, total: int, ramp: int) -> torch.Tensor:
    """Blend weight of each item of a span: linear ramps of `ramp` items on edges inside the track, else 1: n."""
    index = torch.arange(start, stop, dtype=torch.float32)
    weight = torch.ones(stop - start)
    if start > 0:
        weight = torch.minimum(weight, (index - start + 1) / (ramp + 1))
    if stop < total:
        weight = torch.minimum(weight, (stop - index) / (ramp + 1))
    return weight


def encode_windowed(
    encoder: AudioEncoder,
    track: Track,
    frames: int,
    fps: float,
    window_s: float = DEFAULT_WINDOW_S,
    overlap_s: float = DEFAULT_OVERLAP_S,
    callback: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """The encoder's feature sequence of a prepared track, window by window, gathered on the CPU: b n c.

    `callback(done, total)` is called after each window (it may raise to cancel).
    """
    total = encoder.sequence_length(track.samples, frames)
    rate = encoder.items_per_second(fps)
    window = max(1, round(window_s * rate))
    if encoder.max_window_items() is not None:
        window = min(window, encoder.max_window_items())
    ramp = min(round(overlap_s * rate), window // 2)
    spans = window_spans(total, window, ramp)
    blended = weight_sum = None
    for done, (start, stop) in enumerate(spans, start=1):
        features = encoder.encode_span(track, start, stop, frames).float().cpu()  # b n c
        if blended is None:
            blended = torch.zeros(features.shape[0], total, features.shape[-1])
            weight_sum = torch.zeros(total)
        weight = fade_weights(start, stop, total, ramp)
        blended[:, start:stop] += features * weight[None, :, None]
        weight_sum[start:stop] += weight
        if callback is not None:
            callback(done, len(spans))
    return blended / weight_sum[None, :, None]
