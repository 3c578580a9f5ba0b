"""Speech -> face motion for the synthetic dataset, one amplitude per LinguaLinker region (paper 000 eq. 1, §3.2).

- mouth: opens with the frame's loudness and widens with its brightness (a stand-in for visemes);
- eyes: a blink at the start of each pause that follows speech (people blink at phrase boundaries), at most one per
  `BLINK_GAP` frames;
- head: nods down with the slowly smoothed loudness and sways sideways (slow sine of random period and phase).

Each region's motion is multiplied by its region scale, so a clip rendered with scale 0 keeps that region at rest,
exactly as the reference shows it. Training on such clips teaches the region sliders their meaning: the
scale that multiplies a region's audio attention (eq. 1) sets that region's motion amplitude.
Letters: f video frames.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .face_render import FaceMotion
from .speech import SpeechEnvelope

MOUTH_GAIN = 0.6  # mouth opening at full loudness and scale 1
WIDTH_GAIN = 0.3  # mouth width change from darkest to brightest speech
SILENT_LEVEL = 0.1
PAUSE_FRAMES = 3  # silent frames that make a pause (shorter gaps are stop consonants)
SPEECH_FRAMES = 3  # speaking frames that must come before it
BLINK_PROFILE = (0.5, 1.0, 1.0, 0.6, 0.2)
BLINK_GAP = 12
NOD_FRACTION = 0.035  # head nod at full smoothed loudness, as a fraction of the image size
SWAY_FRACTION = 0.03
SWAY_PERIOD_S = (2.0, 4.0)


def smoothed(values: torch.Tensor, width: int) -> torch.Tensor:
    """Moving average over `width` (odd) frames, edges replicated: f -> f."""
    padded = F.pad(values[None, None], (width // 2, width // 2), mode="replicate")
    return F.avg_pool1d(padded, width, stride=1)[0, 0]


def blink_starts(level: torch.Tensor) -> list[int]:
    """Frames where a pause begins after speech, at least BLINK_GAP frames apart."""
    silent = level < SILENT_LEVEL
    starts: list[int] = []
    for t in range(SPEECH_FRAMES, level.shape[0] - PAUSE_FRAMES + 1):
        pause = bool(silent[t : t + PAUSE_FRAMES].all())
        after_speech = not bool(silent[t - SPEECH_FRAMES : t].any())
        if pause and after_speech and (not starts or t - starts[-1] >= BLINK_GAP):
            starts.append(t)
    return starts


def eyelid_track(level: torch.Tensor) -> torch.Tensor:
    """Eyelid closure 0..1 per frame: the blink profile placed at every blink start: f -> f."""
    closure = torch.zeros_like(level)
    profile = torch.tensor(BLINK_PROFILE)
    for start in blink_starts(level):
        span = profile[: level.shape[0] - start]
        closure[start : start + span.shape[0]] = torch.maximum(closure[start : start + span.shape[0]], span)
    return closure


def face_motion(
    envelope: SpeechEnvelope, scales: dict[str, float], size: int, fps: float, generator: torch.Generator
) -> FaceMotion:
    """Motion of a face speaking this envelope with region scales {'head', 'mouth', 'eyes'} (0 = at rest)."""
    level = envelope.level
    frames = level.shape[0]
    speaking = (level > SILENT_LEVEL).float()
    mouth_open = MOUTH_GAIN * scales["mouth"] * smoothed(level, 3)
    mouth_width = 1 + WIDTH_GAIN * scales["mouth"] * (envelope.brightness - 0.5) * speaking
    eye_closure = (scales["eyes"] * eyelid_track(level)).clamp(0, 1)
    period = SWAY_PERIOD_S[0] + (SWAY_PERIOD_S[1] - SWAY_PERIOD_S[0]) * float(torch.rand(1, generator=generator))
    phase = 2 * math.pi * float(torch.rand(1, generator=generator))
    seconds = torch.arange(frames) / fps
    head_dx = scales["head"] * SWAY_FRACTION * size * torch.sin(2 * math.pi * seconds / period + phase)
    head_dy = scales["head"] * NOD_FRACTION * size * smoothed(level, 9)
    return FaceMotion(head_dx, head_dy, mouth_open, mouth_width, eye_closure)
