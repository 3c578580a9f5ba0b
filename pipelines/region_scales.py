"""Region scales: how strongly the audio moves each face region (LinguaLinker's motion-frequency sliders, 000 §3.1).

One name from the widget to the gate: GatedUNetSample's head_scale / mouth_scale / eyes_scale (the render
command's --head / --mouth / --eyes) become a `RegionScales`, then `VideoConditions.region_scales` (b r, in the
model's region order) and the `region_scales` argument of the model's audio modules. They act in two ways:

- In the gate (`gate_region_scales`), always: each region's audio is multiplied by its scale inside the model
  (000 eq. 1; Hallo checkpoints: the weights of the pose / expression / lip branches, 001 eq. 10). In a CFG branch
  without audio the pack's models take 0; Hallo's uncond branch keeps the scales (its model zeroes the audio
  tokens instead).
- On the CFG audio term (`audio_term_weight`), when guidance is regional and a scale is not 1 (or a head audio
  scale is set): the term (full - image) is weighted per pixel by the scales painted over their masks, so a region
  at 0 takes the audio-free prediction and one at 2 twice the audio term. At small latent sizes audio injected
  around a region leaks into it through the later layers; the weighting confines it. Regional guidance is the
  default of the pack's region-gated models and off for Hallo checkpoints (`GuidanceScales.for_audio_module`).

Letters: b batch, r regions, h w latent height width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import PortraitModelConfig
from .errors import PortraitInputError
from .guidance import GuidanceScales

#: Slider -> the region it drives in each layout (Hallo's pose / lip / expression follow head / mouth / eyes).
SLIDER_REGIONS = {"head": ("head", "pose"), "mouth": ("mouth", "lip"), "eyes": ("eyes", "expression")}

#: Fraction of a latent cell a region must cover for the cell to take that region's scale in full: a cell that
#: holds any real part of the mouth decodes mouth pixels (8x8 px of them at SD's x8), so it must not keep the audio
#: term at mouth scale 0. Below it the coverage ramps linearly, which keeps the weight soft at feathered borders.
FULL_COVERAGE = 0.1


@dataclass(frozen=True)
class RegionScales:
    """The three sliders: 0 = no audio-driven motion in the region, 1 = as trained, 2 = exaggerated."""

    head: float = 1.0
    mouth: float = 1.0
    eyes: float = 1.0

    def for_regions(self, regions: tuple[str, ...]) -> torch.Tensor:
        """The scales in a model's region order -> 1 r; a region no slider drives is an error."""
        by_region = {region: getattr(self, slider) for slider, names in SLIDER_REGIONS.items() for region in names}
        unknown = [r for r in regions if r not in by_region]
        if unknown:
            raise PortraitInputError("model", f"regions {unknown} have no slider", "use a model with head/mouth/eyes or Hallo regions")
        return torch.tensor([[by_region[r] for r in regions]], dtype=torch.float32)


def gate_region_scales(config: PortraitModelConfig, region_scales: torch.Tensor, branches: tuple[str, ...]) -> torch.Tensor:
    """The scales the audio modules get in each CFG branch: region_scales b r -> (k b) r, branches in batch order."""
    return torch.cat([region_scales * _branch_factor(config, branch) for branch in branches])


def _branch_factor(config: PortraitModelConfig, branch: str) -> float:
    if branch == "full" or (branch == "uncond" and config.uncond_branch == "hallo"):
        return 1.0
    return 0.0


def audio_term_weight(masks: torch.Tensor, region_scales: torch.Tensor, guidance: GuidanceScales, regions: tuple[str, ...]) -> torch.Tensor | None:
    """Per-pixel factor on the CFG audio term from the scales (if `guidance.regional`) and the head audio guidance:
    masks b r h w, region_scales b r (in `regions` order) -> b 1 1 h w, or None when it is 1 everywhere."""
    painted = region_scales if guidance.regional else torch.ones_like(region_scales)
    head = guidance.head_ratio()
    factors = torch.tensor([1.0 if region in SLIDER_REGIONS["mouth"] else head for region in regions], device=region_scales.device)
    return region_audio_weight(masks, painted * factors, outside=head)


def region_audio_weight(masks: torch.Tensor, region_scales: torch.Tensor, outside: float = 1.0) -> torch.Tensor | None:
    """Per-pixel factor on the audio term: masks b r h w (0..1, the output's latent size), region_scales b r ->
    b 1 1 h w, `outside` where no region is; None when every scale and `outside` are 1.

    The regions are painted in the model's order, each over the ones before it (head, then mouth and eyes; Hallo:
    pose, expression, lip), so the innermost region's scale rules its pixels.
    A cell counts as inside a region from FULL_COVERAGE of its area on (area-averaged masks of a small face cover
    the jaw's cells by 10-20 % only, and a soft weight there let the audio move the mouth at scale 0).
    """
    if bool((region_scales == 1).all()) and outside == 1:
        return None
    weight = torch.full_like(masks[:, 0], outside)
    for region in range(masks.shape[1]):
        mask = (masks[:, region] / FULL_COVERAGE).clamp(max=1)
        weight = weight * (1 - mask) + region_scales[:, region, None, None] * mask
    return weight[:, None, None]
