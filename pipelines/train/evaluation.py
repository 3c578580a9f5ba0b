"""Generating a talking video of a synthetic person with a trained model through the nodes' stage chain: reference
through the VAE, region masks and audio through the encoder into `animate` (shift fusion for long audio), frames
decoded by the VAE. Used by the lip-sync benchmark and the shipped-model test.
Letters: f frames, h w pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..animate import AnimateSettings, animate, video_conditions
from ..audio.embed import embed_audio
from ..audio.encoders import AudioEncoder
from ..conditions import LINGUALINKER_REGIONS, AudioEmbeddings, RegionMasks, VideoConditions
from ..portrait_model import PortraitModel
from ..region_scales import RegionScales
from ..sampler import SamplerSettings
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


@dataclass
class TalkingInputs:
    """The stage chain's inputs for a synthetic person speaking: the reference's raw latent 1 c h w, the audio
    embeddings and the region masks 1 r h w (image size)."""

    reference_latent: torch.Tensor
    audio: AudioEmbeddings
    regions: RegionMasks


@torch.no_grad()
def talking_inputs(
    vae, encoder: AudioEncoder, style: FaceStyle, utterance: Utterance, size: int = 64, fps: float = 25.0, context_frames: int = 5,
) -> TalkingInputs:
    """What the nodes would feed the sampler for the person `style` speaking `utterance`; `context_frames` is
    AudioEncode's widget (Whisper encoders use their own window)."""
    reference = render_frames(style, FaceMotion.still(1), size)
    audio = embed_audio(encoder, utterance.wave[None, None], utterance.sample_rate, fps, context_frames)
    return TalkingInputs(encode_images(vae, reference), audio, RegionMasks(region_masks(style, size)[None], LINGUALINKER_REGIONS))


@torch.no_grad()
def talking_conditions(
    model: PortraitModel, vae, encoder: AudioEncoder, style: FaceStyle, utterance: Utterance, region_scales: RegionScales,
    size: int = 64, fps: float = 25.0, context_frames: int = 5,
) -> VideoConditions:
    """The sampler's conditions for the person `style` speaking `utterance` (`talking_inputs`)."""
    inputs = talking_inputs(vae, encoder, style, utterance, size, fps, context_frames)
    return video_conditions(model.config, inputs.reference_latent, inputs.audio, inputs.regions, region_scales)


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
    region_scales: RegionScales,
    settings: AnimateSettings = AnimateSettings(SamplerSettings(steps=10)),
    size: int = 64,
    fps: float = 25.0,
    context_frames: int = 5,
) -> TalkingVideo:
    """The person `style` speaking `utterance`, animated by the stage chain (`animate`) and decoded."""
    inputs = talking_inputs(vae, encoder, style, utterance, size, fps, context_frames)
    latents = animate(model, inputs.reference_latent, inputs.audio, inputs.regions, region_scales, settings)
    return TalkingVideo(decoded_frames(vae, latents[0] / model.config.latent_scale), decode_latents(vae, inputs.reference_latent)[0])
