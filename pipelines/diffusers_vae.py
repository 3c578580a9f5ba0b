"""The headless paths' VAEs, diffusers classes behind one interface: AutoencoderKL (SD's, e.g. sd-vae-ft-mse, as a
diffusers folder) or AutoencoderTiny (TAESD; the demo model's VAE, read from the ComfyUI-layout file that core's
VAELoader reads too). Both encode a portrait to the raw latents ComfyUI's VAE.encode gives for the same weights.

Letters: n images, c latent channels, h w latent size, H W pixels.
"""

from __future__ import annotations

import os

import torch
from diffusers import AutoencoderKL, AutoencoderTiny

from .errors import CheckpointError, PortraitInputError
from .train.tiny_vae import load_tiny_vae

VAE_FIX = ("give the local folder of a diffusers AutoencoderKL (config.json + diffusion_pytorch_model.safetensors) "
           "or a TAESD .safetensors file (a model-hub name is never downloaded)")


def load_vae(path: str, device: torch.device) -> AutoencoderKL | AutoencoderTiny:
    """A diffusers AutoencoderKL folder or a TAESD-layout .safetensors file, on `device`, in eval mode."""
    try:
        if os.path.isfile(path):
            return load_tiny_vae(path).to(device)
        if not os.path.isdir(path):  # a hub name: even local_files_only lets huggingface_hub go online for headers
            raise PortraitInputError("vae", f"'{path}' is not a file or folder on this machine", VAE_FIX)
        return AutoencoderKL.from_pretrained(path, local_files_only=True).to(device).eval()
    except (OSError, ValueError) as error:
        if isinstance(error, PortraitInputError):
            raise
        kind = "TAESD file" if isinstance(error, CheckpointError) else "diffusers AutoencoderKL folder"
        raise PortraitInputError("vae", f"{path} is not a {kind} ({error})", VAE_FIX) from error


def pixel_factor(vae: AutoencoderKL | AutoencoderTiny) -> int:
    """Pixels per latent cell (8 for SD's VAE and TAESD)."""
    if isinstance(vae, AutoencoderTiny):
        return 2 ** (len(vae.config.encoder_block_out_channels) - 1)
    return 2 ** (len(vae.config.block_out_channels) - 1)


@torch.no_grad()
def encode_pixels(vae: AutoencoderKL | AutoencoderTiny, images: torch.Tensor) -> torch.Tensor:
    """n H W 3 (0..1) -> n c h w raw latents (AutoencoderKL: the distribution's mode); H, W multiples of the
    factor."""
    height, width = images.shape[1:3]
    factor = pixel_factor(vae)
    if height % factor or width % factor:
        raise PortraitInputError("portrait", f"{width}x{height} px is not a multiple of {factor}",
                                 f"crop or resize the portrait to multiples of {factor} px (e.g. 512x512)")
    pixels = images.movedim(-1, 1).to(vae.device, vae.dtype) * 2 - 1
    if isinstance(vae, AutoencoderTiny):
        return vae.encoder(pixels).float()
    return vae.encode(pixels).latent_dist.mode().float()


@torch.no_grad()
def decode_latents(vae: AutoencoderKL | AutoencoderTiny, latents: torch.Tensor, tiled: bool = False) -> torch.Tensor:
    """Raw latents n c h w -> n 3 H W in -1..1; `tiled`: AutoencoderKL's tiled decode (its tile size as set)."""
    latents = latents.to(device=vae.device, dtype=vae.dtype)
    if isinstance(vae, AutoencoderTiny):
        return vae.decoder(latents)
    return (vae.tiled_decode(latents) if tiled else vae.decode(latents)).sample
