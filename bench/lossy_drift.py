"""Drift against time of the lossy speed options on the shipped demo model (CPU), at real step counts.

    python -m bench.lossy_drift [--frames 50] [--steps 25 40]      (bench.step_time runs it for `lossy_drift_cpu`)

The demo model samples held-out clip 0 of bench/quality.py (a person and a sentence the training never saw) with
its recommended three-branch CFG (1.5 image / 2.5 audio) and shift fusion, once losslessly (DDIM at N steps, the
default switches) and once per lossy option at the same seed: DeepCache intervals, CFG only on the first part of
the steps (cfg_cutoff), DPM++2M / UniPC at fewer steps, and their pairs. drift_psnr is the PSNR of the decoded
video against the lossless one (peak 1.0); vs_lossless the option's sampling time over the lossless sampling time
(CPU time of the one-thread process, best of --repeats). `preset_cpu` is the fastest option at 25 steps with
drift_psnr >= 35 dB: the choice pipelines/speed_options.FAST_PRESET ships. Writes bench/results/lossy_drift_cpu.json
and the drift-vs-time plot lossy_drift_cpu.png.
Letters: f frames, h w pixels.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import torch

from bench.lossy_options import DRIFT_FLOOR_DB, PRESET_STEPS, candidates, fastest_within_floor
from bench.quality import REPO_ROOT, SHIPPED, held_out_person, trimmed
from bench.report import RESULTS, report
from bench.step_measure import psnr
from pipelines.audio.encoders import load_audio_encoder
from pipelines.guidance import GuidanceScales
from pipelines.model_files import load_portrait_model
from pipelines.region_scales import RegionScales
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video
from pipelines.speed_options import SpeedOptions, SpeedPreset
from pipelines.train.evaluation import decoded_frames, talking_conditions
from pipelines.train.speech import held_out_utterances
from pipelines.train.tiny_vae import load_tiny_vae

DEMO_GUIDANCE = GuidanceScales(1.5, 2.5)  # the demo model's recommended CFG: three branches
DEMO_FRAMES = 50
WHISPER = os.path.join(REPO_ROOT, "models", "audio_encoders", "whisper-tiny.en")


@dataclass
class DemoClip:
    """The shipped demo model, its VAE and the conditions of one held-out clip."""

    model: torch.nn.Module
    vae: object
    cond: object

    @classmethod
    def load(cls, frames: int, encoder: str) -> "DemoClip":
        model = load_portrait_model(os.path.join(SHIPPED, "gated_portrait_tiny_demo.safetensors"))
        vae = load_tiny_vae(os.path.join(SHIPPED, "taesd_tiny_demo.safetensors"))
        utterance = trimmed(held_out_utterances(("en",))[0], frames)
        cond = talking_conditions(model, vae, load_audio_encoder(encoder), held_out_person(0), utterance, RegionScales())
        return cls(model, vae, cond)

    @torch.no_grad()
    def sample(self, preset: SpeedPreset, steps: int, repeats: int) -> tuple[torch.Tensor, float]:
        """Decoded frames f 3 h w and the best sampling time of `repeats` runs, in CPU seconds of this process (one
        thread: other processes on a shared machine barely change it, unlike wall time)."""
        settings = preset.settings(SamplerSettings(steps, "ddim", DEMO_GUIDANCE, seed=0))
        best, latents = float("inf"), None
        for _ in range(repeats):
            started = time.process_time()
            latents = sample_video(self.model, self.cond, settings, LongVideoOptions(), speed=preset.options)
            best = min(best, time.process_time() - started)
        return decoded_frames(self.vae, latents[0] / self.model.config.latent_scale), best


def measure(clip: DemoClip, step_counts: list[int], repeats: int) -> list[dict]:
    """One row per (lossy option, step count): option, steps run, scheduler, lossy switches, drift_psnr, vs_lossless
    and sample_cpu_s."""
    rows = []
    clip.sample(SpeedPreset("warm-up", SpeedOptions()), 1, 1)  # one-time costs out of the first timing
    for steps in step_counts:
        lossless, lossless_s = clip.sample(SpeedPreset("lossless", SpeedOptions()), steps, repeats)
        for preset in candidates():
            frames, seconds = clip.sample(preset, steps, repeats)
            drift = psnr(frames, lossless, peak=1.0)
            rows.append({"option": preset.name, "at_steps": steps, "steps": preset.steps(steps),
                         "scheduler": preset.scheduler or "ddim", "lossy": preset.options.lossy(),
                         "drift_psnr": None if drift == float("inf") else round(drift, 2),
                         "vs_lossless": round(seconds / lossless_s, 3), "sample_cpu_s": round(seconds, 3)})
            print(rows[-1], flush=True)
    return rows


def family(row: dict) -> str:
    """The kind of lossy option a row measures (the plot's colours)."""
    solver = row["scheduler"] != "ddim"
    if solver and row["lossy"]:
        return "solver + DeepCache"
    if solver:
        return "fewer solver steps"
    return " + ".join(sorted({"cfg_cutoff": "CFG cutoff", "deep_cache_interval": "DeepCache"}[k] for k in row["lossy"]))


def plot(rows: list[dict], path, floor: float = DRIFT_FLOOR_DB) -> None:
    """Drift (dB) against time (x lossless): colour by kind of option, marker by step count, the floor as a line,
    the fastest point kept at each step count ringed and named."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=110)
    families = sorted({family(r) for r in rows})
    colours = dict(zip(families, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for steps, marker in zip(sorted({r["at_steps"] for r in rows}), "os^"):
        points = [r for r in rows if r["at_steps"] == steps and r["drift_psnr"] is not None]  # None: identical
        axes.scatter([r["vs_lossless"] for r in points], [r["drift_psnr"] for r in points], marker=marker,
                     c=[colours[family(r)] for r in points], alpha=0.8)
        axes.scatter([], [], marker=marker, color="grey", label=f"lossless = DDIM {steps} steps")
        chosen = fastest_within_floor(rows, steps, floor)
        if chosen:
            axes.scatter([chosen["vs_lossless"]], [chosen["drift_psnr"]], s=180, facecolors="none", edgecolors="red")
            axes.annotate(f"{chosen['option']} ({steps})", (chosen["vs_lossless"], chosen["drift_psnr"]), fontsize=7,
                          xytext=(8, 10 if steps == PRESET_STEPS else -14), textcoords="offset points")
    for name, colour in colours.items():
        axes.scatter([], [], marker="s", color=colour, label=name)
    axes.axhline(floor, color="red", linestyle="--", linewidth=1, label=f"{floor:.0f} dB floor")
    axes.set_xlabel("sampling time / lossless sampling time")
    axes.set_ylabel("drift: PSNR of the decoded video vs lossless (dB)")
    axes.set_title("Lossy speed options on the shipped demo model (CPU, same seed)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def lossy_drift(frames: int, step_counts: list[int], repeats: int, encoder: str) -> dict:
    """`lossy_drift_cpu` rows and `preset_cpu`: the fastest option keeping DRIFT_FLOOR_DB at PRESET_STEPS (the
    choice pipelines/speed_options.FAST_PRESET ships)."""
    rows = measure(DemoClip.load(frames, encoder), step_counts, repeats)
    plot(rows, RESULTS / "lossy_drift_cpu.png")
    chosen = fastest_within_floor(rows)
    return {
        "lossy_drift_cpu": rows,
        "preset_cpu": chosen and {key: chosen[key] for key in ("option", "steps", "scheduler", "lossy", "drift_psnr", "vs_lossless")},
        "demo_clip": {"frames": frames, "guidance": [DEMO_GUIDANCE.image, DEMO_GUIDANCE.audio], "repeats": repeats},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=DEMO_FRAMES)
    parser.add_argument("--steps", type=int, nargs="+", default=[PRESET_STEPS, 40])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--encoder", default=WHISPER)
    args = parser.parse_args()
    report("lossy_drift_cpu", lossy_drift(args.frames, args.steps, args.repeats, args.encoder))


if __name__ == "__main__":
    main()
