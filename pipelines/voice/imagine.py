"""Voice attributes -> an imagined portrait: its traits, the painter's image and face box, a prompt and a seed for a
text-to-image model. The same voice gives the same seed and face; `variation` moves within the voice's family."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..train.face_render import feature_boxes
from .attributes import VoiceAttributes
from .portrait_traits import PortraitTraits, face_style, paint_portrait, portrait_traits
from .portrait_words import DEFAULT_STYLE, portrait_prompt
from .voice_seed import VoiceProjection, mix_seed


@dataclass(frozen=True)
class ImaginedPortrait:
    """image 1 h w 3 (0..1); face_box 'x,y,w,h' pixels of the painted face."""

    traits: PortraitTraits
    image: torch.Tensor
    face_box: str
    prompt: str
    seed: int
    voice_code: int


def imagine_portrait(attributes: VoiceAttributes, projection: VoiceProjection, style: str = DEFAULT_STYLE,
                     variation: int = 0, size: int = 64) -> ImaginedPortrait:
    traits = portrait_traits(attributes, projection.smoothed_coordinates(attributes.embedding))
    code = projection.code(attributes.embedding)
    painted = face_style(traits, mix_seed(code, variation) if variation else 0, size)
    face = feature_boxes(painted).face
    return ImaginedPortrait(
        traits=traits, image=paint_portrait(painted, size),
        face_box=f"{face.x0:.1f},{face.y0:.1f},{face.x1 - face.x0:.1f},{face.y1 - face.y0:.1f}",
        prompt=portrait_prompt(traits, style), seed=mix_seed(code, variation), voice_code=code,
    )
