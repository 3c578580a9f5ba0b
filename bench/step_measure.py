"""Measuring helpers of bench/step_time.py: model and inputs, peak memory, matmul peak, FLOPs, timed sampling, PSNR.

Letters: b batch, c channels, f frames, n frames of the video, h w latent size.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from pipelines.conditions import VideoConditions
from pipelines.config import PortraitModelConfig
from pipelines.guidance import GuidanceScales
from pipelines.portrait_model import PortraitModel
from pipelines.sampler import LongVideoOptions, SamplerSettings, guided_prediction, sample_video
from pipelines.speed_options import SpeedOptions
from pipelines.video_decode import DecodePlan, autoencoder_decode_plan, autoencoder_frame_decoder, decode_video_chunks


def random_model(config: PortraitModelConfig, device: str, dtype: torch.dtype, seed: int = 0) -> PortraitModel:
    """The model with its default random init built on `device`, temporal outputs and gates woken so frames,
    audio and regions interact (a release initialises them to zero)."""
    torch.manual_seed(seed)
    with torch.device(device):
        model = PortraitModel(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(".alpha"):
                param.fill_(0.2)
            if ".motion_modules." in name and "proj_out" in name:
                param.normal_(0, 0.1)
    return model.to(dtype)


def random_vae(full_size: bool, device: str, dtype: torch.dtype):
    """A diffusers AutoencoderKL with random weights, x8: SD1.5's layout, or a narrow one for the CPU."""
    from diffusers import AutoencoderKL

    widths = (128, 256, 512, 512) if full_size else (16, 16, 32, 32)
    torch.manual_seed(0)
    with torch.device(device):
        vae = AutoencoderKL(
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=widths, layers_per_block=2 if full_size else 1, norm_num_groups=32 if full_size else 8,
            latent_channels=4,
        )
    return (vae if dtype == torch.float32 else vae.to(dtype)).eval()


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class PeakMemory:
    """Peak memory over a `with` block, in GB: torch.cuda.max_memory_allocated on CUDA, sampled RSS on the CPU."""

    def __init__(self, device: str):
        self.device, self.peak_gb = device, 0.0
        self._stop = threading.Event()

    def _rss_gb(self) -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_gb = max(self.peak_gb, self._rss_gb())

    def __enter__(self) -> "PeakMemory":
        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        else:
            self.peak_gb = self._rss_gb()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.startswith("cuda"):
            self.peak_gb = torch.cuda.max_memory_allocated() / 2**30
        else:
            self._stop.set()
            self._thread.join()
            self.peak_gb = max(self.peak_gb, self._rss_gb())


def matmul_peak_tflops(device: str, dtype: torch.dtype, seconds: float = 1.0) -> float:
    """Best TFLOP/s of a square matmul loop in the bench's dtype (n = 8192 on CUDA, 1024 on the CPU)."""
    n = 8192 if device.startswith("cuda") else 1024
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    best, started = 0.0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        synchronize(device)
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
        synchronize(device)
        best = max(best, 10 * 2 * n**3 / (time.perf_counter() - t0) / 1e12)
    return best


def flops_per_frame_forward(model: PortraitModel, cond: VideoConditions) -> float:
    """FLOPs of one denoiser frame-forward (one clip, one CFG branch, reference attention on), FlopCounterMode."""
    frames = model.config.clip_length
    dtype = next(model.parameters()).dtype
    side = cond.reference_latent.shape[-1]
    sample = torch.randn(1, 4, frames, side, side, device=cond.reference_latent.device)
    with torch.no_grad():
        reference = model.encode_reference(cond.reference_latent.to(dtype), **cond.face_inputs())
        with FlopCounterMode(display=False) as counter:
            guided_prediction(model, sample, torch.tensor(500), reference, cond.audio_blocks[:, :frames], cond, GuidanceScales(1.0, 1.0))
    return counter.get_total_flops() / frames


@dataclass
class Run:
    """One timed sampling run (+ decode): latents b c n h w, decoded frames n H W 3, seconds, memory (the whole run,
    the sampling alone and the decode alone), rows, and the decode's plan."""

    latents: torch.Tensor
    video: torch.Tensor
    sample_s: float
    decode_s: float
    peak_gb: float
    frame_forwards: int
    sampling_peak_gb: float
    decode_peak_gb: float
    decode_plan: DecodePlan


def park(module: torch.nn.Module, device: str) -> None:
    """Move a module to `device` and return the freed CUDA blocks (a model not in use, as ComfyUI offloads it)."""
    module.to(device)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def timed_run(
    model: PortraitModel, vae, cond: VideoConditions, settings: SamplerSettings, long_video: LongVideoOptions,
    speed: SpeedOptions, device: str,
) -> Run:
    """Sample and decode one video, the decode in chunks planned from the free memory. Low VRAM
    (speed.offload_reference): the VAE waits on the CPU while sampling, the portrait model while decoding, and the
    decode has the low-VRAM ceiling."""
    rows = [0]
    predict = model.predict
    low_vram = speed.offload_reference

    def counting_predict(sample, *args, **kwargs):
        rows[0] += sample.shape[0] * sample.shape[2]
        return predict(sample, *args, **kwargs)

    model.predict = counting_predict
    try:
        if low_vram:
            park(vae, "cpu")
        synchronize(device)
        with PeakMemory(device) as sampling_memory:
            t0 = time.perf_counter()
            latents = sample_video(model, cond, settings, long_video, speed=speed)
            synchronize(device)
            t1 = time.perf_counter()
        if low_vram:
            park(model, "cpu")
            park(vae, device)
        unscaled = latents / model.config.latent_scale
        plan = autoencoder_decode_plan(vae, unscaled, low_vram)
        with PeakMemory(device) as decode_memory:
            t2 = time.perf_counter()
            decoder = autoencoder_frame_decoder(vae, plan.tile)
            video = torch.cat([chunk.cpu() for chunk in decode_video_chunks(unscaled, decoder, plan.chunk_size)])
            synchronize(device)
            t3 = time.perf_counter()
    finally:
        del model.predict
        if low_vram:
            park(model, device)
    peak = max(decode_memory.peak_gb, sampling_memory.peak_gb)  # CUDA's peak counter restarts at each block
    return Run(latents.float().cpu(), video, t1 - t0, t3 - t2, peak, rows[0], sampling_memory.peak_gb,
               decode_memory.peak_gb, plan)


def psnr(test: torch.Tensor, reference: torch.Tensor, peak: float | None = None) -> float:
    """PSNR in dB of test against reference; peak: the signal range (default: reference max - min)."""
    peak = float(reference.max() - reference.min()) if peak is None else peak
    mse = float(((test.float() - reference.float()) ** 2).mean())
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(peak**2 / mse)).item()
