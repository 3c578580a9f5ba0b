"""PortraitModelFromBase in the host: SD1.5 + AnimateDiff files from the user's model folders become a model."""

from __future__ import annotations

import pytest
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

from pipelines.config import PortraitModelConfig
from pipelines.portrait_model import PortraitModel
from scripts.comfy_host import PromptFailed

TINY = PortraitModelConfig.named("tiny")


def _prompt(unet_name: str, motion_name: str) -> dict:
    return {
        "1": {"class_type": "PortraitModelFromBase", "inputs": {
            "sd15_unet": unet_name, "motion_module": motion_name, "config": "tiny", "dtype": "fp32"}},
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
    }


def test_base_weights_build_a_model_and_a_wrong_motion_file_is_named(comfy_host):
    torch.manual_seed(0)
    unet_dir = comfy_host.models_dir / "diffusion_models"
    motion_dir = comfy_host.models_dir / "animatediff_models"
    unet_dir.mkdir(parents=True, exist_ok=True)
    motion_dir.mkdir(parents=True, exist_ok=True)
    save_file(UNet2DConditionModel(**TINY.unet.diffusers_kwargs()).state_dict(), str(unet_dir / "tiny_sd15_unet.safetensors"))
    motion = {k: v for k, v in PortraitModel(TINY).denoising_unet.state_dict().items() if ".motion_modules." in k}
    save_file(motion, str(motion_dir / "tiny_mm.safetensors"))
    save_file({**motion, "mid_block.motion_modules.7.stray": torch.zeros(1)}, str(motion_dir / "bad_mm.safetensors"))

    entry = comfy_host.run_prompt(_prompt("tiny_sd15_unet.safetensors", "tiny_mm.safetensors"))
    assert entry["status"]["status_str"] == "success"
    with pytest.raises(PromptFailed) as failure:
        comfy_host.run_prompt(_prompt("tiny_sd15_unet.safetensors", "bad_mm.safetensors"))
    message = " ".join(e.get("exception_message", "") for e in failure.value.errors)
    assert "bad_mm.safetensors" in message and "mid_block.motion_modules.7.stray" in message
