"""Training clips in latent space: the synthetic clips encoded once by the VAE and the audio encoder.

Stage 1 and stage 2 (paper 000 §4.1) then read tensors only. The latent scale is measured here as SD's was:
1 / std of the clip latents, so the model sees unit-variance latents (`PortraitModelConfig.latent_scale`).
Letters: n clips, c latent channels, f frames, h w latent size, l audio context, a audio width, r regions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import save_file

from ..audio.embed import embed_audio
from ..audio.encoders import AudioEncoder
from ..checkpoint_io import read_safetensors
from ..errors import CheckpointError
from ..mask_resize import resize_region_masks
from .synthetic import SyntheticTalkingPortraits
from .tiny_vae import encode_images

INFO_KEY = "gated_portrait_clips"


@dataclass
class LatentClips:
    """latents n c f h w and references n c h w (raw VAE latents), audio n f l a (the clip frames' context blocks),
    masks n r h w (at latent size), scales n r; info: encoder kind, fps, image size, latent scale, ..."""

    latents: torch.Tensor
    references: torch.Tensor
    audio: torch.Tensor
    masks: torch.Tensor
    scales: torch.Tensor
    info: dict

    def __len__(self) -> int:
        return self.latents.shape[0]

    def save(self, path: str | Path) -> None:
        tensors = {f.name: getattr(self, f.name).contiguous() for f in fields(self) if f.name != "info"}
        save_file(tensors, str(path), metadata={INFO_KEY: json.dumps(self.info)})

    @classmethod
    def load(cls, path: str | Path) -> "LatentClips":
        """Read a clip file the `data` command wrote; CheckpointError naming the file and the fix otherwise."""
        remake = "Fix: make it with `python -m apps.train data ... --out FILE`."
        if not Path(path).is_file():
            raise CheckpointError(f"{path}: no such clip file. {remake}")
        tensors, metadata = read_safetensors(path, remake)
        if INFO_KEY not in metadata:
            raise CheckpointError(f"{path}: a safetensors file, but not a training clip file (no {INFO_KEY!r} metadata). {remake}")
        return cls(info=json.loads(metadata[INFO_KEY]), **tensors)


def utterance_blocks(encoder: AudioEncoder, portraits: SyntheticTalkingPortraits, context_frames: int) -> list[torch.Tensor]:
    """Audio context blocks of every utterance, encoded whole (so clips get the context a long audio would): [F l a]."""
    blocks = []
    for utterance in portraits.utterances:
        embedding = embed_audio(encoder, utterance.wave[None, None], utterance.sample_rate, portraits.fps, context_frames)
        blocks.append(embedding.blocks[0].to(torch.float16).contiguous())
    return blocks


@torch.no_grad()
def build_latent_clips(
    portraits: SyntheticTalkingPortraits,
    vae,
    encoder: AudioEncoder,
    count: int,
    context_frames: int = 5,
    batch: int = 16,
    callback: Callable[[int, int], None] | None = None,
) -> LatentClips:
    """Render clips 0..count-1, encode frames and references with the VAE, and gather their audio blocks."""
    blocks = utterance_blocks(encoder, portraits, context_frames)
    device = next(vae.parameters()).device
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in ("latents", "references", "audio", "masks", "scales")}
    for first in range(0, count, batch):
        clips = [portraits.clip(i) for i in range(first, min(first + batch, count))]
        frames = torch.stack([c.frames for c in clips])  # b f 3 H W
        images = torch.cat([frames.flatten(0, 1), torch.stack([c.reference for c in clips])]).to(device)
        latents = encode_images(vae, images).float().cpu()
        b, f = frames.shape[:2]
        frame_latents = latents[: b * f].unflatten(0, (b, f)).transpose(1, 2)  # b c f h w
        parts["latents"].append(frame_latents.to(torch.float16))
        parts["references"].append(latents[b * f :].to(torch.float16))
        parts["audio"].append(torch.stack([blocks[c.utterance][c.start : c.start + f] for c in clips]))
        size = tuple(latents.shape[-2:])
        parts["masks"].append(resize_region_masks(torch.stack([c.masks for c in clips]), size).to(torch.float16))
        parts["scales"].append(torch.stack([c.scales for c in clips]))
        if callback is not None:
            callback(first + b, count)
    tensors = {name: torch.cat(values) for name, values in parts.items()}
    all_latents = torch.cat([tensors["latents"].float().flatten(), tensors["references"].float().flatten()])
    info = {
        "encoder": encoder.kind,
        "audio_feature_shape": list(tensors["audio"].shape[-2:]),
        "fps": portraits.fps,
        "image_size": portraits.size,
        "clip_frames": portraits.clip_frames,
        "seed": portraits.seed,
        "utterances": len(portraits.utterances),
        "voices": sorted({u.voice for u in portraits.utterances}),
        "latent_scale": float(1.0 / all_latents.std()),
        "latent_mean": float(all_latents.mean()),
    }
    return LatentClips(info=info, **tensors)
