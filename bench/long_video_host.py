"""A 10-minute speech track through the real ComfyUI host end to end with the tiny demo model.

Usage: python -m bench.long_video_host [--minutes 10] [--side 64] [--steps 2]
LoadImage + LoadAudio -> AudioEncode, RegionMaskFromLandmarks -> GatedUNetSample (shift fusion) ->
VAEDecodeVideo (streaming mp4, no frame batch). Prints one JSON object (wall time, server peak RSS, frame counts)
and writes bench/results/long_video_host.json.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import wave
from pathlib import Path

import av
from PIL import Image

from bench.report import report
from scripts.comfy_host import ComfyHost
from scripts.make_demo_models import DEMO_MODEL, DEMO_MODEL_ENCODER, DEMO_VAE, write_demo_models

ROOT = Path(__file__).resolve().parents[1]
DEMO_INPUTS = ROOT / "example_workflows" / "input"
#: The face in the demo portrait as x, y, w, h fractions: tiny test images skip detection with it.
FACE_BOX = (0.25, 0.06, 0.5, 0.6)


def long_speech(path: Path, minutes: float) -> float:
    """Tile the demo speech to `minutes`; returns the length in seconds."""
    with wave.open(str(DEMO_INPUTS / "speech.wav")) as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    repeats = math.ceil(minutes * 60 * params.framerate / params.nframes)
    with wave.open(str(path), "wb") as target:
        target.setparams(params)
        target.writeframes(frames * repeats)
    return repeats * params.nframes / params.framerate


def prompt(steps: int, face_box: str) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "portrait_small.png"}},
        "2": {"class_type": "LoadAudio", "inputs": {"audio": "long_speech.wav"}},
        "3": {"class_type": "PortraitAudioEncoderLoader", "inputs": {"encoder_folder": DEMO_MODEL_ENCODER, "layout": "auto"}},
        "4": {"class_type": "AudioEncode", "inputs": {"audio": ["2", 0], "audio_encoder": ["3", 0], "fps": 25.0,
                                                      "context_frames": 5, "normalize_loudness": False}},
        "5": {"class_type": "RegionMaskFromLandmarks", "inputs": {
            "image": ["1", 0], "layout": "lingualinker", "head_area": 2.0, "mouth_area": 2.0, "eyes_area": 1.5,
            "feather": 0.0, "face_expand_ratio": 1.2, "face_box": face_box}},
        "6": {"class_type": "ReferenceNetLoad", "inputs": {"model_name": DEMO_MODEL, "dtype": "fp32"}},
        "7": {"class_type": "VAELoader", "inputs": {"vae_name": DEMO_VAE}},
        "8": {"class_type": "ShiftFusionLongVideo", "inputs": {"strategy": "shift_fusion", "alpha": 7, "seam": "silent_pad",
                                                               "overlap": 4, "motion_frames": 2}},
        "9": {"class_type": "GatedUNetSample", "inputs": {
            "model": ["6", 0], "reference": ["1", 0], "vae": ["7", 0], "audio": ["4", 0], "regions": ["5", 0],
            "head_scale": 1.0, "mouth_scale": 1.0, "eyes_scale": 1.0, "steps": steps, "scheduler": "ddim",
            "cfg_image": 1.0, "cfg_audio": 1.0, "seed": 0, "long_video": ["8", 0]}},
        "10": {"class_type": "VAEDecodeVideo", "inputs": {
            "vae": ["7", 0], "latent": ["9", 0], "chunk_size": 0, "audio": ["2", 0], "fps": 25.0, "save_mp4": True,
            "filename_prefix": "long_video_bench", "return_frames": False, "background_stabilize": 0.0}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gp-long-video-") as base:
        with ComfyHost(Path(base)) as host:
            write_demo_models(host.models_dir)
            portrait = Image.open(DEMO_INPUTS / "portrait.png").convert("RGB").resize((args.side, args.side), Image.LANCZOS)
            portrait.save(host.input_dir / "portrait_small.png")
            seconds = long_speech(host.input_dir / "long_speech.wav", args.minutes)
            rss_idle = host.peak_rss_mb()
            started = time.perf_counter()
            box = ",".join(str(round(v * args.side)) for v in FACE_BOX)
            entry = host.run_prompt(prompt(args.steps, box), timeout=3 * 3600)
            wall = time.perf_counter() - started
            (mp4,) = [p for p in host.output_paths(entry) if p.suffix == ".mp4"]
            with av.open(str(mp4)) as container:
                stream = container.streams.video[0]
                frames = sum(1 for _ in container.decode(video=0))
                has_audio = bool(container.streams.audio)
            result = {
                "audio_seconds": round(seconds, 2),
                "expected_frames": math.ceil(seconds * 25),
                "mp4_frames": frames,
                "mp4_has_audio": has_audio,
                "size": [stream.width, stream.height],
                "steps": args.steps,
                "strategy": "shift_fusion alpha 7 silent_pad, cfg 1/1",
                "wall_s": round(wall, 1),
                "server_peak_rss_mb_before": round(rss_idle, 1),
                "server_peak_rss_mb": round(host.peak_rss_mb(), 1),
                "model": "tiny demo model (random weights), CPU",
                "command": "python -m bench.long_video_host " + " ".join(sys.argv[1:]),
            }
    report("long_video_host", result)


if __name__ == "__main__":
    main()
