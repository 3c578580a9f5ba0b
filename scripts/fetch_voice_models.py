"""Install-time step: put the GE2E speaker encoder into the pack's model folder, as safetensors.

Resemblyzer 0.1.4's wheel (Apache-2.0) ships the trained encoder as `pretrained.pt`, a training checkpoint. This
script asks pip for that wheel only (`pip download --no-deps`, nothing installed), checks the checkpoint's SHA-256,
reads it with `torch.load(weights_only=True)` (tensors only, nothing executed), keeps the network's own weights
(the LSTM and the linear layer, not the loss's similarity scale) and writes them with the wheel's licence. The pack
only ever reads the safetensors file. Safe to run again: a file already in place is kept.

Usage: python -m scripts.fetch_voice_models [DEST]   (default: <pack>/models/voice)
"""

from __future__ import annotations

import io
import os
import sys
import tempfile

import torch
from safetensors.torch import save_file

from pipelines.voice.speaker_encoder import DEFAULT_PATH, SPEAKER_ENCODER_FILE, SpeakerEncoder
from scripts.wheel_files import download_wheel, read_member, write_file

WHEEL = "resemblyzer==0.1.4"
CHECKPOINT_MEMBER = "resemblyzer/pretrained.pt"
CHECKPOINT_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
LICENSE_MEMBER = "Resemblyzer-0.1.4.dist-info/LICENSE"


def convert(checkpoint: bytes) -> dict[str, torch.Tensor]:
    """The encoder's weights out of the release's training checkpoint (bytes of pretrained.pt)."""
    state = torch.load(io.BytesIO(checkpoint), map_location="cpu", weights_only=True)["model_state"]
    keys = SpeakerEncoder().state_dict().keys()
    return {key: state[key].float().contiguous() for key in keys}


def fetch_voice_models(dest: str = os.path.dirname(DEFAULT_PATH)) -> list[str]:
    """Make sure the speaker encoder is in `dest`; returns the file names that had to be written."""
    target = os.path.join(dest, SPEAKER_ENCODER_FILE)
    if os.path.isfile(target):
        return []
    with tempfile.TemporaryDirectory() as folder:
        wheel = download_wheel(WHEEL, folder)
        weights = convert(read_member(wheel, CHECKPOINT_MEMBER, CHECKPOINT_SHA256))
        write_file(os.path.join(dest, "LICENSE.resemblyzer"), read_member(wheel, LICENSE_MEMBER))
    os.makedirs(dest, exist_ok=True)
    save_file(weights, target + ".part", metadata={"source": f"{WHEEL} {CHECKPOINT_MEMBER}"})
    os.replace(target + ".part", target)
    return [SPEAKER_ENCODER_FILE]


def main() -> None:
    dest = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(DEFAULT_PATH)
    written = fetch_voice_models(dest)
    print(f"speaker encoder in {dest}: " + (f"wrote {', '.join(written)}" if written else "already present"))


if __name__ == "__main__":
    main()
