"""Where a full-size denoising step spends its time: speed-option variants side by side, and a kernel profile.

    python -m bench.step_variants                     # CUDA: sd15 at 512x512, 100 frames (diffusers as in gpu_full.sh)
    python -m bench.step_variants --device cpu --config tiny --latent 8 --frames 20 --steps 1 --no-compile

Every variant samples the same random-weight model and inputs (bench/step_time.py's Bench, fp16 weights on CUDA,
CFG 3.5 / 3.5 as two branches) and reports seconds per step, per frame-forward (one frame of one CFG branch
through the denoiser) and the latents' max abs diff to the first shift-fusion variant. The profile is one step
of the variant without autocast (eager, then compiled) under torch.profiler: device time by kernel family and the top kernels.
One JSON object to stdout and bench/results/step_variants[_cpu].json.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import replace

import torch
from torch.profiler import ProfilerActivity, profile

from bench.report import RESULTS
from bench.step_measure import synchronize
from bench.step_time import HALLO_GUIDANCE, MOTION_FRAMES, REFERENCE_SPEED, SHIFT_FUSION, Bench
from pipelines.sampler import SamplerSettings, sample_video
from pipelines.speed_options import SpeedOptions

#: kernel families by name (first match wins); the rest is elementwise / copies / reductions
FAMILIES = (
    ("attention", r"flash|fmha|attention|softmax"),
    ("matmul", r"gemm|sm90_xmma|cutlass|matmul|cublas|nvjet"),
    ("convolution", r"conv|implicit|winograd|cudnn"),
    ("norm", r"norm|welford"),
)


def variants() -> dict[str, tuple]:
    """name -> (strategy, SpeedOptions)."""
    plain = SpeedOptions(window_batch=1)
    return {
        "reference (Hallo's loop)": (MOTION_FRAMES, REFERENCE_SPEED),
        "fast with fp16 autocast and channels_last": (SHIFT_FUSION, replace(plain, autocast="fp16", channels_last=True)),
        "fast without autocast": (SHIFT_FUSION, plain),
        "fast without autocast, channels_last": (SHIFT_FUSION, replace(plain, channels_last=True)),
        "fast without autocast, no uncond split": (SHIFT_FUSION, replace(plain, split_uncond_attention=False)),
    }


def family(kernel: str) -> str:
    return next((name for name, pattern in FAMILIES if re.search(pattern, kernel, re.I)), "other")


def kernel_profile(bench: Bench, long_video, speed: SpeedOptions) -> dict:
    """One denoising step (no decode) under torch.profiler: device ms by family and the 15 costliest kernels."""
    cuda = bench.device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    settings = SamplerSettings(1, "ddim", HALLO_GUIDANCE, seed=0)
    with profile(activities=activities) as prof:
        sample_video(bench.model, bench.cond, settings, long_video, speed=speed)
        synchronize(bench.device)
    events = [e for e in prof.key_averages() if (e.device_time_total if cuda else e.self_cpu_time_total) > 0]
    timed = [(e.key, (e.device_time_total if cuda else e.self_cpu_time_total) / 1e3, e.count) for e in events]
    if cuda:  # device rows are kernels; CPU ops carry their kernels' time too, so keep kernel-like names only
        timed = [row for row in timed if not row[0].startswith("aten::") and row[0] not in {"cudaLaunchKernel"}]
    by_family: dict[str, float] = {}
    for key, ms, _ in timed:
        by_family[family(key)] = by_family.get(family(key), 0.0) + ms
    top = sorted(timed, key=lambda row: -row[1])[:15]
    return {
        "total_ms": round(sum(ms for _, ms, _ in timed), 1),
        "by_family_ms": {k: round(v, 1) for k, v in sorted(by_family.items(), key=lambda kv: -kv[1])},
        "top_kernels": [{"kernel": key[:120], "ms": round(ms, 2), "calls": count} for key, ms, count in top],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--config", default="sd15")
    parser.add_argument("--latent", type=int, default=64)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled variant (last: it cannot be undone)")
    args = parser.parse_args(argv)
    args.budget_s = None
    device = torch.device(args.device)
    bench = Bench(args, args.device, torch.float16 if device.type == "cuda" else torch.float32)
    rows, first = [], None
    for name, (long_video, speed) in variants().items():
        bench.run(long_video, speed, steps=1, repeats=1)  # warm-up
        run = bench.run(long_video, speed)
        if long_video is SHIFT_FUSION and first is None:
            first = run
        rows.append(row(name, run, args.steps, first))
    plain = SpeedOptions(window_batch=1)
    result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
              "config": args.config, "latent": args.latent, "frames": args.frames, "steps": args.steps,
              "variants": rows, "profile_eager": kernel_profile(bench, SHIFT_FUSION, plain)}
    if not args.no_compile:
        compiled = replace(plain, compile=True)
        bench.run(SHIFT_FUSION, compiled, steps=1, repeats=1)  # compiles
        rows.append(row("fast without autocast, compiled", bench.run(SHIFT_FUSION, compiled), args.steps, first))
        result["profile_compiled"] = kernel_profile(bench, SHIFT_FUSION, compiled)
    out = RESULTS / f"step_variants{'' if device.type == 'cuda' else '_cpu'}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result


def row(name: str, run, steps: int, first) -> dict:
    return {
        "variant": name,
        "s_per_step": round(run.sample_s / steps, 4),
        "ms_per_frame_forward": round(1e3 * run.sample_s / run.frame_forwards, 3),
        "frame_forwards_per_step": run.frame_forwards // steps,
        "peak_gb": round(run.peak_gb, 3),
        "max_abs_diff_vs_first_fast": None if first is None or first.latents.shape != run.latents.shape
        else float((run.latents - first.latents).abs().max()),
    }


if __name__ == "__main__":
    main()
