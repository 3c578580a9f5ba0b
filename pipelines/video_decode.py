"""VAE video decode: video latents to frames in chunks, with optional background stabilisation.

The denoiser's latents hold every frame of a long video; decoding them at once would need the
whole IMAGE batch in memory (15,000 frames at 512x512 are 47 GB as float32). Decoding yields
chunks instead, so a writer can stream them to disk. `plan_decode` sizes the chunks from a memory
budget (a share of the free memory, capped so the decode does not set the run's peak) and, where
one frame alone exceeds it, decodes each frame in tiles.

Background stabilisation follows LinguaLinker (paper 000, sec. 3.2 "Inference": the background
of long videos is kept from the reference image to stop error accumulation beyond the portrait)
with the masked blending of FaceChain-ImagineID (paper 004, sec. 3.2, Mask-guided Blending
Adapter, eq. 10: F = F_dec * m + F_bg * (1 - m) with a dilated portrait mask m). Here the blend
runs on decoded pixels with no trained layer: m is the grown and feathered head mask, the
background is the reference image, and a strength scales 1 - m.

Letters: b batch, c channels, f frames, h w spatial, n frames of one chunk.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.transforms.v2.functional import gaussian_blur

from .conditions import RegionMasks
from .diffusers_vae import decode_latents, pixel_factor
from .errors import PortraitInputError
from .mask_resize import resize_region_masks

#: decode_frames(latents n c h w) -> images n H W 3 in 0..1
FrameDecoder = Callable[[torch.Tensor], torch.Tensor]
#: progress(done_frames, total_frames); may raise to cancel
Progress = Callable[[int, int], None]

#: Rough decoder activation memory per output pixel, in elements: an SD-style KL decoder runs
#: 128 channels at full resolution and keeps about 16 such maps alive at its peak.
DECODE_ELEMENTS_PER_PIXEL = 128 * 16
#: Largest automatic chunk: larger chunks do not decode faster but cost host memory.
MAX_AUTO_CHUNK = 64
#: Share of the free device memory one decode chunk may use.
FREE_MEMORY_SHARE = 0.5
#: Ceiling of one decode chunk's memory on an accelerator: past a few 512x512 frames a chunk keeps the device no
#: busier, it only raises the run's memory peak above the sampling's. Low-VRAM mode halves it. On the CPU only the
#: free-memory share bounds a chunk (tiles there would only slow the decode).
DECODE_BUDGET_BYTES = 2 * 2**30
LOW_VRAM_DECODE_BUDGET_BYTES = 2**30
#: Smallest tile side (latent pixels) of a tiled decode, and the step tile sides are rounded down to.
MIN_TILE = 8


def estimate_decode_bytes(height: int, width: int, dtype_bytes: int = 4) -> int:
    """Peak decoder memory for one frame of height x width output pixels (an upper estimate)."""
    return height * width * DECODE_ELEMENTS_PER_PIXEL * dtype_bytes


@dataclass(frozen=True)
class DecodePlan:
    """How a video is decoded within a memory budget: `chunk_size` frames per VAE call, and where one frame alone
    exceeds the budget, each frame in square tiles of `tile` latent pixels (None: whole frames)."""

    chunk_size: int
    tile: int | None = None


def decode_ceiling(device: torch.device, low_vram: bool = False) -> int | None:
    """The most one decode chunk may use on `device` (None: no ceiling but the free memory, on the CPU)."""
    if torch.device(device).type == "cpu":
        return None
    return LOW_VRAM_DECODE_BUDGET_BYTES if low_vram else DECODE_BUDGET_BYTES


def plan_decode(
    free_bytes: int, frame_bytes: int, latent_size: tuple[int, int], share: float = FREE_MEMORY_SHARE,
    max_bytes: int | None = DECODE_BUDGET_BYTES, max_chunk: int = MAX_AUTO_CHUNK,
) -> DecodePlan:
    """The decode plan for frames costing `frame_bytes` each (h w latent pixels): as many frames per chunk as
    min(share x free_bytes, max_bytes) holds (1..max_chunk), or one frame in the largest tile that fits (>= MIN_TILE)."""
    budget = free_bytes * share if max_bytes is None else min(free_bytes * share, max_bytes)
    frames = int(budget // max(1, frame_bytes))
    if frames >= 1:
        return DecodePlan(min(max_chunk, frames))
    height, width = latent_size
    side = math.isqrt(int(budget * height * width // max(1, frame_bytes)))  # tile memory ~ its share of the frame
    return DecodePlan(1, max(MIN_TILE, side // MIN_TILE * MIN_TILE))


def free_memory_bytes(device: torch.device) -> int:
    """Free memory where a decode runs: CUDA's free memory on the device, else the host's available RAM."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def autoencoder_decode_plan(vae, latents: torch.Tensor, low_vram: bool = False) -> DecodePlan:
    """`plan_decode` for a diffusers autoencoder decoding (b c) f h w latents on its device, within its ceiling."""
    height, width = latents.shape[-2:]
    factor = pixel_factor(vae)
    frame_bytes = estimate_decode_bytes(height * factor, width * factor, vae.dtype.itemsize)
    ceiling = decode_ceiling(vae.device, low_vram)
    return plan_decode(free_memory_bytes(vae.device), frame_bytes, (height, width), max_bytes=ceiling)


def autoencoder_frame_decoder(vae, tile: int | None = None) -> FrameDecoder:
    """A FrameDecoder over a diffusers autoencoder: unscaled latents n c h w -> n H W 3 in 0..1; with `tile`, each
    frame of an AutoencoderKL is decoded in tiles of that many latent pixels (diffusers' tiled_decode, blended
    overlaps)."""
    if tile is not None:
        vae.tile_latent_min_size = tile
        vae.tile_sample_min_size = tile * pixel_factor(vae)

    def decode_frames(latents: torch.Tensor) -> torch.Tensor:
        images = decode_latents(vae, latents, tiled=tile is not None and max(latents.shape[-2:]) > tile)
        return ((images.float() + 1) / 2).clamp(0, 1).movedim(1, -1)

    return decode_frames


def as_video_latents(samples: torch.Tensor) -> torch.Tensor:
    """b c f h w video latents as they are; an image batch f c h w becomes one video 1 c f h w."""
    if samples.ndim == 4:
        return samples.movedim(0, 1)[None]
    if samples.ndim != 5:
        raise PortraitInputError(
            "latent", f"has shape {tuple(samples.shape)}, expected b c f h w video latents or f c h w frames",
            "connect the video latents of the portrait sampler",
        )
    return samples


def video_frame_count(latents: torch.Tensor) -> int:
    """Number of frames decoded from b c f h w (or f c h w) latents, (b f) in all."""
    latents = as_video_latents(latents)
    return latents.shape[0] * latents.shape[2]


def decode_video_chunks(
    latents: torch.Tensor,
    decode_frames: FrameDecoder,
    chunk_size: int,
    stabilizer: BackgroundStabilizer | None = None,
    progress: Progress | None = None,
) -> Iterator[torch.Tensor]:
    """Decode video latents chunk by chunk, videos one after another.

    latents: b c f h w (or f c h w, see `as_video_latents`) -> yields n H W 3 (0..1,
    n <= chunk_size) in (b f) order; a chunk never spans two videos. progress(done, total) is
    called after each chunk and may raise to cancel.
    """
    latents = as_video_latents(latents)
    if chunk_size < 1:
        raise PortraitInputError("chunk_size", f"is {chunk_size}", "use 1 or more frames per chunk")
    total = video_frame_count(latents)
    frames_per_video = latents.shape[2]
    if stabilizer is not None:
        stabilizer.check_rows(frames_per_video)
    done = 0
    for video in range(latents.shape[0]):
        for start in range(0, frames_per_video, chunk_size):
            frame_ids = torch.arange(start, min(start + chunk_size, frames_per_video))
            chunk = latents[video, :, start : start + chunk_size].movedim(1, 0).contiguous()  # n c h w
            images = decode_frames(chunk)
            if stabilizer is not None:
                images = stabilizer.apply(images, frame_ids)
            done += len(frame_ids)
            if progress is not None:
                progress(done, total)
            yield images


def head_mask_of(regions: RegionMasks) -> torch.Tensor:
    """b h w head mask: LinguaLinker's "head" region, or all but Hallo's "pose" (background) region."""
    if "head" in regions.names:
        return regions.channel("head")
    if "pose" in regions.names:
        return 1 - regions.channel("pose")
    raise PortraitInputError(
        "regions", f"has no head or pose region (it has {regions.names})", "connect the regions of RegionMaskFromLandmarks"
    )


@dataclass
class BackgroundStabilizer:
    """Blends decoded frames toward the reference image outside the (feathered) head mask.

    reference: (1|f) h w 3 in 0..1; head_mask: (1|f) h w in 0..1 (1 = head). Either may have
    one row for all frames or one row per frame of a video. strength 0..1: 0 keeps the decoded
    frame, 1 copies the reference background. feather: width of the soft edge as a fraction of
    the frame's shorter side; the mask is first grown by that width, so the head itself stays
    untouched and the edge falls in the background.
    """

    reference: torch.Tensor
    head_mask: torch.Tensor
    strength: float
    feather: float = 0.04

    def check_rows(self, frames_per_video: int) -> None:
        """Reference and mask need one row for all frames or one per frame of a video."""
        for input_name, batch in (("reference", self.reference), ("regions", self.head_mask)):
            if batch.shape[0] not in (1, frames_per_video):
                raise PortraitInputError(
                    input_name, f"has {batch.shape[0]} images for videos of {frames_per_video} frames",
                    "give one image for all frames, or one per frame",
                )

    def reference_weight(self, frame_ids: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """How much of the reference each pixel takes: n|1 h w in 0..strength."""
        mask = _rows(self.head_mask, frame_ids).float()
        head = resize_region_masks(mask[:, None], size)  # n 1 h w
        radius = round(self.feather * min(size))
        if radius > 0:
            head = F.max_pool2d(head, 2 * radius + 1, stride=1, padding=radius)
            head = gaussian_blur(head, [2 * radius + 1] * 2, [radius / 3] * 2)
        return self.strength * (1 - head[:, 0].clamp(0, 1))

    def apply(self, frames: torch.Tensor, frame_ids: torch.Tensor) -> torch.Tensor:
        """frames n h w 3 -> n h w 3 with the background pulled toward the reference."""
        if self.strength == 0:
            return frames
        size = tuple(frames.shape[1:3])
        reference = _rows(self.reference, frame_ids).to(frames)
        if tuple(reference.shape[1:3]) != size:
            reference = F.interpolate(
                reference.movedim(-1, 1), size=size, mode="bilinear", antialias=True, align_corners=False
            ).movedim(1, -1)
        weight = self.reference_weight(frame_ids, size).to(frames)[..., None]  # n h w 1
        return torch.lerp(frames, reference, weight)


def _rows(batch: torch.Tensor, frame_ids: torch.Tensor) -> torch.Tensor:
    """The rows of a (1|f) ... tensor for the given frames (a single row is shared by all)."""
    return batch[:1] if batch.shape[0] == 1 else batch[frame_ids]


class FrameCollector:
    """Watches chunks pass by: keeps the last chunk, and with keep_all every frame in one
    preallocated f h w 3 tensor (no concatenation copy)."""

    def __init__(self, total: int, keep_all: bool = True):
        self.total = total
        self.keep_all = keep_all
        self.frames: torch.Tensor | None = None
        self.last: torch.Tensor | None = None
        self._filled = 0

    def tee(self, chunks: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Yield each n h w 3 chunk unchanged after noting it."""
        for chunk in chunks:
            if self.keep_all:
                if self.frames is None:
                    self.frames = torch.empty((self.total, *chunk.shape[1:]), dtype=torch.float32)
                self.frames[self._filled : self._filled + len(chunk)] = chunk
                self._filled += len(chunk)
            self.last = chunk
            yield chunk

    def collect(self, chunks: Iterable[torch.Tensor]) -> None:
        """Run through all chunks (when nothing else consumes them)."""
        for _ in self.tee(chunks):
            pass
