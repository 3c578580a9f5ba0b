"""Multi-condition classifier-free guidance (002 §3.4; 001 uses the two-branch special case).

Three branches ride in one batch: uncond (no reference, no audio), image (reference, no audio) and
full (reference + audio):  out = u + s_img * (i - u) + s_aud * (f - i).
Branches whose weight is zero in that sum are not computed, and equal scales s need only two branches:
u + s * (f - u), Hallo's classifier-free guidance.

Regional audio guidance (`regional`): the audio term (f - i) weighted per pixel by the region scales
(region_scales.py says when it applies, beside the scales' other use inside the gates).

Head audio guidance (`audio_head`): the audio scale outside the mouth (or Hallo's lip) region, where the audio
drives head and eye motion; the mouth keeps `audio`. Lip sync wants a strong audio term, the head less: on the
shipped demo model, audio CFG 2.5 everywhere overshoots the head at some pauses (smears at blinks); 1.0 outside the
mouth removes them and keeps the lip sync, but calms the head below the training data's motion and removes most
blinks (models_shipped/README.md). None: `audio` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

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
        audio term (from `region_scales.audio_term_weight`, needs the `image` branch) or None."""
        full = outputs["full"]
        if "image" not in outputs:
            return outputs["uncond"] + self.audio * (full - outputs["uncond"]) if "uncond" in outputs else full
        image = outputs["image"]
        audio_term = full - image if audio_weight is None else audio_weight * (full - image)
        guided = image + self.audio * audio_term
        if "uncond" in outputs:
            guided = guided + (self.image - 1.0) * (image - outputs["uncond"])
        return guided

