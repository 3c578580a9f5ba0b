"""Fail before a long job starts when its memory cannot fit (issue: resource guards).

What grows with the audio's length is the sampler's whole-sequence state: latents, starting noise, the scaled
model input, the fused prediction and the scheduler's output (5 copies of b c n h w in float32), plus the audio
blocks. Per-window activations do not grow with length and are left to the host's model management. The
reference encode before sampling and each decode chunk after it are counted by the VAE's own estimates.
"""

from __future__ import annotations

from .errors import PortraitInputError

SEQUENCE_COPIES = 5
FLOAT32_BYTES = 4


def sampling_sequence_bytes(frames: int, latent_shape: tuple[int, int, int], audio_block_numel: int) -> int:
    """Bytes of the whole-sequence buffers for `frames` frames of c h w latents and l*c audio values per frame."""
    channels, height, width = latent_shape
    return frames * FLOAT32_BYTES * (SEQUENCE_COPIES * channels * height * width + audio_block_numel)


def require_memory(
    needed: int,
    free: int,
    what: str,
    input_name: str = "audio",
    fix: str = "split the audio into shorter parts, use a smaller portrait, or free memory (close other workflows)",
) -> None:
    """Raise PortraitInputError(input_name, ...) when `needed` bytes exceed `free`, naming what to change."""
    if needed > free:
        raise PortraitInputError(
            input_name, f"{what} needs about {needed / 2**30:.1f} GB of memory, {free / 2**30:.1f} GB are free", fix
        )
