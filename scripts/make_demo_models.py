"""Write the demo's tiny models into a ComfyUI models folder (idempotent).

    python -m scripts.make_demo_models <models_dir>

- gated_portrait/gated_portrait_tiny_demo.safetensors: the trained tiny demo model shipped in models_shipped/
  (trained by `python -m apps.train` on the synthetic portraits with Whisper tiny.en features; see
  models_shipped/README.md), copied again whenever the shipped file changes;
- vae/taesd_tiny_demo.safetensors: the TAESD-format VAE that model was trained with, also from models_shipped/;
- audio_encoders/xlsr_tiny_demo/: a tiny random-init Wav2Vec2 (XLS-R layout) folder. The trained demo model reads
  Whisper tiny.en features instead (models/audio_encoders/whisper-tiny.en, converted by `make venv`).
No download happens: every file is copied or built here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
COMFY_DIR = REPO_ROOT / ".venv" / "comfyui"
SHIPPED_DIR = REPO_ROOT / "models_shipped"

DEMO_MODEL = "gated_portrait_tiny_demo.safetensors"
DEMO_VAE = "taesd_tiny_demo.safetensors"
DEMO_ENCODER = "xlsr_tiny_demo"
#: The encoder folder the demo model reads: <pack>/models/audio_encoders/whisper-tiny.en, converted by `make venv`.
DEMO_MODEL_ENCODER = "whisper-tiny.en"


def taesd_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights in the key layout of ComfyUI's TAESD (taesd_encoder.* / taesd_decoder.*)."""
    if str(COMFY_DIR) not in sys.path:
        sys.path.append(str(COMFY_DIR))
    from comfy.cli_args import args

    args.cpu = True
    from comfy.taesd.taesd import TAESD

    torch.manual_seed(seed)
    vae = TAESD()
    with torch.no_grad():
        for name, param in vae.named_parameters():
            if param.ndim > 1:
                torch.nn.init.kaiming_normal_(param, nonlinearity="relu")
                param.mul_(0.5)
            elif not name.startswith("vae_"):
                param.zero_()
    return {k: v.contiguous() for k, v in vae.state_dict().items() if k.startswith("taesd_")}


def copy_if_changed(source: Path, target: Path) -> None:
    """Copy a shipped file unless an identical copy is already there (a stale or random-init one is replaced)."""
    if not target.is_file() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)


def copy_demo_model(models_dir: Path) -> dict[str, Path]:
    """Copy the shipped demo model and its VAE under `models_dir` (what install.py puts into a user's ComfyUI)."""
    paths = {"model": models_dir / "gated_portrait" / DEMO_MODEL, "vae": models_dir / "vae" / DEMO_VAE}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        copy_if_changed(SHIPPED_DIR / path.name, path)
    return paths


def write_demo_models(models_dir: Path) -> dict[str, Path]:
    """The demo model and VAE, plus the tests' tiny random encoder, under `models_dir`; returns their paths."""
    from scripts.tiny_encoders import save_tiny_encoder

    paths = {**copy_demo_model(models_dir), "encoder": models_dir / "audio_encoders" / DEMO_ENCODER}
    if not (paths["encoder"] / "config.json").is_file():
        paths["encoder"].parent.mkdir(parents=True, exist_ok=True)
        save_tiny_encoder(str(paths["encoder"]), "xlsr_mean")
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for kind, path in write_demo_models(Path(sys.argv[1]).resolve()).items():
        print(f"{'tiny random encoder (tests)' if kind == 'encoder' else kind}: {path}")
    print(f"the demo model's audio encoder: models/audio_encoders/{DEMO_MODEL_ENCODER} (converted by make venv)")
