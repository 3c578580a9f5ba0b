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
    """The person `style` speaking `utterance` with region sliders {'head', 'mouth', 'eyes'}; `context_frames` is
    AudioEncode's widget (Whisper encoders use their own window)."""
    config = model.config
    reference = render_frames(style, FaceMotion.still(1), size)
    raw_latent = encode_images(vae, reference)
    audio = embed_audio(encoder, utterance.wave[None, None], utterance.sample_rate, fps, context_frames)
    cond = VideoConditions(
        reference_latent=raw_latent * config.latent_scale,
        audio_blocks=audio.blocks.float(),
        silence_block=audio.silence.float(),
        masks=resize_region_masks(region_masks(style, size)[None], tuple(raw_latent.shape[-2:])),
        region_scales=torch.tensor([[sliders[r] for r in LINGUALINKER_REGIONS]]),
    )
    latents = sample_video(model, cond, settings, long_video)[0] / config.latent_scale  # c f h w
    frames = torch.cat([decode_latents(vae, chunk) for chunk in latents.transpose(0, 1).split(DECODE_CHUNK)])
    return TalkingVideo(frames, decode_latents(vae, raw_latent)[0])
