"""Write the demo's tiny models into a ComfyUI models folder (idempotent).

    python -m scripts.make_demo_models <models_dir>

- gated_portrait/gated_portrait_tiny_demo.safetensors: the pack-native tiny model (pipelines/configs/tiny.json),
  random weights until a trained demo model ships;
- vae/taesd_tiny_demo.safetensors: a TAESD-format VAE (what core VAELoader reads as a tiny SD1.5 VAE);
- audio_encoders/xlsr_tiny_demo/: a tiny Wav2Vec2 (XLS-R layout) folder matching the model's audio width.
No download happens: every file is built here from configs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

REPO_ROOT = Path(__file__).resolve().parents[1]
COMFY_DIR = REPO_ROOT / ".venv" / "comfyui"

DEMO_MODEL = "gated_portrait_tiny_demo.safetensors"
DEMO_VAE = "taesd_tiny_demo.safetensors"
DEMO_ENCODER = "xlsr_tiny_demo"


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


def write_demo_models(models_dir: Path) -> dict[str, Path]:
    """Create the three demo model files under `models_dir` unless present; returns their paths."""
    from pipelines.config import PortraitModelConfig
    from pipelines.model_files import save_portrait_model
    from pipelines.portrait_model import PortraitModel
    from scripts.tiny_encoders import save_tiny_encoder

    paths = {
        "model": models_dir / "gated_portrait" / DEMO_MODEL,
        "vae": models_dir / "vae" / DEMO_VAE,
        "encoder": models_dir / "audio_encoders" / DEMO_ENCODER,
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    if not paths["model"].is_file():
        torch.manual_seed(0)
        save_portrait_model(PortraitModel(PortraitModelConfig.named("tiny")), paths["model"])
    if not paths["vae"].is_file():
        save_file(taesd_state_dict(), str(paths["vae"]))
    if not (paths["encoder"] / "config.json").is_file():
        save_tiny_encoder(str(paths["encoder"]), "xlsr_mean")
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for kind, path in write_demo_models(Path(sys.argv[1]).resolve()).items():
        print(f"{kind}: {path}")
