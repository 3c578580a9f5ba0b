"""Pack-native checkpoints and initialisation from the base weights users own.

Pack-native format: one safetensors file holding the PortraitModel state dict, with its JSON config in
the metadata (`gated_portrait_config`), so a loader can check audio-encoder compatibility before sampling.
Base weights: an SD1.5 UNet (diffusers folder, diffusers-named file, or original single-file checkpoint)
fills the ReferenceNet and the denoiser's 2D part; AnimateDiff's `mm_sd_v15_v2.ckpt` fills the temporal
modules. Both are checked strictly.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel
from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint
from safetensors.torch import save_file

from .checkpoint_io import compare_keys, load_strict, read_safetensors_metadata, read_state_dict
from .config import PortraitModelConfig
from .errors import CheckpointError
from .portrait_model import PortraitModel

CONFIG_KEY = "gated_portrait_config"
LDM_UNET_PREFIX = "model.diffusion_model."
SD_HEAD = ("conv_norm_out.weight", "conv_norm_out.bias", "conv_out.weight", "conv_out.bias")


def save_portrait_model(model: PortraitModel, path: str | Path) -> None:
    """Write the model and its config to one safetensors file."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={CONFIG_KEY: model.config.to_json(), "format": "pt"})


def read_portrait_config(path: str | Path) -> PortraitModelConfig:
    """The config embedded in a pack-native checkpoint."""
    metadata = read_safetensors_metadata(
        path, "Fix: pick a .safetensors model saved by this pack (python -m apps.train writes them), or download "
        "or export it again",
    )
    if CONFIG_KEY not in metadata:
        raise CheckpointError(
            f"{path}: no '{CONFIG_KEY}' metadata, so it is not a GatedPortrait model. Fix: pick a model saved by "
            "this pack (python -m apps.train writes them), or load SD1.5 + motion-module base weights."
        )
    try:
        return PortraitModelConfig.from_dict(json.loads(metadata[CONFIG_KEY]))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: its embedded config is invalid ({error}).") from error


def load_portrait_model(path: str | Path, dtype: torch.dtype = torch.float32) -> PortraitModel:
    """Build the model on the meta device and fill it from a pack-native file (never held twice in RAM)."""
    config = read_portrait_config(path)
    with torch.device("meta"):
        model = PortraitModel(config)
    load_strict(model, read_state_dict(path), str(path), assign=True)
    return model.to(dtype).eval()


def replicate(model: PortraitModel, device: torch.device) -> PortraitModel:
    """A copy of a loaded model with its own weights on `device` (built on meta: nothing is initialised twice)."""
    with torch.device("meta"):
        replica = PortraitModel(model.config)
    state = {name: tensor.detach().to(device, copy=True) for name, tensor in model.state_dict().items()}
    replica.load_state_dict(state, strict=True, assign=True)
    return replica.eval()


def sd15_unet_state_dict(path: str | Path, config: PortraitModelConfig) -> dict[str, torch.Tensor]:
    """An SD1.5 UNet in diffusers naming from a diffusers folder, a diffusers file or an LDM single file."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / "unet" / n for n in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")]
        candidates += [path / n for n in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise CheckpointError(f"{path}: no diffusion_pytorch_model.safetensors in the folder or its unet/ sub-folder.")
        return read_state_dict(found)
    weights = read_state_dict(path)
    if any(k.startswith(LDM_UNET_PREFIX) for k in weights):
        with torch.device("meta"):
            diffusers_config = UNet2DConditionModel(**config.unet.diffusers_kwargs()).config
        return convert_ldm_unet_checkpoint(weights, dict(diffusers_config))
    return weights


def init_from_base(config: PortraitModelConfig, sd15_path: str | Path, motion_path: str | Path | None = None) -> PortraitModel:
    """A PortraitModel whose ReferenceNet and 2D denoiser come from SD1.5 and temporal modules from AnimateDiff."""
    model = PortraitModel(config)
    unet = sd15_unet_state_dict(sd15_path, config)
    reference = {k: v for k, v in unet.items() if k not in SD_HEAD}
    load_strict(model.reference_net, reference, str(sd15_path))
    denoiser_2d = {k: v for k, v in model.denoising_unet.state_dict().items() if ".motion_modules." not in k and ".audio_modules." not in k}
    report = compare_keys({k: tuple(v.shape) for k, v in denoiser_2d.items()}, unet)
    if not report.clean:
        raise CheckpointError(f"{sd15_path}: not an SD1.5-shaped UNet for this config: {report.describe()}.")
    model.denoising_unet.load_state_dict(unet, strict=False)
    if motion_path is not None:
        load_motion_modules(model, motion_path)
    return model


def load_motion_modules(model: PortraitModel, path: str | Path) -> None:
    """Fill the temporal modules from an AnimateDiff motion-module file; every key must fit."""
    motion = read_state_dict(path)
    expected = {k: tuple(v.shape) for k, v in model.denoising_unet.state_dict().items() if ".motion_modules." in k}
    report = compare_keys(expected, motion)
    if not report.clean:
        raise CheckpointError(f"{path}: not an AnimateDiff v2 motion module for this model: {report.describe()}.")
    model.denoising_unet.load_state_dict(motion, strict=False)
