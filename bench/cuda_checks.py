"""The product path on a GPU against the CPU: the shipped demo model samples the same video on both.

    python -m bench.cuda_checks            # cuda when present (the device run in bench/gpu_full.sh)
    python -m bench.cuda_checks --device cpu --frames 12 --steps 2   # the CPU run of the same code

Rows (latents b c n h w of one video, shift fusion, three-branch CFG as the nodes run it):
- `fp32`: fp32 weights and math on the device vs the CPU: max abs diff;
- `fp16_autocast`: fp16 autocast over the fp32 weights on the device vs the CPU: PSNR of the latents;
- `replicas`: ReplicaWindows over [device, cpu] (windows alternate between the two) vs the device alone.
One JSON object to stdout and bench/results/cuda_checks.json (cuda_checks_cpu.json for a CPU run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.step_measure import psnr, synchronize
from pipelines.clip_parallel import ReplicaWindows
from pipelines.guidance import GuidanceScales
from pipelines.model_files import load_portrait_model, replicate
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video
from pipelines.speed_options import SpeedOptions
from pipelines.tiny_models import tiny_conditions

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models_shipped" / "gated_portrait_tiny_demo.safetensors"


def sample(model, cond, settings, speed, windows=None) -> tuple[torch.Tensor, float]:
    """-> latents on the CPU (fp32) and the seconds sampling took."""
    device = str(cond.reference_latent.device)
    synchronize(device)
    started = time.perf_counter()
    latents = sample_video(model, cond, settings, LongVideoOptions(), windows=windows, speed=speed)
    synchronize(device)
    return latents.float().cpu(), time.perf_counter() - started


def finite(value: float) -> float | None:
    """Rounded dB, None for identical latents (JSON has no infinity)."""
    return round(value, 2) if value != float("inf") else None


def checks(device: torch.device, frames: int, steps: int) -> dict:
    settings = SamplerSettings(steps, "ddim", GuidanceScales(1.5, 2.5), seed=0)
    cpu_model = load_portrait_model(SHIPPED)
    cond = tiny_conditions(frames, 8, config=cpu_model.config)
    truth, cpu_s = sample(cpu_model, cond, settings, SpeedOptions())
    model = replicate(cpu_model, device)
    on_device = cond.to(device)
    fp32, fp32_s = sample(model, on_device, settings, SpeedOptions())
    half, half_s = sample(model, on_device, settings, SpeedOptions(autocast="fp16"))
    lone = SpeedOptions(window_batch=1)
    alone, _ = sample(model, on_device, settings, lone)
    try:
        spread, _ = sample(model, on_device, settings, lone, ReplicaWindows([model, cpu_model]))
        replicas = {"max_abs_diff_vs_one_device": float((spread - alone).abs().max())}
    except Exception as error:  # a device run has one try: keep the other rows and say what broke
        replicas = {"error": f"{type(error).__name__}: {error}"}
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "model": SHIPPED.name,
        "frames": frames,
        "steps": steps,
        "cpu_s": round(cpu_s, 3),
        "fp32": {"max_abs_diff_vs_cpu": float((fp32 - truth).abs().max()), "seconds": round(fp32_s, 3)},
        "fp16_autocast": {
            "latent_psnr_vs_cpu": finite(psnr(half, truth)),
            "max_abs_diff_vs_cpu": float((half - truth).abs().max()),
            "seconds": round(half_s, 3),
        },
        "replicas": {"devices": [str(device), "cpu"], **replicas},
        "latent_range": [float(truth.min()), float(truth.max())],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=60, help="video frames (shift-fusion windows of the model's clip length)")
    parser.add_argument("--steps", type=int, default=10, help="DDIM steps")
    parser.add_argument("--out", default=None, help="JSON path (default bench/results/cuda_checks[_cpu].json)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    result = checks(device, args.frames, args.steps)
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"cuda_checks{'' if device.type == 'cuda' else '_cpu'}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
