"""Full-size Hallo config: one clip through ReferenceNet (+2 motion frames) and the Hallo denoiser, time and memory.

Usage: python bench/hallo_full_size.py [--latent 8] [--dtype bf16] [--device cpu] [--cfg 3.5] [--frames 16]
Prints one JSON object and writes it to bench/results/hallo_full_size_<device>.json. Weights are random (the cost
does not depend on their values); every full-size shape of Hallo's net.pth layout runs, FaceLocator included.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.full_size_forward import DTYPES, build  # noqa: E402
from bench.report import report  # noqa: E402
from pipelines.guidance import GuidanceScales  # noqa: E402
from pipelines.hallo_checkpoint import hallo_config  # noqa: E402
from pipelines.sampler import VideoConditions, guided_prediction  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latent", type=int, default=8, help="latent side (64 = 512 px, Hallo's size)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cfg", type=float, default=3.5, help="Hallo's CFG (two branches); 1 = one branch")
    parser.add_argument("--frames", type=int, default=16)
    args = parser.parse_args()

    config = hallo_config()
    dtype = DTYPES[args.dtype]
    started = time.perf_counter()
    model = build(config, args.device, dtype)
    build_s = time.perf_counter() - started
    side, f = args.latent, args.frames
    g = torch.Generator().manual_seed(0)
    face_image = torch.zeros(1, 3, 8 * side, 8 * side)
    face_image[:, :, 2 * side : 6 * side, 2 * side : 6 * side] = 1.0
    cond = VideoConditions(
        reference_latent=torch.randn(1, 4, side, side, generator=g),
        audio_blocks=torch.randn(1, f, config.audio.context_frames, config.audio.feature_dim, generator=g),
        silence_block=torch.zeros(config.audio.context_frames, config.audio.feature_dim),
        masks=torch.rand(1, len(config.regions), side, side, generator=g),
        region_scales=torch.ones(1, len(config.regions)),
        face_embedding=torch.randn(1, config.identity.embedding_dim, generator=g) * 20,
        face_image=face_image,
    ).to(args.device)
    motion = torch.randn(1, config.motion.reference_motion_frames, 4, side, side, generator=g).to(args.device, dtype)
    sample = torch.randn(1, 4, f, side, side, generator=g).to(args.device)
    guidance = GuidanceScales(args.cfg, args.cfg)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    with torch.no_grad():
        t0 = time.perf_counter()
        reference = model.encode_reference(cond.reference_latent.to(dtype), motion_latents=motion, **cond.face_inputs())
        sync()
        t1 = time.perf_counter()
        out = guided_prediction(model, sample, torch.tensor(500), reference, cond.audio_blocks, cond, guidance)
        sync()
        t2 = time.perf_counter()
    result = {
        "what": "one clip, Hallo config (net.pth layout), ReferenceNet with 2 motion frames + Hallo denoiser, random weights",
        "device": args.device if not args.device.startswith("cuda") else torch.cuda.get_device_name(),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "latent": [side, side],
        "frames": f,
        "cfg_branches": len(guidance.branches()),
        "parameters": sum(p.numel() for p in model.parameters()),
        "build_s": round(build_s, 2),
        "reference_s": round(t1 - t0, 3),
        "denoise_step_s": round(t2 - t1, 3),
        "output_finite": bool(torch.isfinite(out).all()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "command": "python " + " ".join(sys.argv),
    }
    report(f"hallo_full_size_{'cuda' if args.device.startswith('cuda') else 'cpu'}", result)


if __name__ == "__main__":
    main()
