"""Voice attributes -> portrait traits on 0..1 scales, and the procedural painter's face drawn from them.

The face follows who speaks: pitch and vocal-tract length, and the smoothed voice coordinates of the speaker
embedding (voice_seed.VoiceProjection.smoothed_coordinates) through the normal CDF, continuously. How the utterance
is spoken (loudness dynamics, pace) is the expression, which only the prompt words show: it changes from one
recording to the next. None of this is learned from voice-face pairs: the mapping is a fixed rule (README "A face
from a voice"). `variation` > 0 redraws what a voice does not tell (hair colour and style, eye colour, clothes,
background) and shifts the face geometry a little, within the voice's family.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import astuple, dataclass

import numpy as np
import torch

from ..train.face_render import FaceMotion, FaceStyle, render_frames
from .attributes import VoiceAttributes

#: Pitch and vocal-tract length that read as clearly feminine (0) and clearly masculine (1): typical adult means
#: (F0 about 210 / 110 Hz; vocal tract about 14.5 / 17.5 cm).
FEMININE_F0_HZ, MASCULINE_F0_HZ = 210.0, 110.0
SHORT_TRACT_CM, LONG_TRACT_CM = 14.0, 18.0
#: Speaking rates (syllables per second) of slow and fast speech.
SLOW_PACE, FAST_PACE = 3.0, 6.5
#: How far a variation moves the face geometry (on the 0..1 trait scales).
VARIATION_SHIFT = 0.08


@dataclass(frozen=True)
class PortraitTraits:
    """What a portrait shows, each 0..1: the face (who speaks) and the expression (how this utterance is spoken)."""

    masculinity: float  # pitch and vocal-tract length
    face_length: float  # vocal-tract length
    face_width: float  # voice coordinates from here to age
    skin_tone: float
    hair_shade: float
    hair_hue: float
    eye_size: float
    age: float
    liveliness: float  # expression: loudness dynamics and pace
    pace: float

    def face_vector(self) -> np.ndarray:
        """The face's parameters (all but the expression), 8."""
        return np.asarray(astuple(self)[:FACE_TRAITS], dtype=np.float64)


#: How many of PortraitTraits' fields describe the face.
FACE_TRAITS = 8


def _scale(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


def _cdf(value: float) -> float:
    return 0.5 * (1.0 + math.erf(value / math.sqrt(2.0)))


def portrait_traits(attributes: VoiceAttributes, coordinates: torch.Tensor) -> PortraitTraits:
    """Attributes and voice coordinates c (c >= 4) -> traits. The first four coordinates separate voices best
    (voice_seed), so each identity trait follows one of them or the normalised sum or difference of two."""
    pitch = _scale(math.log(attributes.f0_median_hz), math.log(FEMININE_F0_HZ), math.log(MASCULINE_F0_HZ))
    tract = _scale(attributes.vocal_tract_cm, SHORT_TRACT_CM, LONG_TRACT_CM)
    c = [float(value) for value in coordinates[:4]]
    return PortraitTraits(
        masculinity=0.5 * (pitch + tract), face_length=tract,
        face_width=_cdf(c[0]), skin_tone=_cdf(c[1]), hair_shade=_cdf(c[2]), hair_hue=_cdf(c[3]),
        eye_size=_cdf((c[0] - c[2]) / math.sqrt(2)), age=_cdf((c[1] - c[3]) / math.sqrt(2)),
        liveliness=attributes.loudness_dynamics, pace=_scale(attributes.syllables_per_second, SLOW_PACE, FAST_PACE),
    )


def _varied(traits: PortraitTraits, generator: torch.Generator) -> PortraitTraits:
    values = np.asarray(astuple(traits))
    shifts = (torch.rand(len(values), generator=generator) * 2 - 1) * VARIATION_SHIFT
    return PortraitTraits(*np.clip(values + shifts.double().numpy(), 0.0, 1.0).tolist())


def _between(low: float, high: float, amount: float) -> float:
    return low + (high - low) * amount


def face_style(traits: PortraitTraits, variation: int = 0, size: int = 64) -> FaceStyle:
    """Traits -> the painter's FaceStyle for a `size` px portrait; variation 0 keeps what the voice gives, other
    values (a seed, e.g. voice_seed.mix_seed of the voice code and the user's variation) redraw the rest."""
    generator = torch.Generator().manual_seed(variation)
    if variation:
        traits = _varied(traits, generator)
    masculine, age = traits.masculinity, traits.age
    a = size * _between(0.205, 0.265, 0.6 * traits.face_width + 0.4 * masculine)
    skin = colorsys.hsv_to_rgb(_between(0.03, 0.09, traits.skin_tone), _between(0.25, 0.55, traits.skin_tone),
                               _between(0.92, 0.40, traits.skin_tone))
    grey = max(0.0, age - 0.6) / 0.4  # older faces grey
    hair_rgb = colorsys.hsv_to_rgb(_between(0.02, 0.12, traits.hair_hue), _between(0.7, 0.3, traits.hair_shade),
                                   _between(0.85, 0.08, traits.hair_shade))
    hair = tuple(float(c) * (1 - grey) + 0.72 * grey for c in hair_rgb)
    lips = colorsys.hsv_to_rgb(0.97, _between(0.65, 0.35, masculine), _between(0.75, 0.5, age))
    if variation:  # what a voice does not tell: drawn afresh
        hair = colorsys.hsv_to_rgb(*(float(v) for v in torch.rand(3, generator=generator) * torch.tensor([1.0, 0.8, 0.8])))
    palette = torch.rand(9, generator=generator).tolist()
    return FaceStyle(
        centre_x=size * 0.5, centre_y=size * 0.47, half_width=a,
        half_height=a * _between(1.2, 1.4, traits.face_length),
        skin=skin, hair=hair, lips=lips,
        iris=colorsys.hsv_to_rgb(palette[0], 0.6, _between(0.15, 0.45, palette[1])),
        shirt=colorsys.hsv_to_rgb(palette[2], 0.5, _between(0.25, 0.85, palette[3])),
        background_top=colorsys.hsv_to_rgb(palette[4], 0.25, _between(0.55, 0.95, palette[5])),
        background_bottom=colorsys.hsv_to_rgb(palette[6], 0.3, _between(0.4, 0.8, palette[7])),
        hair_width=_between(1.05, 1.3, 1 - masculine),
        hair_height=_between(1.0, 1.25, 1 - masculine),
        fringe=_between(0.15, 0.3, palette[8]) if masculine < 0.5 or variation else 0.0,
        shading=_between(-0.1, 0.1, traits.hair_hue),
        eye_scale=_between(0.85, 1.15, 0.6 * traits.eye_size + 0.4 * (1 - masculine)),
        mouth_scale=_between(0.85, 1.15, 0.5 * traits.face_width + 0.5 * (1 - traits.age)),
    )


def paint_portrait(style: FaceStyle, size: int = 64) -> torch.Tensor:
    """FaceStyle -> IMAGE 1 h w 3 (0..1), the face at rest."""
    return render_frames(style, FaceMotion.still(1), size).permute(0, 2, 3, 1)
