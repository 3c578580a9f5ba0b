"""Generating a talking video of a synthetic person with a trained model, as the nodes would: reference through the
VAE, region masks at latent size, audio through the encoder, `sample_video` (shift fusion for long audio), frames
decoded by the VAE. Used by the lip-sync benchmark and the shipped-model test.
Letters: f frames, h w pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..audio.embed import embed_audio
from ..audio.encoders import AudioEncoder
from ..conditions import LINGUALINKER_REGIONS
from ..mask_resize import resize_region_masks
from ..portrait_model import PortraitModel
from ..sampler import LongVideoOptions, SamplerSettings, VideoConditions, sample_video
from .face_render import FaceMotion, FaceStyle, render_frames
from .speech import Utterance
from .synthetic import region_masks
from .tiny_vae import decode_latents, encode_images


#: Frames decoded at once (a minute of 64 px video in one VAE call would hold GBs of activations).
DECODE_CHUNK = 100


@dataclass
class TalkingVideo:
    """Decoded frames f 3 h w and the decoded reference 3 h w (both RGB 0..1, through the same VAE)."""

    frames: torch.Tensor
    reference: torch.Tensor


@torch.no_grad()
def talking_conditions(
    model: PortraitModel, vae, encoder: AudioEncoder, style: FaceStyle, utterance: Utterance, sliders: dict[str, float],
    size: int = 64, fps: float = 25.0, context_frames: int = 5,
) -> tuple[VideoConditions, torch.Tensor]:
    """The sampler's conditions for the person `style` speaking `utterance` with region sliders {'head', 'mouth',
    'eyes'}, and the reference's raw latent 1 c h w; `context_frames` is AudioEncode's widget (Whisper encoders use
    their own window)."""
    reference = render_frames(style, FaceMotion.still(1), size)
    raw_latent = encode_images(vae, reference)
    audio = embed_audio(encoder, utterance.wave[None, None], utterance.sample_rate, fps, context_frames)
    cond = VideoConditions(
        reference_latent=raw_latent * model.config.latent_scale,
        audio_blocks=audio.blocks.float(),
        silence_block=audio.silence.float(),
        masks=resize_region_masks(region_masks(style, size)[None], tuple(raw_latent.shape[-2:])),
        region_scales=torch.tensor([[sliders[r] for r in LINGUALINKER_REGIONS]]),
    )
    return cond, raw_latent


@torch.no_grad()
def decoded_frames(vae, latents: torch.Tensor) -> torch.Tensor:
    """Unscaled latents c f h w -> frames f 3 H W (RGB 0..1), DECODE_CHUNK frames per VAE call."""
    return torch.cat([decode_latents(vae, chunk) for chunk in latents.transpose(0, 1).split(DECODE_CHUNK)])


@torch.no_grad()
def talking_video(
    model: PortraitModel,
    vae,
    encoder: AudioEncoder,
    style: FaceStyle,
    utterance: Utterance,
    sliders: dict[str, float],
    settings: SamplerSettings = SamplerSettings(steps=10),
    long_video: LongVideoOptions = LongVideoOptions(),
    size: int = 64,
    fps: float = 25.0,
    context_frames: int = 5,
) -> TalkingVideo:
    """The person `style` speaking `utterance` with region sliders, sampled and decoded (`talking_conditions`)."""
    cond, raw_latent = talking_conditions(model, vae, encoder, style, utterance, sliders, size, fps, context_frames)
    latents = sample_video(model, cond, settings, long_video)[0] / model.config.latent_scale  # c f h w
    return TalkingVideo(decoded_frames(vae, latents), decode_latents(vae, raw_latent)[0])
