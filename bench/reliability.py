"""Reliability figures: the demo's peak memory with a phone-size photo against a 512x512 one, and how long a
cancel takes to stop sampling.

Usage: python -m bench.reliability [--steps 4] [--repeats 3] [--busy 2] [--skip-rss]

- peak RSS: a fresh ComfyUI server per portrait runs the demo workflow (shipped demo model, Whisper tiny.en) with
  the demo portrait scaled up into a 4032x3024 JPEG and into a 512x512 PNG; the server's VmHWM after the run.
- interrupt_latency_s (CPU): the demo workflow at its settings (20 steps, cfg 1.5 / 2.5) in one server, with
  `--busy` processes spinning on the other cores; /interrupt is POSTed after the sampler reported some windows,
  the latency runs to the host's execution_interrupted message.
- interrupt_latency_s (GPU, only where CUDA is present): the full-size SD1.5-shaped model (random weights, fp16)
  sampling 512x512 (64x64 latents), cancelled through the sampler's interrupt check from a timer thread.

Prints one JSON object and writes bench/results/reliability.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from PIL import Image

from bench.report import report
from bench.step_measure import random_model
from pipelines.config import PortraitModelConfig
from pipelines.guidance import GuidanceScales
from pipelines.sampler import SamplerSettings, sample_video
from pipelines.tiny_models import tiny_conditions
from scripts.comfy_host import ComfyHost
from scripts.demo_measures import DEMO, DEMO_PORTRAIT, DEMO_SPEECH, demo_face_box, enlarged_demo_portrait
from scripts.make_demo_models import write_demo_models
from scripts.workflow_to_api import convert

PHONE = (4032, 3024)


def demo_prompt(host: ComfyHost, image: str, face_box: str, steps: int | None) -> tuple[dict, str]:
    """The demo workflow in API form on `image` -> (prompt, the sampler's node id)."""
    prompt = convert(json.loads(DEMO.read_text()), host.object_info())
    nodes = {node["class_type"]: (key, node) for key, node in prompt.items()}
    nodes["LoadImage"][1]["inputs"]["image"] = image
    nodes["RegionMaskFromLandmarks"][1]["inputs"]["face_box"] = face_box
    nodes["VAEDecodeVideo"][1]["inputs"]["filename_prefix"] = "reliability_bench"
    sampler_id, sampler = nodes["GatedUNetSample"]
    if steps is not None:
        sampler["inputs"]["steps"] = steps
    return prompt, sampler_id


def demo_server(base: Path) -> ComfyHost:
    host = ComfyHost(base).start()
    write_demo_models(host.models_dir)
    shutil.copy(DEMO_SPEECH, host.input_dir / "speech.wav")
    shutil.copy(DEMO_PORTRAIT, host.input_dir / "demo_portrait.png")
    return host


def peak_rss(size: tuple[int, int], steps: int) -> dict:
    """The demo in a fresh server on the demo portrait enlarged to `size` (w, h)."""
    with tempfile.TemporaryDirectory(prefix="gp-reliability-") as base:
        host = demo_server(Path(base))
        try:
            name = "portrait.jpg" if size == PHONE else "portrait.png"
            face_box = enlarged_demo_portrait(host.input_dir / name, size)
            prompt, sampler_id = demo_prompt(host, name, face_box, steps)
            idle = host.peak_rss_mb()
            started = time.perf_counter()
            entry = host.run_prompt(prompt, timeout=3600)
            return {
                "portrait": f"{size[0]}x{size[1]}",
                "sampled_at": entry["outputs"][sampler_id]["gated_portrait_size"][0],
                "server_peak_rss_mb_idle": round(idle, 1),
                "server_peak_rss_mb": round(host.peak_rss_mb(), 1),
                "wall_s": round(time.perf_counter() - started, 1),
            }
        finally:
            host.stop()


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def cpu_interrupt_latency(repeats: int, busy: int) -> dict:
    """The demo at its own settings, cancelled `repeats` times at different windows while `busy` cores spin."""
    with tempfile.TemporaryDirectory(prefix="gp-reliability-") as base:
        host = demo_server(Path(base))
        stop = multiprocessing.Event()
        spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(busy)]
        try:
            prompt, sampler_id = demo_prompt(host, "demo_portrait.png", demo_face_box(), None)
            host.run_prompt(prompt, timeout=3600)  # models loaded and audio encoded, as on a user's second run
            for spinner in spinners:
                spinner.start()
            latencies = []
            for repeat in range(repeats):
                prompt[sampler_id]["inputs"]["seed"] = 1000 + repeat  # a new seed: the sampler runs again, the rest is cached
                run = host.run_and_interrupt(prompt, sampler_id, after_progress=2 + 5 * repeat)
                latencies.append(run.latency_s)
        finally:
            stop.set()
            for spinner in spinners:
                spinner.join(timeout=5)
            host.stop()
    return {
        "interrupt_latency_s": round(max(latencies), 3),
        "interrupt_latency_s_each": [round(v, 3) for v in latencies],
        "busy_processes": busy,
        "cpu_count": os.cpu_count(),
        "settings": "demo workflow: shipped demo model, 20 steps, cfg_image 1.5, cfg_audio 2.5, 4 windows per call",
    }


def gpu_interrupt_latency(repeats: int) -> dict:
    """Full-size model on CUDA, cancelled from a timer thread 2 s into sampling (the check the node passes)."""
    if not torch.cuda.is_available():
        return {"interrupt_latency_s": None, "reason": "no CUDA device on this machine"}
    config = PortraitModelConfig.named("sd15")
    model = random_model(config, "cuda", torch.float16)
    cond = tiny_conditions(48, 64, config=config).to("cuda")
    latencies = []
    for _ in range(repeats):
        asked = {}

        def check() -> None:
            if "at" in asked:
                raise InterruptedError

        timer = threading.Timer(2.0, lambda: asked.setdefault("at", time.perf_counter()))
        timer.start()
        try:
            sample_video(model, cond, SamplerSettings(40, guidance=GuidanceScales(3.5, 3.5)), interrupt=check)
        except InterruptedError:
            torch.cuda.synchronize()
            latencies.append(time.perf_counter() - asked["at"])
        timer.cancel()
    return {
        "interrupt_latency_s": round(max(latencies), 3),
        "interrupt_latency_s_each": [round(v, 3) for v in latencies],
        "device": torch.cuda.get_device_name(),
        "settings": "sd15-shaped model, fp16, 48 frames at 512x512, cfg 3.5 / 3.5, 1 window per call",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="sampling steps of the peak-RSS runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2, help="spinning processes during the CPU interrupt runs")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    result = {"command": "python -m bench.reliability " + " ".join(sys.argv[1:])}
    if not args.skip_rss:
        small, phone = peak_rss((512, 512), args.steps), peak_rss(PHONE, args.steps)
        result["peak_rss"] = {
            "portrait_512": small,
            "portrait_4032x3024": phone,
            "difference_mb": round(phone["server_peak_rss_mb"] - small["server_peak_rss_mb"], 1),
        }
    result["interrupt_cpu"] = cpu_interrupt_latency(args.repeats, args.busy)
    result["interrupt_gpu"] = gpu_interrupt_latency(args.repeats)
    report("reliability", result)


if __name__ == "__main__":
    main()
