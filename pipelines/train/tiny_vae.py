"""The demo's VAE: a TAESD-architecture autoencoder (diffusers' AutoencoderTiny) trained on the synthetic portraits.

The pack's model lives in a VAE's latent space, so the shipped model and the shipped VAE are trained as a pair.
Files are written in ComfyUI's TAESD key layout (`taesd_encoder.N` / `taesd_decoder.N`, the decoder's Sequential
starting with its Clamp module), so core VAELoader loads them as a VAE whose encode gives these raw latents.
diffusers keeps the clamp inside DecoderTiny.forward, hence the decoder index shift of one.
Letters: b batch, c latent channels, h w latent size, H W pixels.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderTiny
from safetensors.torch import save_file

from ..checkpoint_io import read_safetensors
from ..errors import CheckpointError

COMFY_ENCODER, COMFY_DECODER = "taesd_encoder.", "taesd_decoder."
DIFFUSERS_ENCODER, DIFFUSERS_DECODER = "encoder.layers.", "decoder.layers."
#: ComfyUI's TAESD decoder starts with a Clamp module that DecoderTiny applies in forward instead.
DECODER_INDEX_SHIFT = 1


def _renumber(key: str, old: str, new: str, shift: int) -> str:
    index, rest = key[len(old) :].split(".", 1)
    return f"{new}{int(index) + shift}.{rest}"


def to_comfy_taesd(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """AutoencoderTiny state dict -> ComfyUI TAESD keys."""
    out = {}
    for key, value in state_dict.items():
        if key.startswith(DIFFUSERS_ENCODER):
            out[_renumber(key, DIFFUSERS_ENCODER, COMFY_ENCODER, 0)] = value
        elif key.startswith(DIFFUSERS_DECODER):
            out[_renumber(key, DIFFUSERS_DECODER, COMFY_DECODER, DECODER_INDEX_SHIFT)] = value
        else:
            raise KeyError(f"AutoencoderTiny key without a TAESD counterpart: {key}")
    return out


def from_comfy_taesd(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ComfyUI TAESD keys -> AutoencoderTiny state dict (vae_scale / vae_shift must be absent or identity)."""
    out = {}
    for key, value in state_dict.items():
        if key.startswith(COMFY_ENCODER):
            out[_renumber(key, COMFY_ENCODER, DIFFUSERS_ENCODER, 0)] = value
        elif key.startswith(COMFY_DECODER):
            out[_renumber(key, COMFY_DECODER, DIFFUSERS_DECODER, -DECODER_INDEX_SHIFT)] = value
        elif key in ("vae_scale", "vae_shift") and float(value) == (1.0 if key == "vae_scale" else 0.0):
            continue
        else:
            raise KeyError(f"not a plain TAESD key: {key}")
    return out


def new_tiny_vae() -> AutoencoderTiny:
    """TAESD's shape: 64 channels, encoder blocks (1, 3, 3, 3), decoder blocks (3, 3, 3, 1), 4 latent channels, x8."""
    return AutoencoderTiny()


def save_tiny_vae(vae: AutoencoderTiny, path: str | Path, dtype: torch.dtype = torch.float16) -> None:
    tensors = {k: v.detach().to(dtype).contiguous().cpu() for k, v in to_comfy_taesd(vae.state_dict()).items()}
    save_file(tensors, str(path), metadata={"format": "pt", "layout": "comfyui_taesd"})


def load_tiny_vae(path: str | Path) -> AutoencoderTiny:
    """A TAESD-layout file (as ComfyUI reads it) as an AutoencoderTiny in float32, eval mode; every key must fit."""
    vae = new_tiny_vae()
    tensors, _ = read_safetensors(path, "Fix: give a TAESD-layout .safetensors file (the one core VAELoader reads)")
    try:
        weights = from_comfy_taesd(tensors)
    except KeyError as error:
        raise CheckpointError(f"{path}: not a TAESD-layout VAE ({error}).") from error
    missing, unexpected = vae.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path}: TAESD keys missing {missing[:5]} or unexpected {unexpected[:5]}.")
    return vae.eval()


def encode_images(vae: AutoencoderTiny, images: torch.Tensor) -> torch.Tensor:
    """RGB b 3 H W in 0..1 -> raw latents b c h w (what ComfyUI's VAE.encode returns for this file)."""
    return vae.encoder(images * 2 - 1)


def decode_latents(vae: AutoencoderTiny, latents: torch.Tensor) -> torch.Tensor:
    """Raw latents b c h w -> RGB b 3 H W in 0..1."""
    return ((vae.decoder(latents) + 1) / 2).clamp(0, 1)


def image_gradients(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical finite differences: b 3 H W -> b 3 H W-1, b 3 H-1 W."""
    return images[..., 1:] - images[..., :-1], images[..., 1:, :] - images[..., :-1, :]


def region_pixel_weights(masks: torch.Tensor, weights: dict[int, float]) -> torch.Tensor:
    """Region masks b r h w, {region index: w} -> b 1 h w: 1 + sum of (w - 1) x mask."""
    factors = torch.ones_like(masks[:, :1])
    for index, weight in weights.items():
        factors = factors + (weight - 1.0) * masks[:, index][:, None]
    return factors


def reconstruction_loss(
    vae: AutoencoderTiny, images: torch.Tensor, generator: torch.Generator, latent_noise: float = 0.03,
    latent_penalty: float = 1e-3, pixel_weights: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """L1 on pixels and on image gradients (sharp features: lids, lips), the decoder made robust to latent noise
    (`latent_noise` times the latents' std, like a diffusion model's small errors), latents kept small:
    -> {'loss', 'l1', 'latent_std'}. pixel_weights: b 1 h w factors on the pixel L1 (small features such as eyelids
    cover 1 % of a 64 px portrait: an unweighted L1 lets the decoder draw them half shut at most)."""
    latents = encode_images(vae, images)
    noise = torch.randn(latents.shape, generator=generator).to(latents)
    noisy = latents + latent_noise * latents.detach().std() * noise
    decoded = (vae.decoder(noisy) + 1) / 2
    if pixel_weights is None:
        l1 = F.l1_loss(decoded, images)
    else:
        l1 = ((decoded - images).abs() * pixel_weights).mean() / pixel_weights.mean()
    edges = sum(F.l1_loss(a, b) for a, b in zip(image_gradients(decoded), image_gradients(images)))
    loss = l1 + edges + latent_penalty * latents.square().mean()
    return {"loss": loss, "l1": l1.detach(), "latent_std": latents.detach().std()}


def _identity_kernel(conv: torch.nn.Conv2d, channels: int, taps: torch.Tensor) -> None:
    """conv.weight[c, c] = taps (3 x 3) for the first `channels` channels, on top of a small random kernel."""
    with torch.no_grad():
        conv.weight.mul_(0.1)
        for c in range(channels):
            conv.weight[c, c] = taps


def downsampling_init(vae: AutoencoderTiny, small: float = 0.1) -> AutoencoderTiny:
    """Start training from an autoencoder that already works at low resolution: latent channels 0-2 carry the
    8 x 8-averaged RGB (minus 0.5), the decoder spreads them back; all other weights are small random. Residual blocks
    start near identity (their skip carries the signal), strided convolutions average 2 x 2, convolutions after an
    upsampling copy. Training then only has to add the detail."""
    centre = torch.zeros(3, 3)
    centre[1, 1] = 1.0
    average = torch.zeros(3, 3)
    average[1:, 1:] = 0.25  # stride 2, padding 1: output (i, j) reads inputs 2i-1..2i+1; these taps average 2i..2i+1
    rgb = 3
    for layers in (vae.encoder.layers, vae.decoder.layers):
        for module in layers:
            if isinstance(module, torch.nn.Conv2d):
                with torch.no_grad():
                    module.weight.mul_(small)
            elif hasattr(module, "conv"):  # AutoencoderTinyBlock: small residual branch
                for conv in module.conv:
                    if isinstance(conv, torch.nn.Conv2d):
                        with torch.no_grad():
                            conv.weight.mul_(small)
    enc, dec = vae.encoder.layers, vae.decoder.layers
    first, last = enc[0], enc[-1]
    _identity_kernel(first, rgb, centre)
    for module in list(enc)[1:-1]:
        if isinstance(module, torch.nn.Conv2d):
            _identity_kernel(module, module.out_channels, average)
    _identity_kernel(last, rgb, centre)
    with torch.no_grad():
        first.bias.zero_()
        last.bias.zero_()
        last.bias[:rgb] = -0.5
    _identity_kernel(dec[0], rgb, centre)
    with torch.no_grad():
        dec[0].bias.zero_()
        dec[0].bias[:rgb] = 0.5
    for module in list(dec)[1:-1]:
        if isinstance(module, torch.nn.Conv2d):
            _identity_kernel(module, module.out_channels, centre)
    _identity_kernel(dec[-1], rgb, centre)
    with torch.no_grad():
        dec[-1].bias.zero_()
    return vae
