"""Seconds per denoising step: Hallo's released inference loop (`reference`) against the pack's path (`fast`).

Usage: python -m bench.step_time [--frames 50] [--steps 6]                  (CPU, tiny config: `cpu_tiny`)
       python -m bench.step_time --gpu-full [--config hallo|sd15 --latent 64] (CUDA, full size: `gpu_full`)
Both modes run the SAME random-weight model on the SAME inputs, equal frames and steps, DDIM, CFG 3.5 / 3.5:
- reference: Hallo's cost structure: clips of the config's length continued with 2 motion frames (the sampler's
  `motion_frames` strategy; Hallo's own motion-frame ReferenceNet path for the hallo configs), the ReferenceNet once
  per clip, CFG as one batch of 2, SDPA attention, fp16 weights on CUDA (fp32 on the CPU);
- fast: the pack's default path: shift fusion (no motion-frame re-denoising), the ReferenceNet once per video and
  the default SpeedOptions (windows batched on the CPU; fp16 weights on CUDA, no autocast).
Both decode in chunks planned from the free memory (pipelines/video_decode.py); sampling and decode peaks are
reported apart. `max_abs_diff` compares the fast switches with the reference switches on the reference's schedule
(the lossless guard); `ratio` includes the change of schedule, `ratio_same_schedule` does not. The `fast` preset
runs at --preset-steps against the lossless path there. The ablation measures every switch alone (lossless: against
all switches off; lossy: bench/lossy_options.py's options at --drift-steps, drift as PSNR of the decoded video and of
the latents against the lossless fast output); the low-VRAM row parks the VAE while sampling and the portrait model
while decoding. On the CPU, bench/lossy_drift.py adds the shipped demo model's drift at --demo-steps
(`lossy_drift_cpu`, `preset_cpu`). Prints one JSON object, written to bench/results/step_time[_gpu_<config>].json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace

import torch

from bench.lossy_options import candidates
from bench.report import RESULTS, report
from bench.step_measure import Run, flops_per_frame_forward, matmul_peak_tflops, psnr, random_model, random_vae, timed_run
from pipelines.config import PortraitModelConfig
from pipelines.guidance import GuidanceScales
from pipelines.sampler import LongVideoOptions, SamplerSettings, guided_prediction
from pipelines.speed_options import FAST_PRESET, SpeedOptions, SpeedPreset, attention_kernels
from pipelines.tiny_models import tiny_conditions

STARTED = time.perf_counter()
FPS = 25
HALLO_GUIDANCE = GuidanceScales(3.5, 3.5)
SHIFT_FUSION, MOTION_FRAMES = LongVideoOptions(), LongVideoOptions(strategy="motion_frames", motion_frames=2)
#: Hallo's loop: ReferenceNet per clip, CFG batched (one batch of 2), plain layouts
REFERENCE_SPEED = replace(SpeedOptions.baseline(), batched_cfg=True)


class Bench:
    """One model, VAE and video; runs sampling variants and keeps the best of `repeats` timings."""

    def __init__(self, args, device: str, dtype: torch.dtype):
        self.args, self.device, self.dtype = args, device, dtype
        self.config = PortraitModelConfig.named(args.config)
        self.model = random_model(self.config, device, dtype)
        self.vae = random_vae(args.latent >= 32, device, dtype)
        self.cond = tiny_conditions(args.frames, args.latent, config=self.config).to(device)
        self.deadline = time.perf_counter() + args.budget_s if args.budget_s else None

    def out_of_time(self) -> str | None:
        """A skip reason once the run's time budget is spent (device runs have a hard limit), else None."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            return f"time budget of {self.args.budget_s} s spent (--budget-s)"
        return None

    def run(self, long_video, speed, steps=None, scheduler="ddim", guidance=HALLO_GUIDANCE, repeats=None):
        """Best-of-repeats Run (sample_video compiles the model on the first run where the options ask)."""
        settings = SamplerSettings(steps or self.args.steps, scheduler, guidance, seed=0)
        return self.run_settings(long_video, speed, settings, repeats)

    def run_settings(self, long_video, speed, settings: SamplerSettings, repeats=None):
        """`run` with the sampler settings given whole."""
        runs = [
            timed_run(self.model, self.vae, self.cond, settings, long_video, speed, self.device)
            for _ in range(repeats or self.args.repeats)
        ]
        best = min(runs, key=lambda r: r.sample_s)
        best.decode_s = min(r.decode_s for r in runs)
        return best

    def summary(self, run, flops: float, peak: float, steps: int | None = None) -> dict:
        """Per-mode numbers of one Run."""
        steps = steps or self.args.steps
        achieved = flops * run.frame_forwards / run.sample_s / 1e12
        return {
            "s_per_step": round(run.sample_s / steps, 4),
            "sample_s": round(run.sample_s, 3),
            "decode_s": round(run.decode_s, 3),
            "s_per_video_second": round((run.sample_s + run.decode_s) / (self.args.frames / FPS), 3),
            "peak_memory_gb": round(run.peak_gb, 3),
            "sampling_peak_memory_gb": round(run.sampling_peak_gb, 3),
            "decode_peak_memory_gb": round(run.decode_peak_gb, 3),
            "decode_plan": {"chunk_frames": run.decode_plan.chunk_size, "tile": run.decode_plan.tile},
            "frame_forwards_per_step": run.frame_forwards // steps,
            "achieved_tflops": round(achieved, 4),
            "fraction_of_matmul_peak": round(achieved / peak, 4),
        }


def compare_modes(bench: Bench, fast: SpeedOptions, flops: float, peak: float) -> tuple[dict, dict]:
    """reference vs fast (equal frames / steps) and the lossless guard on the reference schedule."""
    bench.run(MOTION_FRAMES, REFERENCE_SPEED, steps=1, repeats=1)  # warm-up of both paths
    bench.run(SHIFT_FUSION, fast, steps=1, repeats=1)
    reference = bench.run(MOTION_FRAMES, REFERENCE_SPEED)
    fast_run = bench.run(SHIFT_FUSION, fast)
    guard = bench.run(MOTION_FRAMES, replace(fast, autocast=REFERENCE_SPEED.autocast))
    section = {
        "reference_s_per_step": round(reference.sample_s / bench.args.steps, 4),
        "fast_s_per_step": round(fast_run.sample_s / bench.args.steps, 4),
        "ratio": round(fast_run.sample_s / reference.sample_s, 3),
        "max_abs_diff": float((guard.latents - reference.latents).abs().max()),
        "ratio_same_schedule": round(guard.sample_s / reference.sample_s, 3),
        "reference": bench.summary(reference, flops, peak),
        "fast": bench.summary(fast_run, flops, peak),
    }
    return section, {"reference": reference, "fast": fast_run}


def ablation(bench: Bench, fast: SpeedOptions, lossless: Run, cuda: bool) -> list[dict]:
    """Every switch alone: lossless ones against all switches off (max_abs_diff, time ratio vs_off), lossy ones
    (bench/lossy_options.py's candidates, at --drift-steps) with their drift against the lossless fast output there."""
    rows, base = [], SpeedOptions.baseline()

    def row(option, long_video, speed, against=None, lossy=False, skipped=None, **run_kwargs):
        skipped = skipped or bench.out_of_time()
        if skipped:
            rows.append({"option": option, "s_per_step": None, "drift_psnr": None, "skipped": skipped})
            return None
        try:
            run = bench.run(long_video, speed, **run_kwargs)
        except (RuntimeError, torch.OutOfMemoryError) as error:  # one failing switch must not lose the others' numbers
            rows.append({"option": option, "s_per_step": None, "drift_psnr": None, "error": str(error).splitlines()[0][:300]})
            return None
        steps = run_kwargs.get("steps") or bench.args.steps
        entry = {"option": option, "strategy": long_video.strategy, "steps": steps,
                 "s_per_step": round(run.sample_s / steps, 4), "peak_memory_gb": round(run.peak_gb, 3),
                 "sampling_peak_memory_gb": round(run.sampling_peak_gb, 3),
                 "decode_peak_memory_gb": round(run.decode_peak_gb, 3), "drift_psnr": None}
        if lossy:
            entry.update(
                drift_psnr=_db(psnr(run.video, lossless.video, peak=1.0)), latent_psnr=_db(psnr(run.latents, lossless.latents)),
                vs_lossless=round(run.sample_s / lossless.sample_s, 3),
            )
        elif against is not None:
            entry.update(max_abs_diff=float((run.latents - against.latents).abs().max()),
                         vs_off=round(run.sample_s / against.sample_s, 3))
        rows.append(entry)
        return run

    row("low VRAM (offload_reference; VAE and model parked while not in use)", SHIFT_FUSION,
        replace(fast, offload_reference=True), against=lossless)  # first: the time budget may skip later rows
    off = row("all switches off", SHIFT_FUSION, base)
    for option, speed in (
        ("window_batch=4", replace(base, window_batch=4)),
        ("batched_cfg", replace(base, batched_cfg=True)),
        ("contiguous_temporal", replace(base, contiguous_temporal=True)),
        ("channels_last", replace(base, channels_last=True)),
        ("split_uncond_attention", replace(base, split_uncond_attention=True)),
    ):
        row(option, SHIFT_FUSION, speed, against=off)
    clip_off = row("all switches off (motion_frames)", MOTION_FRAMES, base)
    row("reference_once", MOTION_FRAMES, replace(base, reference_once=True), against=clip_off)
    row("all lossless switches (fast)", SHIFT_FUSION, fast, against=off)
    skip = None if cuda else "CPU: autocast to fp16/bf16 is a CUDA switch"
    skip = skip or bench.out_of_time()
    rows.extend([{"option": "autocast_fp16", "s_per_step": None, "drift_psnr": None, "skipped": skip}] if skip else autocast_rows(bench, fast))
    drift_steps = bench.args.drift_steps
    if drift_steps != bench.args.steps and not bench.out_of_time():
        lossless = bench.run(SHIFT_FUSION, fast, steps=drift_steps, repeats=1)
    for preset in candidates():
        row(preset.name, SHIFT_FUSION, replace(fast, **preset.options.lossy()), lossy=True,
            steps=preset.steps(drift_steps), scheduler=preset.scheduler or "ddim")
    return rows


def autocast_rows(bench: Bench, fast: SpeedOptions) -> list[dict]:
    """fp16 autocast on fp32 weights against plain fp32 (the model returns to its own dtype after)."""
    bench.model.float()
    try:
        plain = bench.run(SHIFT_FUSION, replace(fast, autocast=None), repeats=1)
        mixed = bench.run(SHIFT_FUSION, replace(fast, autocast="fp16"), repeats=1)
    except (RuntimeError, torch.OutOfMemoryError) as error:
        return [{"option": "autocast_fp16 (fp32 weights)", "s_per_step": None, "drift_psnr": None, "error": str(error)[:300]}]
    finally:
        bench.model.to(bench.dtype)
    steps = bench.args.steps
    return [
        {"option": "fp32 weights, no autocast", "s_per_step": round(plain.sample_s / steps, 4), "drift_psnr": None},
        {"option": "autocast_fp16 (fp32 weights)", "s_per_step": round(mixed.sample_s / steps, 4), "drift_psnr": None,
         "latent_psnr_vs_fp32": _db(psnr(mixed.latents, plain.latents)), "vs_off": round(mixed.sample_s / plain.sample_s, 3)},
    ]


def graph_report(bench: Bench) -> dict:
    """torch._dynamo.explain of the denoising UNet (what torch.compile compiles) on one CFG-batched call: graphs
    and graph breaks."""
    import torch._dynamo

    model, cond, frames = bench.model, bench.cond, bench.config.clip_length
    captured = {}
    hook = model.denoising_unet.register_forward_pre_hook(lambda module, args: captured.setdefault("args", args))
    try:
        with torch.no_grad():
            reference = model.encode_reference(cond.reference_latent.to(bench.dtype), **cond.face_inputs())
            sample = torch.randn(1, 4, frames, *cond.reference_latent.shape[-2:], device=bench.device)
            guided_prediction(bench.model, sample, torch.tensor(500), reference, cond.audio_blocks[:, :frames], cond, HALLO_GUIDANCE)
            model.bank.features, model.bank.all_reference = reference.layers, False  # as bound for that call
            explained = torch._dynamo.explain(model.denoising_unet)(*captured["args"])
    finally:
        hook.remove()
        model.bank.features = {}
        torch._dynamo.reset()
    reasons = sorted({str(b.reason).splitlines()[0][:160] for b in explained.break_reasons})
    return {"graphs": explained.graph_count, "graph_breaks": explained.graph_break_count, "break_reasons": reasons[:8]}


def compile_row(bench: Bench, fast: SpeedOptions, eager: Run, enabled: bool, mode: str | None) -> dict:
    """torch.compile of the denoising UNet: graphs, compile time (first run minus a steady one) and steady s/step
    against the eager fast run. Last, since compiling cannot be undone; only started with --compile-reserve-s left
    before --hard-limit-s (inductor cannot be interrupted; the result without this row is on disk by then)."""
    row = {"option": f"compile (mode {mode or 'default'})", "s_per_step": None, "drift_psnr": None}
    left = bench.args.hard_limit_s - (time.perf_counter() - STARTED)
    if enabled and left < bench.args.compile_reserve_s:
        return {**row, "skipped": f"{left:.0f} s left before --hard-limit-s, under --compile-reserve-s"}
    row.update(graph_report(bench))
    if not enabled:
        return {**row, "skipped": "CPU: inductor's C++ compile takes minutes on this shared box; pass --cpu-compile"}
    try:
        compiled = replace(fast, compile=True, compile_mode=mode)
        started = time.perf_counter()
        bench.run(SHIFT_FUSION, compiled, repeats=1)
        first_s = time.perf_counter() - started
        steady = bench.run(SHIFT_FUSION, compiled)
    except (RuntimeError, torch.OutOfMemoryError) as error:
        return {**row, "error": str(error).splitlines()[0][:300]}
    steps = bench.args.steps
    return {**row, "s_per_step": round(steady.sample_s / steps, 4), "vs_eager": round(steady.sample_s / eager.sample_s, 3),
            "max_abs_diff": float((steady.latents - eager.latents).abs().max()),
            "compile_s": round(first_s - steady.sample_s - steady.decode_s, 1), "first_run_s": round(first_s, 1)}


def preset(bench: Bench, fast: SpeedOptions, steps: int, chosen: SpeedPreset) -> dict:
    """A speed preset (the shipped `fast`, or on the CPU the one this run's demo drift chose) with three-branch CFG
    (Sonic's 2.0 / 7.5) at `steps` steps against the lossless fast path there: time per video-second (sampling +
    decode) and drift."""
    guidance = GuidanceScales(2.0, 7.5)
    lossless_run = bench.run(SHIFT_FUSION, fast, steps=steps, guidance=guidance, repeats=1)
    settings = chosen.settings(SamplerSettings(steps, "ddim", guidance, seed=0))
    lossy_run = bench.run_settings(SHIFT_FUSION, replace(fast, **chosen.options.lossy()), settings, repeats=1)
    seconds = bench.args.frames / FPS
    return {
        "option": chosen.name, "lossy": chosen.options.lossy(), "guidance": [guidance.image, guidance.audio], "steps": steps,
        "steps_run": settings.steps, "scheduler": settings.scheduler,
        "sample_s": round(lossy_run.sample_s, 3), "lossless_sample_s": round(lossless_run.sample_s, 3),
        f"s_per_video_second_at_{steps}_steps": round((lossy_run.sample_s + lossy_run.decode_s) / seconds, 3),
        f"lossless_s_per_video_second_at_{steps}_steps": round((lossless_run.sample_s + lossless_run.decode_s) / seconds, 3),
        "vs_lossless": round(lossy_run.sample_s / lossless_run.sample_s, 3),
        "drift_psnr": _db(psnr(lossy_run.video, lossless_run.video, peak=1.0)),
        "latent_psnr": _db(psnr(lossy_run.latents, lossless_run.latents)),
    }


def _db(value: float) -> float | None:
    """PSNR for JSON: rounded; None for identical outputs (infinite PSNR)."""
    return None if value == float("inf") else round(value, 2)


def measure(args, device: str, checkpoint, chosen: SpeedPreset) -> dict:
    """Everything for one device: modes, extrapolation, preset, ablation, compile."""
    cuda = device.startswith("cuda")
    dtype = torch.float16 if cuda else torch.float32
    bench = Bench(args, device, dtype)
    fast = SpeedOptions()
    peak = matmul_peak_tflops(device, dtype)
    flops = flops_per_frame_forward(bench.model, bench.cond)
    section, runs = compare_modes(bench, fast, flops, peak)
    seconds = args.frames / FPS

    def at(mode: str, steps: int) -> float:
        """Extrapolated seconds for the video at `steps` steps: decode + steps x per-step time."""
        return section[mode]["decode_s"] + steps * section[mode]["s_per_step"]

    section.update({
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine(),
        "config": args.config, "dtype": str(dtype).removeprefix("torch."), "latent": [args.latent] * 2,
        "frames": args.frames, "clip_length": bench.config.clip_length, "steps": args.steps,
        "s_per_video_second": section["fast"]["s_per_video_second"],
        "peak_vram_gb": section["fast"]["peak_memory_gb"] if cuda else None,
        "peak_rss_gb": None if cuda else section["fast"]["peak_memory_gb"],
        "flops_per_frame_forward": flops, "achieved_tflops": section["fast"]["achieved_tflops"],
        "reference_achieved_tflops": section["reference"]["achieved_tflops"],
        "matmul_peak_tflops": round(peak, 3),
        "ratio_at_40_steps": round(at("fast", 40) / at("reference", 40), 3),
        "s_per_video_second_at_40_steps": {m: round(at(m, 40) / seconds, 3) for m in ("reference", "fast")},
        "attention_kernels": attention_kernels(bench.model),
    })
    section["sampling_peak_vram_gb"] = section["fast"]["sampling_peak_memory_gb"] if cuda else None
    section["decode_peak_vram_gb"] = section["fast"]["decode_peak_memory_gb"] if cuda else None
    if args.only_compare:
        return {**section, "ablation": []}
    section["preset"] = preset(bench, fast, args.preset_steps, chosen)
    checkpoint({**section, "ablation": []})
    rows = ablation(bench, fast, runs["fast"], cuda)
    low_vram = [r for r in rows if r["option"].startswith("low VRAM") and r.get("peak_memory_gb") is not None]
    section["low_vram_peak_gb"] = low_vram[0]["peak_memory_gb"] if low_vram and cuda else None
    section["low_vram_sampling_peak_gb"] = low_vram[0]["sampling_peak_memory_gb"] if low_vram and cuda else None
    section["low_vram_decode_peak_gb"] = low_vram[0]["decode_peak_memory_gb"] if low_vram and cuda else None
    checkpoint({**section, "ablation": rows})
    compiled = compile_row(bench, fast, runs["fast"], cuda or args.cpu_compile, args.compile_mode)
    rows.append(compiled)
    if compiled["s_per_step"] is not None:  # the compiled path's steps with the eager decode
        compiled_s = section["fast"]["decode_s"] + 40 * compiled["s_per_step"]
        section["compiled_ratio_at_40_steps"] = round(compiled_s / at("reference", 40), 3)
    section["ablation"] = rows
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu-full", action="store_true", help="the gpu_full section (full-size defaults below)")
    parser.add_argument("--device", default=None, help="default: cuda with --gpu-full when present, else cpu")
    parser.add_argument("--config", default=None, help="model config: tiny (default), tiny_hallo; sd15 (default with "
                        "--gpu-full) or hallo (Hallo's net.pth architecture) at full size")
    parser.add_argument("--latent", type=int, default=None, help="latent side (8; 64 = 512 px with --gpu-full)")
    parser.add_argument("--frames", type=int, default=50, help="video frames (25 fps)")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps measured per mode (6; 3 with --gpu-full)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per variant, best kept (3; 1 with --gpu-full)")
    parser.add_argument("--compile-mode", default=None, help="torch.compile mode, e.g. max-autotune-no-cudagraphs")
    parser.add_argument("--cpu-compile", action="store_true", help="also compile on the CPU (slow)")
    parser.add_argument("--budget-s", type=float, default=None, help="skip the remaining rows after this many seconds (300 with --gpu-full)")
    parser.add_argument("--hard-limit-s", type=float, default=480, help="seconds from start the whole run must end by")
    parser.add_argument("--compile-reserve-s", type=float, default=200, help="start the compile row only with this much left")
    parser.add_argument("--preset-steps", type=int, default=None, help="steps of the fast preset's run (--steps; 25 with --gpu-full)")
    parser.add_argument("--only-compare", action="store_true", help="reference vs fast only (no preset, ablation, compile)")
    parser.add_argument("--drift-steps", type=int, default=None, help="steps of the lossy ablation rows (--steps)")
    parser.add_argument("--demo-steps", type=int, nargs="*", default=[25, 40],
                        help="CPU: step counts of the demo model's lossy drift (bench/lossy_drift.py); none to skip")
    parser.add_argument("--demo-frames", type=int, default=50, help="CPU: frames of the demo model's clip")
    args = parser.parse_args()
    full = args.gpu_full
    device = args.device or ("cuda" if full and torch.cuda.is_available() else "cpu")
    args.config = args.config or ("sd15" if full else "tiny")
    args.latent = args.latent or (64 if full else 8)
    args.steps = args.steps or (3 if full else 6)
    args.repeats = args.repeats or (1 if full else 3)
    args.budget_s = args.budget_s if args.budget_s is not None else (300 if full else 0)
    args.preset_steps = args.preset_steps or (25 if full else args.steps)
    args.drift_steps = args.drift_steps or args.steps
    name = f"step_time_gpu_{args.config}{'' if device.startswith('cuda') else '_dryrun'}" if full else "step_time"

    def result(section: dict) -> dict:
        section = dict(section)
        return {
            "what": "seconds per denoising step, reference (Hallo's loop) vs fast (the pack's default path), same model and inputs",
            "command": "python -m bench.step_time " + " ".join(sys.argv[1:]),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_tiny": None if full else section,
            "gpu_full": section if full else None,
            "ablation": section.pop("ablation"),
            **demo,
        }

    def checkpoint(section: dict) -> None:
        """Everything but the compile row, on disk before compiling (a run stopped there keeps it)."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(result(section), indent=2) + "\n")

    demo, chosen = {}, FAST_PRESET
    if not full and args.demo_steps:
        from bench.lossy_drift import WHISPER, lossy_drift  # the demo model's audio encoder and training code: CPU only

        drift = lossy_drift(args.demo_frames, args.demo_steps, repeats=1, encoder=WHISPER)
        demo = {key: drift[key] for key in ("lossy_drift_cpu", "preset_cpu", "demo_clip")}
        if drift["preset_cpu"]:
            chosen = next(option for option in candidates() if option.name == drift["preset_cpu"]["option"])
    report(name, result(measure(args, device, checkpoint, chosen)))


if __name__ == "__main__":
    main()
