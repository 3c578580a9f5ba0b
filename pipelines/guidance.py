"""Multi-condition classifier-free guidance (002 §3.4; 001 uses the two-branch special case).

Three branches ride in one batch: uncond (no reference, no audio), image (reference, no audio) and
full (reference + audio):  out = u + s_img * (i - u) + s_aud * (f - i).
Branches whose weight is zero in that sum are not computed, and equal scales s need only two branches:
u + s * (f - u), Hallo's classifier-free guidance.
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

    def branches(self) -> tuple[str, ...]:
        """The branches the combination needs, in batch order."""
        if self.image == 1.0 and self.audio == 1.0:
            return ("full",)
        if self.image == 1.0:
            return ("image", "full")
        if self.image == self.audio:
            return ("uncond", "full")
        return BRANCHES

    def combine(self, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """outputs: branch -> b c f h w model outputs -> guided b c f h w."""
        full = outputs["full"]
        if "image" not in outputs:
            return outputs["uncond"] + self.audio * (full - outputs["uncond"]) if "uncond" in outputs else full
        image = outputs["image"]
        guided = image + self.audio * (full - image)
        if "uncond" in outputs:
            guided = guided + (self.image - 1.0) * (image - outputs["uncond"])
        return guided
