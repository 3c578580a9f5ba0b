"""Full-size model: one clip through the ReferenceNet and the denoiser, time and peak memory.

Usage: python -m bench.full_size_forward [--config sd15|hallo] [--latent 8] [--dtype fp32] [--device cpu] [--cfg 1]
Prints one JSON object and writes it to bench/results/full_size_<config>_<device>.json. Weights are random (no SD1.5
or Hallo weights here); the cost does not depend on their values. The hallo config runs every shape of Hallo's
net.pth layout: ReferenceNet with its motion frames, FaceLocator, face-embedding tokens, three audio branches.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time

import torch

from bench.report import report
from pipelines.conditions import VideoConditions
from pipelines.config import PortraitModelConfig, shipped_configs
from pipelines.guidance import GuidanceScales
from pipelines.motion_module import sinusoidal_table
from pipelines.portrait_model import PortraitModel
from pipelines.sampler import guided_prediction

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def build(config: PortraitModelConfig, device: str, dtype: torch.dtype) -> PortraitModel:
    """The full model with small random weights, allocated once on the target device."""
    with torch.device("meta"):
        model = PortraitModel(config)
    model = model.to_empty(device=device)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0, 0.02)
        for name, buffer in model.named_buffers():
            if name.endswith("pos_encoder.pe"):
                buffer.copy_(sinusoidal_table(buffer.shape[1], buffer.shape[2]))
    return model.to(dtype).eval()


def face_conditions(config: PortraitModelConfig, side: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A face embedding and a face-box image where the config reads them (Hallo), else nothing."""
    face = {}
    if config.identity.source == "face_embedding":
        face["face_embedding"] = torch.randn(1, config.identity.embedding_dim, generator=generator) * 20
    if config.face_locator.enabled:
        image = torch.zeros(1, 3, 8 * side, 8 * side)
        image[:, :, 2 * side : 6 * side, 2 * side : 6 * side] = 1.0
        face["face_image"] = image
    return face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=shipped_configs(), default="sd15", help="sd15, hallo (full size) or a tiny one")
    parser.add_argument("--latent", type=int, default=8, help="latent side (64 = 512 px)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cfg", type=float, default=1.0, help="1 = one branch; otherwise 3 branches (uncond/image/full)")
    parser.add_argument("--frames", type=int, default=0, help="frames per clip (0 = the config's clip length)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    config = PortraitModelConfig.named(args.config)
    dtype = DTYPES[args.dtype]
    started = time.perf_counter()
    model = build(config, args.device, dtype)
    build_s = time.perf_counter() - started
    f, side = args.frames or config.clip_length, args.latent
    g = torch.Generator().manual_seed(0)
    cond = VideoConditions(
        reference_latent=torch.randn(1, 4, side, side, generator=g),
        audio_blocks=torch.randn(1, f, config.audio.context_frames, config.audio.feature_dim, generator=g),
        silence_block=torch.zeros(config.audio.context_frames, config.audio.feature_dim),
        masks=torch.rand(1, len(config.regions), side, side, generator=g),
        region_scales=torch.ones(1, len(config.regions)),
        **face_conditions(config, side, g),
    ).to(args.device)
    motion = torch.randn(1, config.motion.reference_motion_frames, 4, side, side, generator=g).to(args.device, dtype)
    sample = torch.randn(1, 4, f, side, side, generator=g).to(args.device)
    guidance = GuidanceScales(args.cfg, args.cfg)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = {"reference_s": [], "denoise_step_s": []}
    with torch.no_grad():
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            reference = model.encode_reference(cond.reference_latent.to(dtype), motion_latents=motion, **cond.face_inputs())
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t1 = time.perf_counter()
            out = guided_prediction(model, sample, torch.tensor(500), reference, cond.audio_blocks, cond, guidance)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t2 = time.perf_counter()
            times["reference_s"].append(t1 - t0)
            times["denoise_step_s"].append(t2 - t1)
    result = {
        "what": f"one {f}-frame clip, full-size {args.config} config (ReferenceNet + denoiser), random weights",
        "config": args.config,
        "device": args.device if not args.device.startswith("cuda") else torch.cuda.get_device_name(),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "latent": [side, side],
        "frames": f,
        "cfg_branches": len(guidance.branches()),
        "parameters": sum(p.numel() for p in model.parameters()),
        "build_s": round(build_s, 2),
        "reference_s": round(min(times["reference_s"]), 3),
        "denoise_step_s": round(min(times["denoise_step_s"]), 3),
        "output_finite": bool(torch.isfinite(out).all()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_vram_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if args.device.startswith("cuda") else None,
        "command": "python -m bench.full_size_forward " + " ".join(sys.argv[1:]),
    }
    report(f"full_size_{args.config}_{'cuda' if args.device.startswith('cuda') else 'cpu'}", result)


if __name__ == "__main__":
    main()
