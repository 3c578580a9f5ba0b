"""Benchmark of AudioEncode on long audio: peak RAM and seconds for 1, 5 and 10 minutes, on the CPU.

Each run encodes speech-like noise bursts (44.1 kHz stereo, resampled and downmixed like LoadAudio output) with
`embed_audio` (30 s windows, 4 s overlap) and draws the preview, in its own Python process: peak RSS is that
process's ru_maxrss, baseline_rss_mb the peak before encoding (Python, torch, transformers, the model and the
input audio, which alone is 10.6 MB per minute). Encoders: the three tiny random-init layouts of the tests, and
the real Whisper tiny.en (converted by scripts/convert_whisper_tiny.py) when it is in models/audio_encoders.
The top-level `peak_rss_mb` / `seconds` are those of `encoder` (the real Whisper tiny when present).

Prints one JSON object and writes bench/results/audio.json.
Run from the repository root: .venv/bin/python -m bench.audio [--minutes 1,5,10]
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

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHISPER_TINY_EN = os.path.join(REPO_ROOT, "models", "audio_encoders", "whisper-tiny.en")
TINY_KINDS = ("xlsr_mean", "wav2vec2_stacked", "whisper_windows")
SAMPLE_RATE = 44100
FPS = 25.0
#: Each length is encoded this many times in its process; `seconds` is the fastest (the build machines are shared).
REPEATS = 2


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def encoder_folder(name: str, scratch: str) -> str:
    """The real Whisper folder, or a tiny random-init model written with the tests' configs."""
    if name == "whisper-tiny.en":
        return WHISPER_TINY_EN
    from scripts.tiny_encoders import save_tiny_encoder

    return save_tiny_encoder(os.path.join(scratch, name), name)


def speech_like(seconds: float):
    """1 2 t: noise bursts at a syllable rate (4 Hz) with pauses, stereo, 44.1 kHz."""
    import torch

    samples = round(seconds * SAMPLE_RATE)
    generator = torch.Generator().manual_seed(0)
    waveform = torch.randn(1, 2, samples, generator=generator).mul_(0.2)
    syllables = torch.sin(torch.arange(samples, dtype=torch.float32).mul_(2 * torch.pi * 4 / SAMPLE_RATE)) > 0.2
    return waveform.mul_(syllables)


def run_one(name: str, seconds: float) -> dict:
    """Encode `seconds` of audio with one encoder; returns peak RSS (MB), baseline and wall seconds."""
    import torch

    from pipelines.audio import audio_preview, embed_audio, load_audio_encoder

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        encoder = load_audio_encoder(encoder_folder(name, scratch), "auto" if name == "whisper-tiny.en" else name)
    waveform = speech_like(seconds)
    baseline = peak_rss_mb()
    windows, timings = [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        embeddings = embed_audio(encoder, waveform, SAMPLE_RATE, fps=FPS, callback=lambda _, n: windows.append(n))
        audio_preview(waveform, SAMPLE_RATE, embeddings.frames, FPS)
        timings.append(time.perf_counter() - start)
        facts = {
            "frames": embeddings.frames,
            "windows": windows[0],
            "blocks_mb": round(embeddings.blocks.untyped_storage().nbytes() / 2**20, 1),
            "feature_shape": list(embeddings.feature_shape),
        }
        embeddings = None  # the next repeat must not hold two results at once
    return {
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "baseline_rss_mb": round(baseline, 1),
        "seconds": round(min(timings), 2),
        **facts,
    }


def run_isolated(name: str, seconds: float) -> dict:
    """run_one in a fresh Python process, so each peak RSS is its own."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.audio", "--child", name, str(seconds)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="1,5,10", help="comma-separated audio lengths in minutes")
    parser.add_argument("--child", nargs=2, metavar=("ENCODER", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], float(args.child[1]))))
        return
    lengths = [str(round(float(m) * 60)) for m in args.minutes.split(",")]
    names = list(TINY_KINDS)
    if os.path.isfile(os.path.join(WHISPER_TINY_EN, "model.safetensors")):
        names.append("whisper-tiny.en")
    runs = {name: {length: run_isolated(name, float(length)) for length in lengths} for name in names}
    headline = names[-1]
    result = {
        "encoder": headline,
        "peak_rss_mb": {length: run["peak_rss_mb"] for length, run in runs[headline].items()},
        "seconds": {length: run["seconds"] for length, run in runs[headline].items()},
        "encoders": runs,
        "setup": {
            "audio": f"speech-like noise bursts, stereo {SAMPLE_RATE} Hz float32", "fps": FPS,
            "windows": "30 s, 4 s overlap (tiny whisper_windows: its own 2 s window)", "device": "cpu",
            "cpu_threads": os.cpu_count(), "torch_threads": __import__("torch").get_num_threads(),
        },
    }
    report("audio", result)


if __name__ == "__main__":
    main()
