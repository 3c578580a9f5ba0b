"""Headless render command on tiny models: an mp4 with one frame per audio frame and the audio, alone and on 2 ranks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
import torch
from safetensors.torch import load_file

from apps.render import main
from pipelines.speed_options import FAST_PRESET
from render_fixtures import AUDIO_S, FPS, RATE, write_render_inputs

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return write_render_inputs(tmp_path_factory.mktemp("render"))


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
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "apps.render"]
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


def test_head_audio_guidance_option_reaches_the_sampler(inputs, tmp_path, capsys, monkeypatch):
    """--cfg-audio-head 3 equals --cfg-audio 3 (the same video); 1 changes the frames outside the mouth."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    latents = {}
    for name, extra in (("plain", []), ("same", ["--cfg-audio-head", "3"]), ("head", ["--cfg-audio-head", "1"])):
        out = tmp_path / name
        out.mkdir()
        assert main([*_arguments(inputs, out), *extra]) == 0
        latents[name] = load_file(out / "latents.safetensors")["latents"]
    capsys.readouterr()
    assert torch.equal(latents["same"], latents["plain"])
    assert not torch.allclose(latents["head"], latents["plain"], atol=1e-4)


def test_speed_preset_option_reaches_the_sampler(inputs, tmp_path, capsys, monkeypatch):
    """--speed fast samples the fast preset's share of the steps with its scheduler and lossy switches; the default
    is lossless (the asked steps and scheduler, no lossy switch)."""
    import apps.render as render

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    seen, animate = [], render.animate

    def recording(*args, **kwargs):
        settings = args[-1]
        seen.append((settings.sampling.steps, settings.sampling.scheduler, settings.speed.lossy()))
        return animate(*args, **kwargs)

    monkeypatch.setattr(render, "animate", recording)
    for name, extra in (("lossless", []), ("fast", ["--speed", "fast"])):
        out = tmp_path / name
        out.mkdir()
        assert main([*_arguments(inputs, out), "--steps", "5", *extra]) == 0
    capsys.readouterr()
    fast = (FAST_PRESET.steps(5), FAST_PRESET.scheduler, FAST_PRESET.options.lossy())
    assert seen == [(5, "ddim", {}), fast] and fast != seen[0]
