"""Tiny inputs of the headless render command: model file, encoder and VAE folders, portrait and speech files."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL
from PIL import Image

from pipelines.tiny_models import tiny_model
from pipelines.model_files import save_portrait_model
from scripts.tiny_encoders import save_tiny_encoder

FPS = 25
AUDIO_S = 0.5  # 13 frames: not a multiple of the tiny clip length (8)
RATE = 22050


def write_wav(path: Path, seconds: float = AUDIO_S) -> None:
    """Stereo 16-bit 220 Hz tone."""
    t = np.arange(round(seconds * RATE)) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.stack([tone, tone], axis=1).tobytes())


def write_render_inputs(folder: Path) -> dict[str, Path]:
    """Write the files into `folder` -> name -> path (model.safetensors, encoder, vae, portrait.png, speech.wav)."""
    paths = {name: folder / name for name in ("model.safetensors", "encoder", "vae", "portrait.png", "speech.wav")}
    save_portrait_model(tiny_model(alpha=0.2), paths["model.safetensors"])
    save_tiny_encoder(str(paths["encoder"]), "xlsr_mean")
    torch.manual_seed(0)
    AutoencoderKL(  # x8, like SD's VAE: 64x64 px <-> the tiny model's 8x8 latents
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8,) * 4, layers_per_block=1, latent_channels=4, norm_num_groups=4,
    ).save_pretrained(paths["vae"])
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(paths["portrait.png"])
    write_wav(paths["speech.wav"])
    return paths
