"""Hallo's released `net.pth` (paper 001) loaded strictly into the pack's PortraitModel with the Hallo config.

`net.pth` is one flat dict of the five trained networks, each key `<prefix>.<key>`; the prefix is the attribute
name in Hallo's inference wrapper. Every key must be used and every shape must fit (2656 keys for the release),
otherwise a CheckpointError names the file and the differing keys in the file's own naming. The file is read
with `torch.load(weights_only=True)` only; `convert_net_to_safetensors` writes it once as `net.safetensors`, which
loads the same way (and which the ComfyUI front end can check, unlike a pickle).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

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


def check_hallo_layout(model: PortraitModel, state: dict[str, torch.Tensor], source: str) -> None:
    """CheckpointError naming the differing keys unless `state` has exactly the model's net.pth keys and shapes."""
    report = compare_keys(hallo_key_shapes(model), state)
    if not report.clean:
        raise CheckpointError(
            f"{source}: does not match Hallo's net.pth layout for this config: {report.describe()}. "
            "Fix: use the released pretrained_models/hallo/net.pth unchanged."
        )


def load_hallo_state_dict(model: PortraitModel, state: dict[str, torch.Tensor], source: str, assign: bool = False) -> None:
    """Load a net.pth-style dict into the model: all keys used, all shapes right, or a CheckpointError."""
    check_hallo_layout(model, state, source)
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


def shared_storage_free(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same tensors, contiguous, with a copy for each one whose memory an earlier one already holds
    (safetensors stores no shared memory; `torch.load` keeps the sharing of the saved dict)."""
    seen, free = set(), {}
    for key, tensor in state.items():
        tensor = tensor.detach().contiguous()
        storage = (tensor.untyped_storage().data_ptr(), tensor.device.type)
        free[key] = tensor.clone() if storage in seen and tensor.numel() else tensor
        seen.add(storage)
    return free


def convert_net_to_safetensors(net_pth: str | Path, target: str | Path | None = None) -> Path:
    """Write Hallo's net.pth as a safetensors file (default: `net.safetensors` beside it); returns its path.

    The .pth is read with `torch.load(weights_only=True)` and every key and shape is checked against the Hallo
    config it belongs to (`hallo_config`), so a file holding code, or not shaped like net.pth, is refused and
    nothing is written. A config sidecar (`net.json`) is copied beside the new file, so it loads the same model.
    """
    net_pth = Path(net_pth)
    target = net_pth.with_suffix(".safetensors") if target is None else Path(target)
    if target.suffix != ".safetensors":
        raise CheckpointError(f"{target}: the converted file must end in .safetensors. Fix: name it <name>.safetensors.")
    state = read_state_dict(net_pth)
    with torch.device("meta"):
        model = PortraitModel(hallo_config(net_pth))
    check_hallo_layout(model, state, str(net_pth))
    sidecar = net_pth.with_suffix(".json")
    if sidecar.is_file() and target.with_suffix(".json") != sidecar:
        shutil.copyfile(sidecar, target.with_suffix(".json"))
    partial = target.with_name(target.name + ".part")
    try:
        save_file(shared_storage_free(state), str(partial), metadata={"format": "pt", "source": net_pth.name})
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
