"""Multi-condition classifier-free guidance (002 §3.4; 001 uses the two-branch special case).

Three branches ride in one batch: uncond (no reference, no audio), image (reference, no audio) and
full (reference + audio):  out = u + s_img * (i - u) + s_aud * (f - i).
Branches whose weight is zero in that sum are not computed, and equal scales s need only two branches:
u + s * (f - u), Hallo's classifier-free guidance.

Regional audio guidance: when a region slider is not 1, the audio term (f - i) is weighted per pixel by the
sliders painted over their masks (`region_audio_weight`), so a region at scale 0 takes the audio-free prediction
and one at 2 twice the audio term. The gates inside the model scale the audio the same way (000 eq. 1), but at
small latent sizes audio injected around a region leaks into it through the later layers; the weighting confines
it. With every slider at 1 the weight is 1 everywhere and nothing changes. It is the default of the pack's
region-gated models; Hallo checkpoints run without it unless asked (`regional=True`): their sliders are Hallo's
pose / face / lip weights on the three audio branches inside the UNet, with Hallo's two-branch CFG.

Head audio guidance (`audio_head`): the audio scale outside the mouth (or Hallo's lip) region, where the audio
drives head and eye motion; the mouth keeps `audio`. Lip sync wants a strong audio term, the head less: on the
shipped demo model, audio CFG 2.5 everywhere overshoots the head at some pauses (smears at blinks); 1.0 outside the
mouth removes them and keeps the lip sync, but calms the head below the training data's motion and removes most
blinks (models_shipped/README.md). None: `audio` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .conditions import SLIDER_REGIONS

BRANCHES = ("uncond", "image", "full")


@dataclass(frozen=True)
class GuidanceScales:
    """Reference-image and audio guidance scales (Hallo 3.5 / 3.5; Sonic 2.0 / 7.5)."""

    image: float = 3.5
    audio: float = 3.5
    # weight the audio term by the region sliders (off: the sliders act inside the model only); None: by the model's
    # audio module (`for_audio_module`)
    regional: bool | None = None
    audio_head: float | None = None  # audio scale outside the mouth region; None: `audio` there too

    def for_audio_module(self, module: str) -> "GuidanceScales":
        """These scales with `regional` None decided by the model's audio module: on for the pack's region gates,
        off for Hallo's branches ("hallo")."""
        return self if self.regional is not None else replace(self, regional=module != "hallo")

    def head_ratio(self) -> float:
        """audio_head / audio: the factor on the audio term outside the mouth (1 when unset)."""
        return 1.0 if self.audio_head is None or self.audio == 0 else self.audio_head / self.audio

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


def audio_term_weight(masks: torch.Tensor, scales: torch.Tensor, guidance: GuidanceScales, regions: tuple[str, ...]) -> torch.Tensor | None:
    """Per-pixel factor on the audio term from the sliders (if `guidance.regional`) and the head audio guidance:
    masks b r h w, scales b r (in `regions` order) -> b 1 1 h w, or None when it is 1 everywhere."""
    sliders = scales if guidance.regional else torch.ones_like(scales)
    head = guidance.head_ratio()
    factors = torch.tensor([1.0 if region in SLIDER_REGIONS["mouth"] else head for region in regions], device=scales.device)
    return region_audio_weight(masks, sliders * factors, outside=head)


def region_audio_weight(masks: torch.Tensor, scales: torch.Tensor, outside: float = 1.0) -> torch.Tensor | None:
    """Per-pixel factor on the audio term: masks b r h w (0..1, the output's latent size), scales b r -> b 1 1 h w,
    `outside` where no region is; None when every scale and `outside` are 1.

    The regions are painted in the model's order, each over the ones before it (head, then mouth and eyes; Hallo:
    pose, expression, lip), so the innermost region's slider rules its pixels.
    A cell counts as inside a region from FULL_COVERAGE of its area on (area-averaged masks of a small face cover
    the jaw's cells by 10-20 % only, and a soft weight there let the audio move the mouth at scale 0).
    """
    if bool((scales == 1).all()) and outside == 1:
        return None
    weight = torch.full_like(masks[:, 0], outside)
    for region in range(masks.shape[1]):
        mask = (masks[:, region] / FULL_COVERAGE).clamp(max=1)
        weight = weight * (1 - mask) + scales[:, region, None, None] * mask
    return weight[:, None, None]
