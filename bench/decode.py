"""Benchmark of the VAE video decode stage: peak RAM and speed, all frames in memory vs streaming.

Decodes 500, 1,500 and 3,000 frames at 256x256 with a tiny diffusers AutoencoderKL and saves each
as an H.264 mp4 with 48 kHz stereo audio, two ways:
  in_memory: decode every frame into one IMAGE batch, then save it (core VAEDecode + SaveVideo);
  streaming: decoded chunks go straight to ffmpeg (VAEDecodeVideo with return_frames off).
Each configuration runs in its own process; peak RSS is that process's ru_maxrss (the ffmpeg
encoder is a separate process and not included). baseline_rss_mb is the peak before decoding:
Python, torch, diffusers, the model and the inputs (latents and audio grow with the frame count);
peak_over_baseline_mb is what decoding and saving added. Prints one JSON object and writes
bench/results/decode.json.

Run from the repository root: .venv/bin/python -m bench.decode [--frames 500,1500,3000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from bench.report import report

FRAME_COUNTS = (500, 1500, 3000)
MODES = ("in_memory", "streaming")
LATENT_SIZE = 32  # x8 -> 256x256 frames
CHUNK = 16
FPS = 25.0
SAMPLE_RATE = 48000


def tiny_vae():
    """A 2-channel, x8 AutoencoderKL: cheap enough to decode thousands of frames on two CPU cores."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(2, 2, 2, 2),
        layers_per_block=0,
        latent_channels=4,
        norm_num_groups=2,
        mid_block_add_attention=False,
    ).eval()


def talking_latents(frames: int):
    """1 4 f h w latents: a smooth still image plus a slow smooth drift, like a talking-head clip."""
    import torch
    import torch.nn.functional as F

    fields = F.interpolate(2 * torch.randn(2, 4, 4, 4), size=(LATENT_SIZE, LATENT_SIZE), mode="bicubic")
    phase = torch.sin(torch.arange(frames) * (2 * torch.pi / 50))[:, None, None, None]  # f 1 1 1
    return (fields[0] + phase * fields[1]).movedim(0, 1)[None]  # f c h w -> 1 c f h w


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ffmpeg, a child, is not included)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_one(mode: str, frames: int) -> dict:
    """Decode and save `frames` frames one way; returns peak RSS (MB) and frames/s."""
    import imageio_ffmpeg
    import torch

    from pipelines.video_decode import FrameCollector, autoencoder_frame_decoder, decode_video_chunks
    from pipelines.video_writer import write_mp4

    torch.manual_seed(0)
    decode = autoencoder_frame_decoder(tiny_vae())
    latents = talking_latents(frames)
    waveform = 0.1 * torch.randn(2, round(frames / FPS * SAMPLE_RATE))
    baseline = peak_rss_mb()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.mp4")
        start = time.perf_counter()
        chunks = decode_video_chunks(latents, decode, CHUNK)
        if mode == "in_memory":
            collector = FrameCollector(frames)
            collector.collect(chunks)
            chunks = collector.frames.split(CHUNK)
        write_mp4(path, chunks, FPS, waveform, SAMPLE_RATE)
        seconds = time.perf_counter() - start
        mp4_frames = imageio_ffmpeg.count_frames_and_secs(path)[0]
    return {
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "baseline_rss_mb": round(baseline, 1),
        "frames_per_s": round(frames / seconds, 1),
        "mp4_frames": mp4_frames,
    }


def run_isolated(mode: str, frames: int) -> dict:
    """run_one in a fresh Python process, so each peak RSS is its own."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.decode", "--child", mode, str(frames)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", default=",".join(map(str, FRAME_COUNTS)), help="comma-separated frame counts")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FRAMES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], int(args.child[1]))))
        return
    from pipelines.video_writer import DEFAULT_CRF, DEFAULT_PRESET

    counts = [int(n) for n in args.frames.split(",")]
    runs = {mode: {str(n): run_isolated(mode, n) for n in counts} for mode in MODES}

    def field(name):
        return {mode: {n: run[name] for n, run in runs[mode].items()} for mode in MODES}

    result = {
        "streaming_peak_rss_mb": field("peak_rss_mb")["streaming"],
        "in_memory_peak_rss_mb": field("peak_rss_mb")["in_memory"],
        "frames_per_s": field("frames_per_s"),
        "baseline_rss_mb": field("baseline_rss_mb"),
        "peak_over_baseline_mb": {
            mode: {n: round(run["peak_rss_mb"] - run["baseline_rss_mb"], 1) for n, run in runs[mode].items()}
            for mode in MODES
        },
        "mp4_frames": field("mp4_frames"),
        "setup": {
            "frame_size": [LATENT_SIZE * 8, LATENT_SIZE * 8], "chunk": CHUNK, "fps": FPS,
            "audio": f"stereo {SAMPLE_RATE} Hz AAC", "video": f"H.264 crf {DEFAULT_CRF} preset {DEFAULT_PRESET} yuv420p",
            "vae": "diffusers AutoencoderKL block_out_channels=(2,2,2,2), layers_per_block=0",
            "cpu_threads": os.cpu_count(),
        },
    }
    report("decode", result)


if __name__ == "__main__":
    main()
