"""Long-video strategies side by side on the tiny model: model calls, UNet clip passes, wall time, peak RSS.

Usage: python -m bench.long_video [--frames 2000] [--steps 4]
Prints one JSON object and writes bench/results/long_video.json. `clip_passes` counts clips through the UNet (one
window of f frames in one CFG branch); `model_calls` counts the batched calls that carry them (several windows a
call). Shift fusion must use ceil(N/f) clip passes per step with the circular seam (Sonic eq. 5) and ceil((N+f-1)/f)
with silent_pad (f-1 silent frames so the end never meets the start). Seams are compared on the trained demo model
in bench/quality.py: on random weights every strategy looks alike.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time

import torch

from bench.report import report
from pipelines.guidance import GuidanceScales
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video
from pipelines.tiny_models import TINY, tiny_conditions, tiny_model

STRATEGIES = {
    "shift_fusion": LongVideoOptions(strategy="shift_fusion", seam="silent_pad"),
    "shift_fusion_circular": LongVideoOptions(strategy="shift_fusion", seam="circular"),
    "overlap": LongVideoOptions(strategy="overlap", overlap=2),
    "motion_frames": LongVideoOptions(strategy="motion_frames", motion_frames=2),
    "independent": LongVideoOptions(strategy="shift_fusion", alpha=0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = tiny_model(alpha=0.3)  # temporal modules awake: the output depends on the window
    cond = tiny_conditions(args.frames)
    counts = {"model_calls": 0, "clip_passes": 0}
    predict = model.predict

    def counted(sample, *args, **kwargs):
        """model.predict, counting the call and the clips in its batch (sample: b c f h w)."""
        counts["model_calls"] += 1
        counts["clip_passes"] += sample.shape[0]
        return predict(sample, *args, **kwargs)

    model.predict = counted
    settings = SamplerSettings(steps=args.steps, guidance=GuidanceScales(1.0, 1.0))
    calls, passes, seconds = {}, {}, {}
    for name, options in STRATEGIES.items():
        counts.update(model_calls=0, clip_passes=0)
        started = time.perf_counter()
        sample_video(model, cond, settings, options)
        seconds[name] = round(time.perf_counter() - started, 2)
        calls[name], passes[name] = counts["model_calls"], counts["clip_passes"]
    f = TINY.clip_length
    result = {
        "frames": args.frames,
        "clip": f,
        "steps": args.steps,
        "cfg_branches": 1,
        "clip_passes": passes,
        "model_calls": calls,
        "expected_shift_fusion_clip_passes": {
            "circular (Sonic eq. 5)": math.ceil(args.frames / f) * args.steps,
            "silent_pad": math.ceil((args.frames + f - 1) / f) * args.steps,
        },
        "seconds": seconds,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model": "tiny config, random weights with temporal modules awake (1 thread, CPU)",
        "command": "python -m bench.long_video " + " ".join(sys.argv[1:]),
    }
    report("long_video", result)


if __name__ == "__main__":
    main()
