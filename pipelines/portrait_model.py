"""The region-gated portrait model: ReferenceNet + gated denoising UNet + condition projections.

`encode_reference` runs once per video (000 §3.1: reference features are reused for every step and
clip); `predict` runs one denoiser call for a batch of clips, CFG branches included. A Hallo config
(`configs/hallo.json`, 001 §3.2) swaps in its face-embedding identity tokens, FaceLocator and motion frames
encoded by the ReferenceNet, its unconditional branch and the way its released pipeline pairs the ReferenceNet's rows
with the CFG halves (`reference_encoding` "hallo_cfg_rows", hallo_reference_rows.py).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange, repeat

from .condition_projections import AudioProjection, IdentityProjection
from .conditions import FrameConditions, ReferenceFeatures
from .config import PortraitModelConfig
from .deep_cache import ShallowPass
from .denoising_unet import GatedDenoisingUNet
from .face_projections import FaceEmbeddingProjection, FaceLocator
from .hallo_reference_rows import BANK_DTYPE, COND, motion_identities, reference_identities
from .reference_attention import ReferenceBank, install_reference_processors
from .reference_net import ReferenceNet


REFERENCE_ENCODINGS = ("cond_identity", "hallo_cfg_rows")


class PortraitModel(nn.Module):
    """All trainable networks of the pack-native model, built from one PortraitModelConfig."""

    def __init__(self, config: PortraitModelConfig):
        super().__init__()
        if config.reference_encoding not in REFERENCE_ENCODINGS:
            raise ValueError(f"unknown reference_encoding '{config.reference_encoding}'; known: {REFERENCE_ENCODINGS}")
        self.config = config
        token_dim = config.unet.cross_attention_dim
        self.reference_net = ReferenceNet(config.unet)
        self.denoising_unet = GatedDenoisingUNet(config)
        self.audio_proj = AudioProjection(config.audio, token_dim)
        if config.identity.source == "face_embedding":
            self.identity_proj = FaceEmbeddingProjection(config.identity, token_dim)
        else:
            self.identity_proj = IdentityProjection(config.identity, config.unet.in_channels, token_dim)
        if config.face_locator.enabled:
            self.face_locator = FaceLocator(config.face_locator, config.unet.block_out_channels[0])
        self.bank = ReferenceBank()
        install_reference_processors(self.reference_net, self.bank, write=True)
        install_reference_processors(self.denoising_unet, self.bank, write=False)

    def identity_tokens(self, latent: torch.Tensor, face_embedding: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Identity tokens b k d of the conditional and the unconditional branch."""
        if self.config.identity.source != "face_embedding":
            identity = self.identity_proj(latent)
            return identity, torch.zeros_like(identity)
        if face_embedding is None:
            raise ValueError("this model reads a face embedding (b e); pass face_embedding")
        embedding = face_embedding.to(latent)
        if self.config.uncond_branch == "hallo":
            return self.identity_proj(embedding), self.identity_proj(torch.zeros_like(embedding))
        identity = self.identity_proj(embedding)
        return identity, torch.zeros_like(identity)

    def encode_reference(
        self,
        latent: torch.Tensor,
        face_embedding: torch.Tensor | None = None,
        face_image: torch.Tensor | None = None,
        motion_latents: torch.Tensor | None = None,
    ) -> ReferenceFeatures:
        """latent: b c h w (scaled reference latent) -> ReferenceFeatures for b videos.

        face_embedding: b e (identity source "face_embedding"); face_image: b c H W face-box mask image for the
        FaceLocator; motion_latents: b m c h w motion frames the ReferenceNet encodes with the reference (when
        config.motion.reference_motion_frames > 0; default: the reference repeated, as Hallo's first clip).
        """
        identity, uncond_identity = self.identity_tokens(latent, face_embedding)
        images = self.reference_images(latent, motion_latents)
        frames = images.shape[1]
        identity_rows = None
        if self.config.reference_encoding == "hallo_cfg_rows":
            tokens = torch.stack([uncond_identity, identity], dim=1)  # b i k d: identity 0 = uncond, 1 = cond
            stored = self._reference_tokens(
                repeat(images, "b s c h w -> (b i s) c h w", i=2), repeat(tokens, "b i k d -> (b i s) k d", s=frames)
            )
            identity_rows = {name: rearrange(f, "(b i s) t c -> b i s t c", i=2, s=frames).to(BANK_DTYPE) for name, f in stored.items()}
            per_image = {name: f[:, COND] for name, f in identity_rows.items()}
        else:
            stored = self._reference_tokens(rearrange(images, "b s c h w -> (b s) c h w"), identity.repeat_interleave(frames, dim=0))
            per_image = {name: rearrange(f, "(b s) t c -> b s t c", s=frames) for name, f in stored.items()}
        layers = {name: f[:, 0] for name, f in per_image.items()}
        motion = {name: f[:, 1:] for name, f in per_image.items()} if frames > 1 else None
        face = None
        if self.config.face_locator.enabled:
            if face_image is None:
                raise ValueError("this model has a FaceLocator; pass face_image (b c H W face-box mask image)")
            face = self.face_locator(face_image.to(latent))
        return ReferenceFeatures(layers, identity, uncond_identity, face, motion, identity_rows)

    def _reference_tokens(self, images: torch.Tensor, identity_tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """The ReferenceNet over n c h w images with n k d identity tokens -> per attn1 layer n t c."""
        self.bank.features = {}
        self.reference_net(images, identity_tokens)
        stored, self.bank.features = self.bank.features, {}
        return stored

    def reference_images(self, latent: torch.Tensor, motion_latents: torch.Tensor | None) -> torch.Tensor:
        """b c h w reference (+ b m c h w motion frames) -> b s c h w images for the ReferenceNet (s = 1 + m)."""
        count = self.config.motion.reference_motion_frames
        if count == 0:
            return latent[:, None]
        if motion_latents is None:
            motion_latents = latent[:, None].expand(-1, count, -1, -1, -1)
        if motion_latents.shape[1] != count:
            raise ValueError(f"the model takes {count} motion frames, got {motion_latents.shape[1]}")
        return torch.cat([latent[:, None], motion_latents.to(latent)], dim=1)

    def predict(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        reference: ReferenceFeatures,
        audio_blocks: torch.Tensor,
        masks: torch.Tensor,
        region_scales: torch.Tensor,
        videos: torch.Tensor,
        with_reference: torch.Tensor,
        shallow: ShallowPass | None = None,
        paired_with_uncond: bool = True,
    ) -> torch.Tensor:
        """One denoiser call.

        sample: b c f h w; timesteps: b; audio_blocks: b f l c; masks: b r h w; region_scales: b r (rows
        without audio have scale 0); videos: b long, which reference video each item uses;
        with_reference: b bool (False = unconditional branch: no reference attention, the unconditional
        identity tokens; with uncond_branch "hallo" also zero audio tokens and no FaceLocator features);
        shallow: a DeepCache pass (deep_cache.py) or None; paired_with_uncond: the step also computes the
        unconditional branch (Hallo's two CFG halves; read with reference.identity_rows only). -> b c f h w.
        """
        keep = with_reference.to(sample.device)
        identity = torch.where(keep[:, None, None], reference.identity_tokens[videos], reference.uncond_identity_tokens[videos])
        audio_tokens = self.audio_proj(audio_blocks.to(sample.dtype))
        if self.config.uncond_branch == "hallo":
            audio_tokens = audio_tokens * keep.repeat_interleave(sample.shape[2])[:, None, None].to(sample.dtype)
        face = reference.face_features
        if face is not None:
            face = face[videos] * keep[:, None, None, None].to(face.dtype)
        if reference.identity_rows is None:
            motion = None if reference.motion_layers is None else {k: v[videos] for k, v in reference.motion_layers.items()}
            self.bank.features = reference.layers
            self.bank.bind(videos, with_reference, sample.shape[2])
        else:
            motion = self._bind_hallo_rows(reference.identity_rows, videos, keep, sample.shape[2], paired_with_uncond)
        cond = FrameConditions(audio_tokens, masks, region_scales, identity.to(sample.dtype), face, motion)
        try:
            return self.denoising_unet(sample, timesteps, cond, shallow)
        finally:
            self.bank.features = {}

    def _bind_hallo_rows(
        self, rows: dict[str, torch.Tensor], videos: torch.Tensor, keep: torch.Tensor, frames: int, paired: bool
    ) -> dict[str, torch.Tensor] | None:
        """Bind the reference tokens Hallo's denoiser halves read (rows: per layer b i s t c) and return each item's
        motion-frame tokens B m t c: items without reference are the uncond half, the others the cond half."""
        images = next(iter(rows.values())).shape[2]
        halves = 2 if paired else 1
        half = keep.long() if paired else torch.zeros_like(keep, dtype=torch.long)
        by_half = range(halves)
        frame_rows = torch.stack([reference_identities(h, frames, images, halves) for h in by_half]).to(keep.device)
        self.bank.features = {name: f[:, :, 0] for name, f in rows.items()}
        self.bank.bind(videos, keep, frames, frame_rows[half])
        if images == 1:
            return None
        motion_rows = torch.stack([motion_identities(h, images, halves) for h in by_half]).to(keep.device)[half]
        motion_images = torch.arange(1, images, device=keep.device)
        return {name: f[videos[:, None], motion_rows, motion_images] for name, f in rows.items()}
