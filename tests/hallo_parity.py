"""Hallo's original inference at a tiny size, as stored by scripts/make_hallo_parity_fixture.py, and the pack's
model and conditions built from the same weights and inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from pipelines.config import PortraitModelConfig
from pipelines.hallo_checkpoint import load_hallo_state_dict
from pipelines.portrait_model import PortraitModel
from pipelines.sampler import VideoConditions

FIXTURE = Path(__file__).parent / "fixtures" / "hallo_parity.safetensors"


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

    def model(self, config: PortraitModelConfig | None = None) -> PortraitModel:
        """The pack's model (fp32, eval) holding the fixture's weights."""
        model = PortraitModel(config or self.config)
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
    return HalloParityFixture(
        PortraitModelConfig.from_json(metadata["pack_config"]), groups["weights"], groups["inputs"], runs, settings,
        metadata,
    )
