"""Procedural talking-portrait dataset: the training data of paper 000 §3.2, made here instead of filmed.

Every clip is a new random person (face shape, skin, hair, clothes, background), so the model has to take the
identity from the reference image; the reference is that person at rest. The motion follows the clip's espeak-ng
speech (`motion_tracks`), with one random amplitude per region. Region masks come from the painter's own geometry,
built with the same LinguaLinker box rules that RegionMaskFromLandmarks applies to detected landmarks.
Letters: f frames, r regions, h w pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..conditions import LINGUALINKER_REGIONS
from ..region_masks import RegionAreas, box_mask, lingualinker_boxes
from .face_render import FaceMotion, FaceStyle, feature_boxes, random_style, render_frames
from .motion_tracks import face_motion
from .speech import SpeechEnvelope, Utterance

#: Region scales a clip is rendered with: all 0 (still face: the "no audio" condition of CFG), all 1, or mixed.
ALL_ZERO_SCALES = 0.15
ALL_UNIT_SCALES = 0.45
SCALE_CHOICES = (0.0, 0.5, 1.0, 1.5, 2.0)


@dataclass
class TalkingClip:
    """One training clip: frames f 3 h w and reference 3 h w (RGB 0..1), region masks r h w of the reference,
    region scales r (LINGUALINKER_REGIONS order), the motion it shows, and which utterance frames it speaks."""

    frames: torch.Tensor
    reference: torch.Tensor
    masks: torch.Tensor
    scales: torch.Tensor
    motion: FaceMotion
    utterance: int
    start: int


def region_masks(style: FaceStyle, size: int, areas: RegionAreas = RegionAreas()) -> torch.Tensor:
    """Head, mouth, eyes box masks of the face at rest, by RegionMaskFromLandmarks' LinguaLinker rules: -> r h w."""
    boxes = lingualinker_boxes(feature_boxes(style), areas, (size, size))
    return torch.stack([box_mask(box, (size, size)) for box in boxes])


def random_region_scales(generator: torch.Generator) -> dict[str, float]:
    draw = float(torch.rand(1, generator=generator))
    if draw < ALL_ZERO_SCALES:
        return {region: 0.0 for region in LINGUALINKER_REGIONS}
    if draw < ALL_ZERO_SCALES + ALL_UNIT_SCALES:
        return {region: 1.0 for region in LINGUALINKER_REGIONS}
    picks = torch.randint(0, len(SCALE_CHOICES), (len(LINGUALINKER_REGIONS),), generator=generator).tolist()
    return {region: SCALE_CHOICES[i] for region, i in zip(LINGUALINKER_REGIONS, picks)}


def random_motion(generator: torch.Generator, count: int, size: int) -> FaceMotion:
    """Independent random poses (head offset, mouth, eyelids), for training the autoencoder on every state."""

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator)

    talking = (torch.rand(count, generator=generator) < 0.7).float()
    blinking = (torch.rand(count, generator=generator) < 0.5).float()
    reach = 0.06 * size
    head_dx, head_dy = uniform(-reach, reach), uniform(-reach, reach)
    mouth_open, mouth_width = talking * uniform(0, 1.2), uniform(0.85, 1.15)
    eye_closure = blinking * uniform(0, 1.5).clamp(max=1)  # a third of the blinking poses fully shut
    return FaceMotion(head_dx, head_dy, mouth_open, mouth_width, eye_closure)


def random_portraits(generator: torch.Generator, count: int, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` random people in random poses: -> images b 3 h w and their rest-pose region masks b r h w."""
    motion = random_motion(generator, count, size)
    styles = [random_style(generator, size) for _ in range(count)]
    images = torch.cat([render_frames(style, motion.slice(i, i + 1), size) for i, style in enumerate(styles)])
    return images, torch.stack([region_masks(style, size) for style in styles])


class SyntheticTalkingPortraits:
    """Clip `index` -> TalkingClip, the same for the same (seed, index); utterances are shared, people are not."""

    def __init__(self, utterances: list[Utterance], size: int = 64, fps: float = 25.0, clip_frames: int = 8, seed: int = 0):
        self.utterances, self.size, self.fps, self.clip_frames, self.seed = utterances, size, fps, clip_frames, seed
        self.envelopes: list[SpeechEnvelope] = [u.envelope(fps) for u in utterances]
        too_short = [i for i, e in enumerate(self.envelopes) if e.level.shape[0] < clip_frames]
        if too_short:
            raise ValueError(f"utterances {too_short} are shorter than {clip_frames} frames")

    def generator(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1_000_003 + index)

    def clip(self, index: int) -> TalkingClip:
        generator = self.generator(index)
        style = random_style(generator, self.size)
        utterance = int(torch.randint(0, len(self.utterances), (1,), generator=generator))
        frames = self.envelopes[utterance].level.shape[0]
        start = int(torch.randint(0, frames - self.clip_frames + 1, (1,), generator=generator))
        scales = random_region_scales(generator)
        motion = face_motion(self.envelopes[utterance], scales, self.size, self.fps, generator)
        motion = motion.slice(start, start + self.clip_frames)
        return TalkingClip(
            frames=render_frames(style, motion, self.size),
            reference=render_frames(style, FaceMotion.still(1), self.size)[0],
            masks=region_masks(style, self.size),
            scales=torch.tensor([scales[r] for r in LINGUALINKER_REGIONS]),
            motion=motion,
            utterance=utterance,
            start=start,
        )
