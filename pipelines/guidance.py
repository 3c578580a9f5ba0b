"""Multi-condition classifier-free guidance (002 §3.4; 001 uses the two-branch special case).

Three branches ride in one batch: uncond (no reference, no audio), image (reference, no audio) and
full (reference + audio):  out = u + s_img * (i - u) + s_aud * (f - i).
Branches whose weight is zero in that sum are not computed, and equal scales s need only two branches:
u + s * (f - u), Hallo's classifier-free guidance.

Regional audio guidance: when a region slider is not 1, the audio term (f - i) is weighted per pixel by the
sliders painted over their masks (`region_audio_weight`), so a region at scale 0 takes the audio-free prediction
and one at 2 twice the audio term. The gates inside the model scale the audio the same way (000 eq. 1), but at
small latent sizes audio injected around a region leaks into it through the later layers; the weighting confines
it. With every slider at 1 the weight is 1 everywhere and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BRANCHES = ("uncond", "image", "full")


@dataclass(frozen=True)
class GuidanceScales:
    """Reference-image and audio guidance scales (Hallo 3.5 / 3.5; Sonic 2.0 / 7.5)."""

    image: float = 3.5
    audio: float = 3.5
    regional: bool = True  # weight the audio term by the region sliders (off: the sliders act inside the model only)

    def branches(self, regional: bool = False) -> tuple[str, ...]:
        """The branches the combination needs, in batch order; `regional` (a per-pixel audio weight) needs `image`."""
        if regional:
            return ("image", "full") if self.image == 1.0 else BRANCHES
        if self.image == 1.0 and self.audio == 1.0:
            return ("full",)
        if self.image == 1.0:
            return ("image", "full")
        if self.image == self.audio:
            return ("uncond", "full")
        return BRANCHES

    def combine(self, outputs: dict[str, torch.Tensor], audio_weight: torch.Tensor | None = None) -> torch.Tensor:
        """outputs: branch -> b c f h w model outputs -> guided b c f h w. audio_weight: b 1 1 h w factor on the
        audio term (from `region_audio_weight`, needs the `image` branch) or None."""
        full = outputs["full"]
        if "image" not in outputs:
            return outputs["uncond"] + self.audio * (full - outputs["uncond"]) if "uncond" in outputs else full
        image = outputs["image"]
        audio_term = full - image if audio_weight is None else audio_weight * (full - image)
        guided = image + self.audio * audio_term
        if "uncond" in outputs:
            guided = guided + (self.image - 1.0) * (image - outputs["uncond"])
        return guided


#: Fraction of a latent cell a region must cover for the cell to take that region's slider in full: a cell that
#: holds any real part of the mouth decodes mouth pixels (8x8 px of them at SD's x8), so it must not keep the audio
#: term at mouth scale 0. Below it the coverage ramps linearly, which keeps the weight soft at feathered borders.
FULL_COVERAGE = 0.1


def region_audio_weight(masks: torch.Tensor, scales: torch.Tensor) -> torch.Tensor | None:
    """Per-pixel factor on the audio term: masks b r h w (0..1, the output's latent size), scales b r -> b 1 1 h w,
    or None when every slider is 1.

    The regions are painted in the model's order, each over the ones before it (head, then mouth and eyes; Hallo:
    pose, expression, lip), so the innermost region's slider rules its pixels; outside every region the factor is 1.
    A cell counts as inside a region from FULL_COVERAGE of its area on (area-averaged masks of a small face cover
    the jaw's cells by 10-20 % only, and a soft weight there let the audio move the mouth at scale 0).
    """
    if bool((scales == 1).all()):
        return None
    weight = torch.ones_like(masks[:, 0])
    for region in range(masks.shape[1]):
        mask = (masks[:, region] / FULL_COVERAGE).clamp(max=1)
        weight = weight * (1 - mask) + scales[:, region, None, None] * mask
    return weight[:, None, None]
