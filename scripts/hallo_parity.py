"""Hallo's original inference at a tiny size, as stored by scripts/make_hallo_parity_fixture.py, the pack's model and
conditions built from the same weights and inputs, and the Hallo behaviours that can be switched back off
(`REVERTS`, for the tests and bench/hallo_parity.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

import pipelines.portrait_model as portrait_model
from pipelines.conditions import VideoConditions
from pipelines.config import PortraitModelConfig
from pipelines.guidance import GuidanceScales
from pipelines.hallo_checkpoint import load_hallo_state_dict
from pipelines.hallo_reference_rows import COND
from pipelines.portrait_model import PortraitModel
from pipelines.reference_attention import ReferenceBank
from pipelines.sampler import SamplerSettings, SamplingRun, _branch_outputs, reference_clip

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "hallo_parity.safetensors"


@dataclass
class HalloRun:
    """One recorded FaceAnimatePipeline clip: tensors by name (noise, unet_input, unet_output, latents_<step>, ...)."""

    tensors: dict[str, torch.Tensor]
    scales: tuple[float, float, float]

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]


@dataclass
class HalloParityFixture:
    config: PortraitModelConfig
    weights: dict[str, torch.Tensor]
    inputs: dict[str, torch.Tensor]
    runs: dict[str, HalloRun]
    settings: dict
    metadata: dict[str, str]
    variants: dict[str, torch.Tensor]  # Hallo's final latents of the later clip with one of its own inputs changed

    def model(self, **changes) -> PortraitModel:
        """The pack's model (fp32, eval) holding the fixture's weights; Hallo's encoding unless `changes` say otherwise."""
        model = PortraitModel(dataclasses.replace(self.config, **{"reference_encoding": "hallo_cfg_rows", **changes}))
        load_hallo_state_dict(model, self.weights, str(FIXTURE))
        return model.eval()

    def conditions(self, run: str) -> VideoConditions:
        """The run's inputs as the sampler takes them (masks at latent size, sliders in pose/expression/lip order)."""
        audio = self.inputs["audio_windows"]
        return VideoConditions(
            reference_latent=self.runs[run]["reference_latent"],
            audio_blocks=audio.reshape(1, audio.shape[0], audio.shape[1], -1),
            silence_block=torch.zeros(audio.shape[1], audio.shape[2] * audio.shape[3]),
            masks=self.inputs["latent_masks"][None],
            region_scales=torch.tensor([self.runs[run].scales]),
            face_embedding=self.inputs["face_embedding"],
            face_image=self.inputs["face_region"][None],
        )

    def motion_latents(self, run: str) -> torch.Tensor:
        """1 m c h w: the motion frames' VAE latents Hallo's ReferenceNet encoded."""
        return self.runs[run]["motion_latents"][None]

    def unet_halves(self, model: PortraitModel, run: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The pack's uncond and cond outputs (1 c f h w each) for Hallo's first denoiser call of the run."""
        cond, recorded = self.conditions(run), self.runs[run]
        with torch.no_grad():
            reference = model.encode_reference(cond.reference_latent, motion_latents=self.motion_latents(run), **cond.face_inputs())
            return _branch_outputs(
                model, recorded["unet_input"][:1], recorded["unet_timestep"], reference, cond.audio_blocks, cond,
                ("uncond", "full"), torch.tensor([0]), None,
            )

    def clip_latents(self, model: PortraitModel, run: str, guidance: GuidanceScales = GuidanceScales(3.5, 3.5)) -> list[torch.Tensor]:
        """The pack's latents after every step of the run's clip (the sampler's defaults, Hallo's steps and noise)."""
        cond, recorded = self.conditions(run), self.runs[run]
        motion = None if run == "first" else self.motion_latents(run)
        steps = []
        with torch.no_grad():
            reference_clip(
                SamplingRun(model, cond, SamplerSettings(steps=self.settings["steps"], guidance=guidance)), recorded["noise"],
                cond.audio_blocks, motion, on_step=lambda x: steps.append(x.clone()),
            )
        return steps

    def final_difference(self, model: PortraitModel, run: str = "later", hallo: str | None = None, **kwargs) -> float:
        """Max abs difference of the pack's final latents to Hallo's (`hallo`: a recorded variant's, e.g.
        "later_bilinear_masks"; default the run's own)."""
        final = self.clip_latents(model, run, **kwargs)[-1]
        expected = self.variants[hallo] if hallo else self.runs[run][f"latents_{self.settings['steps'] - 1}"]
        return float((final - expected).abs().max())


def load_fixture() -> HalloParityFixture:
    tensors, groups = {}, {}
    with safe_open(str(FIXTURE), "pt") as file:
        metadata = file.metadata()
        for key in file.keys():
            tensors[key] = file.get_tensor(key).float()
    for key, value in tensors.items():
        group, name = key.split(".", 1)
        groups.setdefault(group, {})[name] = value
    settings = json.loads(metadata["settings"])
    runs = {
        "first": HalloRun(groups["first"], (1.0, 1.0, 1.0)),
        "later": HalloRun(groups["later"], tuple(settings["later_scales"])),
    }
    last = f"latents_{settings['steps'] - 1}"
    variants = {name: groups[name][last] for name in ("later_bilinear_masks", "later_vae_roundtrip")}
    return HalloParityFixture(
        PortraitModelConfig.from_json(metadata["pack_config"]), groups["weights"], groups["inputs"], runs, settings,
        metadata, variants,
    )


def _without_frame_interleave(half, frames, images, halves):
    return torch.full((frames,), COND)


def _without_motion_pairing(half, images, halves):
    return torch.full((images - 1,), COND)


MASKED_KEYS = ReferenceBank.keys_for


def _uncond_rows_see_the_reference(bank, name, rows):
    reference, _ = MASKED_KEYS(bank, name, rows)
    return reference, None


#: Hallo behaviours of the pack's Hallo path, each switched back off: name -> (owner, attribute, replacement).
REVERTS = {
    "reference tokens the same for every frame": (portrait_model, "reference_identities", _without_frame_interleave),
    "motion frames encoded with the face's identity in both halves": (portrait_model, "motion_identities", _without_motion_pairing),
    "fp32 banks": (portrait_model, "BANK_DTYPE", torch.float32),
    "uncond half attends to the reference": (ReferenceBank, "keys_for", _uncond_rows_see_the_reference),
}


@contextlib.contextmanager
def reverted(name: str):
    """One of REVERTS in effect inside the block."""
    owner, attribute, replacement = REVERTS[name]
    original = getattr(owner, attribute)
    setattr(owner, attribute, replacement)
    try:
        yield
    finally:
        setattr(owner, attribute, original)
