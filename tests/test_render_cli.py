"""Headless render command on tiny models: an mp4 with one frame per audio frame and the audio, alone and on 2 ranks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL
from PIL import Image
from safetensors.torch import load_file

from model_fixtures import tiny_model
from pipelines.model_files import save_portrait_model
from pipelines.render import main
from scripts.tiny_encoders import save_tiny_encoder

REPO_ROOT = Path(__file__).resolve().parents[1]
FPS = 25
AUDIO_S = 0.5  # 13 frames: not a multiple of the tiny clip length (8)
RATE = 22050


def _write_wav(path: Path) -> None:
    """Stereo 16-bit tone, AUDIO_S long."""
    t = np.arange(round(AUDIO_S * RATE)) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.stack([tone, tone], axis=1).tobytes())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("render")
    paths = {name: folder / name for name in ("model.safetensors", "encoder", "vae", "portrait.png", "speech.wav")}
    save_portrait_model(tiny_model(alpha=0.2), paths["model.safetensors"])
    save_tiny_encoder(str(paths["encoder"]), "xlsr_mean")
    torch.manual_seed(0)
    AutoencoderKL(  # x8, like SD's VAE: 64x64 px <-> the tiny model's 8x8 latents
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8,) * 4, layers_per_block=1, latent_channels=4, norm_num_groups=4,
    ).save_pretrained(paths["vae"])
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(paths["portrait.png"])
    _write_wav(paths["speech.wav"])
    return paths


def _arguments(inputs: dict[str, Path], out: Path) -> list[str]:
    return ["--portrait", str(inputs["portrait.png"]), "--audio", str(inputs["speech.wav"]),
               "--model", str(inputs["model.safetensors"]), "--audio-encoder", str(inputs["encoder"]),
               "--vae", str(inputs["vae"]), "--output", str(out / "video.mp4"), "--save-latents", str(out / "latents.safetensors"),
               "--face-box", "16,16,32,32", "--steps", "2", "--alpha", "3", "--cfg-image", "2", "--cfg-audio", "3",
               "--fps", str(FPS), "--timeout-s", "120"]


def _summary(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _check_mp4(path: Path, frames: int) -> None:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (64, 64)
        assert sum(1 for _ in container.decode(video)) == frames
        assert len(container.streams.audio) == 1
        assert container.streams.audio[0].rate == RATE


def test_render_alone_and_on_two_gloo_ranks_give_the_same_video(inputs, tmp_path, capsys, monkeypatch):
    frames = math.ceil(AUDIO_S * FPS)
    alone, ranks = tmp_path / "alone", tmp_path / "ranks"
    alone.mkdir(), ranks.mkdir()
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(_arguments(inputs, alone)) == 0  # in this process: one device
    single = _summary(capsys.readouterr().out)
    assert single["frames"] == frames and single["ranks"] == 1
    _check_mp4(alone / "video.mp4", frames)
    # silent_pad, alpha 3: P = ceil((13 + 7) / 8) * 8 = 24, so 3 windows a step, 2 steps
    assert single["window_passes_per_rank"] == [6]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "pipelines.render"]
    done = subprocess.run([*torchrun, *_arguments(inputs, ranks)], cwd=REPO_ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    parallel = _summary(done.stdout)
    assert parallel["ranks"] == 2 and parallel["window_passes_per_rank"] == [4, 2]
    _check_mp4(ranks / "video.mp4", frames)
    assert torch.equal(load_file(ranks / "latents.safetensors")["latents"], load_file(alone / "latents.safetensors")["latents"])


def test_unreadable_audio_is_reported_by_name(inputs, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    arguments = _arguments({**inputs, "speech.wav": bad}, tmp_path)
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: audio:") and "Fix:" in error
    assert not (tmp_path / "video.mp4").exists()
