"""Headless render: portrait + speech -> talking-portrait mp4, without ComfyUI, on one device or on several ranks.

    python -m apps.render --portrait face.png --audio speech.wav --model model.safetensors \
        --audio-encoder models/audio_encoders/whisper-tiny.en --vae sd-vae-ft-mse/ --output out.mp4
    torchrun --nproc-per-node 4 -m apps.render ...   # clip parallelism (pipelines/clip_parallel.py)

The same stages as the node graph: MediaPipe landmarks -> region masks (000 §4.3), the encoder's per-frame audio
blocks (000 §3.1), the reference latent from a diffusers AutoencoderKL folder or a TAESD file, the region-gated sampler with
shift fusion (002 §3.3), chunked VAE decode and the streaming mp4 writer with the audio muxed in. Under torchrun
every rank loads the models and prepares the conditions itself (only latents move between ranks); each step's
windows are spread over the ranks (NCCL on CUDA, gloo on CPU) and rank 0 decodes and writes the mp4. A rank that
dies fails the others at `--timeout-s` instead of hanging.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from pipelines.animate import AnimateSettings, animate, preset_settings
from pipelines.audio.embed import embed_audio
from pipelines.audio.encoders import load_audio_encoder
from pipelines.clip_parallel import DistributedWindows, LocalWindows
from pipelines.conditions import HALLO_REGIONS
from pipelines.diffusers_vae import encode_pixels, load_vae, pixel_factor
from pipelines.errors import PortraitInputError
from pipelines.face_landmarks import find_face_landmarks
from pipelines.guidance import GuidanceScales
from pipelines.model_files import load_portrait_model
from pipelines.noise_schedulers import SCHEDULERS
from pipelines.portrait_fit import fit_portrait
from pipelines.region_masks import portrait_region_masks
from pipelines.region_scales import RegionScales
from pipelines.sampler import STRATEGIES, LongVideoOptions, SamplerSettings
from pipelines.speed_options import SPEED_PRESETS
from pipelines.video_decode import DecodePlan, autoencoder_decode_plan, autoencoder_frame_decoder, decode_video_chunks
from pipelines.video_writer import write_mp4
from pipelines.window_schedules import SEAMS

FACE_MODELS = Path(__file__).resolve().parents[1] / "models" / "face"
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
DEFAULT_SAMPLING, DEFAULT_LONG_VIDEO = SamplerSettings(), LongVideoOptions()


def read_portrait(path: str) -> torch.Tensor:
    """An image file -> 1 H W 3 float 0..1 (ComfyUI's IMAGE layout)."""
    try:
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    except OSError as error:
        raise PortraitInputError("portrait", f"cannot read {path} ({error})", "give a PNG or JPEG image") from error
    return torch.from_numpy(pixels)[None]


def read_audio(path: str) -> tuple[torch.Tensor, int]:
    """Any audio (or video) file ffmpeg reads -> waveform c t float32 and its sample rate."""
    try:
        with av.open(path) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
            chunks = [f.to_ndarray() for frame in container.decode(stream) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray() for f in resampler.resample(None)]
            rate = stream.rate
    except (av.error.FFmpegError, OSError, IndexError) as error:
        raise PortraitInputError("audio", f"cannot decode an audio stream from {path} ({error})", "give a WAV, MP3, FLAC or M4A file") from error
    if not chunks:
        raise PortraitInputError("audio", f"{path} holds no audio samples", "give audio at least one video frame long")
    return torch.from_numpy(np.concatenate(chunks, axis=1)), rate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apps.render", description=__doc__.split("\n\n")[0])
    io = parser.add_argument_group("inputs and output")
    io.add_argument("--portrait", required=True, help="portrait image (PNG/JPEG), any size: scaled to the model's resolution")
    io.add_argument("--audio", required=True, help="speech file (anything ffmpeg decodes)")
    io.add_argument("--model", required=True, help="pack-native model (.safetensors with its config)")
    io.add_argument("--audio-encoder", required=True, help="Hugging Face folder of the speech encoder the model was trained with")
    io.add_argument("--vae", required=True, help="diffusers AutoencoderKL folder (e.g. sd-vae-ft-mse) or TAESD .safetensors file (the demo model's)")
    io.add_argument("--output", required=True, help="mp4 to write (written to a temporary name, renamed when complete)")
    io.add_argument("--face-models", default=str(FACE_MODELS), help="folder of the MediaPipe face models")
    io.add_argument("--face-box", default="", help="'x,y,w,h' pixels of the face instead of detection")
    io.add_argument("--save-latents", help="also save the sampled latents (safetensors, key 'latents', model scale)")
    sampling = parser.add_argument_group("sampler")
    sampling.add_argument("--fps", type=float, default=25.0)
    sampling.add_argument("--steps", type=int, default=DEFAULT_SAMPLING.steps)
    sampling.add_argument("--scheduler", choices=sorted(SCHEDULERS), default=DEFAULT_SAMPLING.scheduler)
    sampling.add_argument("--cfg-image", type=float, default=DEFAULT_SAMPLING.guidance.image)
    sampling.add_argument("--cfg-audio", type=float, default=DEFAULT_SAMPLING.guidance.audio)
    sampling.add_argument("--cfg-audio-head", type=float, default=None, help="audio guidance outside the mouth (default: --cfg-audio)")
    sampling.add_argument("--seed", type=int, default=DEFAULT_SAMPLING.seed)
    for region in ("head", "mouth", "eyes"):
        sampling.add_argument(f"--{region}", type=float, default=getattr(RegionScales(), region), help=f"{region} motion scale")
    sampling.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_LONG_VIDEO.strategy)
    sampling.add_argument("--alpha", type=int, default=DEFAULT_LONG_VIDEO.alpha, help="shift fusion: shift per step in frames")
    sampling.add_argument("--seam", choices=SEAMS, default=DEFAULT_LONG_VIDEO.seam)
    sampling.add_argument("--overlap", type=int, default=DEFAULT_LONG_VIDEO.overlap)
    sampling.add_argument("--motion-frames", type=int, default=DEFAULT_LONG_VIDEO.motion_frames)
    run = parser.add_argument_group("run")
    run.add_argument("--device", help="torch device (default: this rank's CUDA device, else cpu)")
    run.add_argument("--dtype", choices=["auto", *sorted(DTYPES)], default="auto",
                     help="weight precision; auto: fp16 on CUDA, fp32 on the CPU")
    run.add_argument("--speed", choices=sorted(SPEED_PRESETS), default="lossless",
                     help="fast: speed_options.FAST_PRESET, fewer steps of a multistep solver with DeepCache (its drift from "
                          "the lossless video: bench/lossy_drift.py)")
    run.add_argument("--compile", action="store_true",
                     help="torch.compile the denoising UNet (a one-time compile before the first step)")
    run.add_argument("--chunk-size", type=int, default=0,
                     help="frames per VAE decode chunk; 0: planned from the free memory (tiled where one frame does not fit)")
    run.add_argument("--timeout-s", type=float, default=600, help="collective timeout: a dead rank fails the job after it")
    return parser.parse_args(argv)


def start_ranks(timeout_s: float) -> tuple[LocalWindows, torch.device]:
    """Join torchrun's process group when WORLD_SIZE > 1 (NCCL on CUDA, gloo on CPU) -> window executor, device."""
    cuda = torch.cuda.is_available()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return LocalWindows(), torch.device("cuda" if cuda else "cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(seconds=timeout_s))
    return DistributedWindows(), torch.device("cuda", local_rank) if cuda else torch.device("cpu")


@functools.lru_cache(maxsize=2)
def load_models(model_file: str, dtype: str, encoder_folder: str, vae_folder: str, device: torch.device) -> tuple:
    """(portrait model, audio encoder, VAE), kept per process: a farm worker loads them once for all its jobs."""
    model = load_portrait_model(model_file, DTYPES[dtype]).to(device)
    return model, load_audio_encoder(encoder_folder), load_vae(vae_folder, device)


def animate_settings(args: argparse.Namespace) -> AnimateSettings:
    """The sampler flags as the stage chain's settings, the --speed preset applied."""
    guidance = GuidanceScales(args.cfg_image, args.cfg_audio, audio_head=args.cfg_audio_head)
    sampling = SamplerSettings(args.steps, args.scheduler, guidance, args.seed)
    long_video = LongVideoOptions(args.strategy, args.alpha, args.seam, args.overlap, args.motion_frames)
    return preset_settings(args.speed, sampling, long_video, args.compile)


def render(args: argparse.Namespace, windows: LocalWindows, device: torch.device) -> dict:
    """Sample on every rank; rank 0 (or the only process) decodes and writes the mp4. -> summary of this run."""
    dtype = args.dtype if args.dtype != "auto" else ("fp16" if device.type == "cuda" else "fp32")
    model, encoder, vae = load_models(args.model, dtype, args.audio_encoder, args.vae, device)
    config = model.config
    portrait = read_portrait(args.portrait)
    waveform, sample_rate = read_audio(args.audio)
    landmarks = find_face_landmarks(portrait.numpy(), args.face_models, face_box=args.face_box)
    regions = portrait_region_masks(landmarks, "hallo" if tuple(config.regions) == HALLO_REGIONS else "lingualinker")
    portrait, regions, _ = fit_portrait(portrait, regions, config.resolution, pixel_factor(vae) * config.unet_factor)
    audio = embed_audio(encoder, waveform[None], sample_rate, args.fps, config.audio.context_frames, device=device)
    region_scales = RegionScales(args.head, args.mouth, args.eyes)
    started = time.perf_counter()
    latents = animate(model, encode_pixels(vae, portrait), audio, regions, region_scales, animate_settings(args), device=device, windows=windows)
    summary = {"frames": latents.shape[2], "ranks": windows.world_size, "sample_s": round(time.perf_counter() - started, 3)}
    if getattr(windows, "rank", 0) != 0:
        return summary
    if args.save_latents:
        from safetensors.torch import save_file

        save_file({"latents": latents.cpu().contiguous()}, args.save_latents)
    unscaled = latents / config.latent_scale
    plan = DecodePlan(args.chunk_size) if args.chunk_size > 0 else autoencoder_decode_plan(vae, unscaled)
    frames = decode_video_chunks(unscaled, autoencoder_frame_decoder(vae, plan.tile), plan.chunk_size)
    summary["output"] = write_mp4(args.output, frames, args.fps, waveform, sample_rate)
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    windows, device = start_ranks(args.timeout_s)
    if args.device:
        device = torch.device(args.device)
    try:
        summary = render(args, windows, device)
        passes = [windows.passes]
        if windows.world_size > 1:
            passes = [None] * windows.world_size
            dist.all_gather_object(passes, windows.passes)
        summary["window_passes_per_rank"] = passes
    except PortraitInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if "output" in summary:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
