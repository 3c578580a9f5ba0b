"""Hallo's released `net.pth` (paper 001) loaded strictly into the pack's PortraitModel with the Hallo config.

`net.pth` is one flat dict of the five trained networks, each key `<prefix>.<key>`; the prefix is the attribute
name in Hallo's inference wrapper. Every key must be used and every shape must fit (2656 keys for the release),
otherwise a CheckpointError names the file and the differing keys in the file's own naming. The file is read
with `torch.load(weights_only=True)` only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from .checkpoint_io import compare_keys, read_state_dict
from .config import PortraitModelConfig
from .errors import CheckpointError
from .portrait_model import PortraitModel

#: net.pth prefix -> PortraitModel attribute holding that network.
HALLO_PREFIXES = {
    "reference_unet": "reference_net",
    "denoising_unet": "denoising_unet",
    "face_locator": "face_locator",
    "imageproj": "identity_proj",
    "audioproj": "audio_proj",
}


def hallo_config(
    net_pth: str | Path | None = None, train_mode_quirk: bool = True, reference_encoding: str = "hallo_cfg_rows"
) -> PortraitModelConfig:
    """The architecture of a net.pth: a PortraitModelConfig JSON next to it (`net.json` for `net.pth`, for
    fine-tunes of other sizes and the tests' tiny files), else `configs/hallo.json` (the release).

    train_mode_quirk (the config's `motion.reference_motion_frames` / `motion.skip_blocks`) reproduces the released
    inference exactly: Hallo's denoiser runs in training mode at inference, so its gradient-checkpointing branches run: the
    ReferenceNet features of 2 motion frames lead every temporal module's sequence, and the temporal modules of
    `down_blocks.3` / `up_blocks.0` never run. Without the quirk: no motion frames, all temporal modules run (the
    eval-mode branch of Hallo's code, which its weights were not trained for).

    reference_encoding (the config's field of that name): "hallo_cfg_rows" encodes and pairs the reference and motion
    frames with the CFG halves as the released pipeline does; "cond_identity" encodes each once with the face's identity.
    """
    sidecar = None if net_pth is None else Path(net_pth).with_suffix(".json")
    if sidecar is not None and sidecar.is_file():
        try:
            config = PortraitModelConfig.from_json(sidecar.read_text())
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{sidecar}: not a valid model config ({error}). Fix: delete it to use Hallo's release config.") from error
    else:
        config = PortraitModelConfig.named("hallo")
    config = dataclasses.replace(config, reference_encoding=reference_encoding)
    if train_mode_quirk:
        return config
    motion = dataclasses.replace(config.motion, skip_blocks=(), reference_motion_frames=0)
    return dataclasses.replace(config, motion=motion)


def hallo_key_shapes(model: PortraitModel) -> dict[str, tuple[int, ...]]:
    """Every entry a net.pth for this model must hold, in the file's naming: key -> shape."""
    return {key: tuple(value.shape) for key, value in hallo_state_dict(model).items()}


def hallo_state_dict(model: PortraitModel) -> dict[str, torch.Tensor]:
    """The model's weights in net.pth naming (what Hallo's training script saves)."""
    return {
        f"{prefix}.{key}": value
        for prefix, attribute in HALLO_PREFIXES.items()
        for key, value in getattr(model, attribute).state_dict().items()
    }


def load_hallo_state_dict(model: PortraitModel, state: dict[str, torch.Tensor], source: str, assign: bool = False) -> None:
    """Load a net.pth-style dict into the model: all keys used, all shapes right, or a CheckpointError."""
    report = compare_keys(hallo_key_shapes(model), state)
    if not report.clean:
        raise CheckpointError(
            f"{source}: does not match Hallo's net.pth layout for this config: {report.describe()}. "
            "Fix: use the released pretrained_models/hallo/net.pth unchanged."
        )
    renamed = {}
    for key, value in state.items():
        prefix, rest = key.split(".", 1)
        renamed[f"{HALLO_PREFIXES[prefix]}.{rest}"] = value
    model.load_state_dict(renamed, strict=True, assign=assign)


def load_hallo_model(
    net_pth: str | Path,
    dtype: torch.dtype = torch.float32,
    config: PortraitModelConfig | None = None,
    train_mode_quirk: bool = True,
    reference_encoding: str = "hallo_cfg_rows",
) -> PortraitModel:
    """Build the Hallo-config model on the meta device and fill it from net.pth (weights only, strict)."""
    config = config or hallo_config(net_pth, train_mode_quirk, reference_encoding)
    with torch.device("meta"):
        model = PortraitModel(config)
    load_hallo_state_dict(model, read_state_dict(net_pth), str(net_pth), assign=True)
    return model.to(dtype).eval()
