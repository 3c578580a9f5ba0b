"""Write tiny Hallo-shaped stand-ins for Hallo's released files into a ComfyUI models folder (idempotent).

    python -m scripts.make_hallo_models <models_dir>

The layout is the one example_workflows/hallo_checkpoints.json names (what a user gets by copying or linking
Hallo's `pretrained_models/` into models/hallo and its VAE / wav2vec2 into the core folders):
- hallo/hallo/net.pth: Hallo's net.pth layout (prefixed flat dict of tensors) for the tiny Hallo config, random
  weights, with hallo/hallo/net.json naming that config (the release needs no JSON: it uses configs/hallo.json);
- hallo/face_analysis/models/glintr100.onnx: a tiny 112 px -> 512-d recognition network (needs the onnx package);
- vae/vae-ft-mse-840000-ema-pruned.safetensors: a TAESD-format tiny VAE;
- audio_encoders/wav2vec2-base-960h/: a tiny wav2vec2 in the base-960h layout (group-norm CNN, CTC head).
No download happens: every file is built here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

NET = Path("hallo") / "net.pth"
FACE_RECOGNITION = Path("face_analysis") / "models" / "glintr100.onnx"
VAE = "vae-ft-mse-840000-ema-pruned.safetensors"
ENCODER = "wav2vec2-base-960h"


class TinyRecognition(torch.nn.Module):
    """A stand-in for glintr100: b 3 112 112 normalised face -> b 512 embedding."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 16, stride=16), torch.nn.Flatten())
        self.fc = torch.nn.Linear(4 * 7 * 7, 512)

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(faces))


def export_recognition(model: torch.nn.Module, path: Path) -> None:
    """Save a recognition network as ONNX with InsightFace's input layout (n 3 112 112, batch axis free)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model.eval(), (torch.zeros(1, 3, 112, 112),), str(path), dynamo=False,
        input_names=["input.1"], dynamic_axes={"input.1": {0: "n"}},
    )


def write_hallo_models(models_dir: Path) -> dict[str, Path]:
    """Create the four stand-ins under `models_dir` unless present; returns their paths."""
    from pipelines.config import PortraitModelConfig
    from pipelines.hallo_checkpoint import hallo_state_dict
    from pipelines.portrait_model import PortraitModel
    from scripts.make_demo_models import taesd_state_dict
    from scripts.tiny_encoders import save_tiny_encoder

    paths = {
        "net": models_dir / "hallo" / NET,
        "face_recognition": models_dir / "hallo" / FACE_RECOGNITION,
        "vae": models_dir / "vae" / VAE,
        "encoder": models_dir / "audio_encoders" / ENCODER,
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    if not paths["net"].is_file():
        torch.manual_seed(0)
        model = PortraitModel(PortraitModelConfig.named("tiny_hallo"))
        paths["net"].with_suffix(".json").write_text(model.config.to_json())
        torch.save({k: v.contiguous() for k, v in hallo_state_dict(model).items()}, paths["net"])
    if not paths["face_recognition"].is_file():
        export_recognition(TinyRecognition(), paths["face_recognition"])
    if not paths["vae"].is_file():
        save_file(taesd_state_dict(), str(paths["vae"]))
    if not (paths["encoder"] / "config.json").is_file():
        save_tiny_encoder(str(paths["encoder"]), "wav2vec2_stacked")
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for kind, path in write_hallo_models(Path(sys.argv[1]).resolve()).items():
        print(f"{kind}: {path}")
