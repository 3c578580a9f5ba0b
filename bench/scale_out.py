"""Clip parallelism on CPU: the same long tiny job sampled by 1 process and by W gloo ranks (one thread each).

Usage: python -m bench.scale_out [--frames 2000] [--steps 4] [--ranks 1 2] [--replicas 2]
Also times the in-process path of GatedUNetSample's device list: the same job with the windows spread over model
replicas (one per CUDA device when there are several, else CPU replicas, one thread each) in `replica_runs`.
Prints one JSON object and writes bench/results/scale_out.json. Every run is a fresh set of spawned processes;
wall_s is the sampler's time on rank 0 (model built, conditions made, ranks past a barrier before the clock
starts); cpu_s_per_rank is each rank's CPU time over the same span (less sensitive to a shared machine's
load than wall time). identical_latents compares each multi-rank result with the 1-rank one bit for bit. bytes_moved_per_step
counts what all_gather delivers to each rank per step ((W-1) x windows-per-rank x one window output), next to
what a ring all-reduce of the fused sequence would move (2 (W-1)/W x the padded sequence).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from bench.report import report
from pipelines.clip_parallel import DistributedWindows, LocalWindows, ReplicaWindows
from pipelines.guidance import GuidanceScales
from pipelines.model_files import replicate
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video, window_schedule
from pipelines.speed_options import SpeedOptions
from pipelines.tiny_models import TINY, tiny_conditions, tiny_model

OPTIONS = LongVideoOptions(strategy="shift_fusion", seam="silent_pad")
#: one window per model call in every run: ranks and replicas hand windows out one by one, and the single-process
#: CPU default (4 per call) differs from that by float rounding only, which would hide what identical_latents checks
SPEED = SpeedOptions(window_batch=1)


def _rank(rank: int, world_size: int, frames: int, steps: int, folder: str) -> None:
    torch.set_num_threads(1)
    model, cond = tiny_model(alpha=0.3), tiny_conditions(frames)
    settings = SamplerSettings(steps=steps, guidance=GuidanceScales(1.0, 1.0))
    if world_size > 1:
        dist.init_process_group("gloo", init_method=f"file://{folder}/init", rank=rank, world_size=world_size,
                                timeout=timedelta(seconds=600))
        dist.barrier()
    windows = DistributedWindows() if world_size > 1 else LocalWindows()
    started, cpu_started = time.perf_counter(), time.process_time()
    latents = sample_video(model, cond, settings, OPTIONS, windows=windows, speed=SPEED)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    torch.save({"latents": latents if rank == 0 else None, "wall_s": wall, "cpu_s": cpu, "passes": windows.passes},
               f"{folder}/rank{rank}.pt")
    if world_size > 1:
        dist.destroy_process_group()


def run(world_size: int, frames: int, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_rank, args=(world_size, frames, steps, folder), nprocs=world_size, join=True)
        ranks = [torch.load(f"{folder}/rank{r}.pt", weights_only=True) for r in range(world_size)]
    passes = [r["passes"] for r in ranks]
    return {"ranks": world_size, "wall_s": round(ranks[0]["wall_s"], 2),
            "cpu_s_per_rank": [round(r["cpu_s"], 2) for r in ranks], "window_passes": sum(passes),
            "window_passes_per_rank": passes, "latents": ranks[0]["latents"]}


def replica_run(count: int, frames: int, steps: int) -> dict:
    """The job in this process with its windows spread over `count` model replicas."""
    torch.set_num_threads(1)
    cuda = torch.cuda.device_count()
    devices = [torch.device("cuda", i % cuda) if cuda > 1 else torch.device("cpu") for i in range(count)]
    model = tiny_model(alpha=0.3)
    replicas = [replicate(model, device) for device in devices]
    windows = ReplicaWindows(replicas)
    settings = SamplerSettings(steps=steps, guidance=GuidanceScales(1.0, 1.0))
    started = time.perf_counter()
    latents = sample_video(replicas[0], tiny_conditions(frames).to(devices[0]), settings, OPTIONS, windows=windows, speed=SPEED)
    return {"replicas": count, "devices": [str(d) for d in devices], "wall_s": round(time.perf_counter() - started, 2),
            "window_passes": windows.passes, "window_passes_per_replica": windows.passes_per_replica,
            "latents": latents.cpu()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replicas", type=int, nargs="*", default=[2])
    args = parser.parse_args()
    runs = [run(w, args.frames, args.steps) for w in sorted(set(args.ranks) | {1})]
    replica_runs = [replica_run(count, args.frames, args.steps) for count in args.replicas]
    baseline = runs[0]
    schedule = window_schedule(args.frames, TINY.clip_length, args.steps, OPTIONS)
    k = len(schedule.steps[0])
    window_bytes = 4 * TINY.unet.in_channels * TINY.clip_length * 8 * 8  # b=1, fp32, 8x8 latents
    sequence_bytes = 4 * TINY.unet.in_channels * schedule.padded_length * 8 * 8
    report("scale_out", {
        "frames": args.frames, "clip": TINY.clip_length, "steps": args.steps, "windows_per_step": k,
        "expected_window_passes": schedule.clip_forwards,
        "runs": [{key: value for key, value in r.items() if key != "latents"} for r in runs],
        "identical_latents": {r["ranks"]: bool(torch.equal(r["latents"], baseline["latents"])) for r in runs[1:]},
        "replica_runs": [{key: value for key, value in r.items() if key != "latents"} for r in replica_runs],
        "replica_identical_latents": {r["replicas"]: bool(torch.equal(r["latents"], baseline["latents"])) for r in replica_runs},
        "parallel_efficiency": {r["ranks"]: round(baseline["wall_s"] / (r["wall_s"] * r["ranks"]), 3) for r in runs[1:]},
        "bytes_moved_per_step": {r["ranks"]: {
            "all_gather_received_per_rank": (r["ranks"] - 1) * math.ceil(k / r["ranks"]) * window_bytes,
            "ring_all_reduce_per_rank_alternative": round(2 * (r["ranks"] - 1) / r["ranks"] * sequence_bytes),
        } for r in runs[1:]},
        "setup": "CPU, gloo, 1 thread per rank (per replica thread in replica_runs), tiny config (8x8 latents), one CFG branch, shift fusion alpha 7 silent_pad; "
                 "2 CPU cores shared with other jobs (load average 4-6 during the runs), so wall times are noisy: "
                 "two ranks on two busy cores cannot show the speed-up; cpu_s_per_rank shows the work split",
        "command": "python -m bench.scale_out " + " ".join(sys.argv[1:]),
    })


if __name__ == "__main__":
    main()
