"""Long-video strategies side by side on the tiny model: UNet clip passes, wall time, seam visibility, peak RSS.

Usage: python -m bench.long_video [--frames 2000] [--steps 4]
Prints one JSON object and writes bench/results/long_video.json. Shift fusion must use ceil(N/f) clip passes per
step with the circular seam (Sonic eq. 5) and ceil((N+f-1)/f) with silent_pad (f-1 silent frames so the end never
meets the start). The seam metric is position-free: mean of the ceil(N/f)-1 largest frame-to-frame jumps over the
median jump (1-2 = no visible seams).
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from model_fixtures import TINY, tiny_conditions, tiny_model  # noqa: E402
from pipelines.guidance import GuidanceScales  # noqa: E402
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video  # noqa: E402
from bench.report import report  # noqa: E402

STRATEGIES = {
    "shift_fusion": LongVideoOptions(strategy="shift_fusion", seam="silent_pad"),
    "shift_fusion_circular": LongVideoOptions(strategy="shift_fusion", seam="circular"),
    "overlap": LongVideoOptions(strategy="overlap", overlap=2),
    "motion_frames": LongVideoOptions(strategy="motion_frames", motion_frames=2),
    "independent": LongVideoOptions(strategy="shift_fusion", alpha=0),
}


def seam_metric(latents: torch.Tensor, clip_length: int) -> float:
    """Mean of the ceil(n/f)-1 largest frame-to-frame jumps / median jump, latents b c n h w."""
    jumps = (latents[:, :, 1:] - latents[:, :, :-1]).abs().mean(dim=(0, 1, 3, 4))
    seams = math.ceil(latents.shape[2] / clip_length) - 1
    return float(jumps.topk(seams).values.mean() / jumps.median())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = tiny_model(alpha=0.3)  # temporal modules awake: the output depends on the window
    cond = tiny_conditions(args.frames)
    calls = {"n": 0}
    predict = model.predict

    def counted(*a, **k):
        calls["n"] += 1
        return predict(*a, **k)

    model.predict = counted
    settings = SamplerSettings(steps=args.steps, guidance=GuidanceScales(1.0, 1.0))
    passes, seconds, seam = {}, {}, {}
    for name, options in STRATEGIES.items():
        calls["n"] = 0
        started = time.perf_counter()
        latents = sample_video(model, cond, settings, options)
        seconds[name] = round(time.perf_counter() - started, 2)
        passes[name] = calls["n"]
        seam[name] = round(seam_metric(latents, TINY.clip_length), 3)
    f = TINY.clip_length
    result = {
        "frames": args.frames,
        "clip": f,
        "steps": args.steps,
        "cfg_branches": 1,
        "unet_clip_passes": passes,
        "expected_shift_fusion_passes": {
            "circular (Sonic eq. 5)": math.ceil(args.frames / f) * args.steps,
            "silent_pad": math.ceil((args.frames + f - 1) / f) * args.steps,
        },
        "seconds": seconds,
        "seam": seam,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model": "tiny config, random weights with temporal modules awake (1 thread, CPU)",
        "command": "python -m bench.long_video " + " ".join(sys.argv[1:]),
    }
    report("long_video", result)


if __name__ == "__main__":
    main()
