"""The condition types: passed between nodes as custom socket types (AudioEmbeddings, RegionMasks), handed to the
sampler (VideoConditions, built by animate.video_conditions), computed once per video by the reference pass
(ReferenceFeatures) and read by every denoiser call (FrameConditions).

Letters: b batch, f frames, l audio context window, c channels, r regions, h w height width.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

#: Region names of LinguaLinker's gates (paper 000, eq. 1-2), in gate order.
LINGUALINKER_REGIONS = ("head", "mouth", "eyes")
#: Region names of Hallo's hierarchical masks (paper 001, eq. 7-10): full/pose, face/expression, lip.
HALLO_REGIONS = ("pose", "expression", "lip")


@dataclass
class AudioEmbeddings:
    """Per-video-frame audio context blocks from one audio encoder.

    blocks: b f l c. Frame i holds the encoder features of audio frames i-l//2 .. i+l//2
    (edge padded); c is the flattened feature width of one context frame (e.g. 1024 for
    XLS-R layer means, 12*768 for Hallo's stacked wav2vec2 layers).
    """

    blocks: torch.Tensor
    fps: float
    encoder: str
    duration_s: float
    silence: torch.Tensor | None = None  # l c: the encoder's blocks for silence, used for padding frames

    @property
    def frames(self) -> int:
        return self.blocks.shape[1]

    @property
    def feature_shape(self) -> tuple[int, int]:
        """(l, c): what an audio projection must accept."""
        return tuple(self.blocks.shape[2:])


@dataclass
class RegionMasks:
    """Soft region masks of the portrait, one channel per gate region.

    masks: b r h w in 0..1 at image resolution; names: the region of each channel. Hallo checkpoints also
    read two face conditions of the same face (pipelines/hallo_face.py): face_image b 3 h w, the 0/1 face-box
    image for the FaceLocator, and face_embedding b e, the raw ArcFace identity embedding.
    """

    masks: torch.Tensor
    names: tuple[str, ...]
    face_image: torch.Tensor | None = None
    face_embedding: torch.Tensor | None = None

    def channel(self, name: str) -> torch.Tensor:
        """b h w mask of one region."""
        return self.masks[:, self.names.index(name)]


@dataclass
class VideoConditions:
    """Inputs of one video (b = 1 in the nodes, more in training/benchmarks).

    reference_latent: b c h w, already multiplied by the model's latent scale; audio_blocks: b n l c;
    silence_block: l c (audio of silence, for padding frames); masks: b r h w at latent resolution;
    region_scales: b r motion-frequency sliders. Hallo checkpoints also read face_embedding: b e (raw ArcFace)
    and face_image: b c H W (binary face-box mask image for the FaceLocator).
    """

    reference_latent: torch.Tensor
    audio_blocks: torch.Tensor
    silence_block: torch.Tensor
    masks: torch.Tensor
    region_scales: torch.Tensor
    face_embedding: torch.Tensor | None = None
    face_image: torch.Tensor | None = None

    def to(self, device) -> "VideoConditions":
        return VideoConditions(**{name: None if v is None else v.to(device) for name, v in vars(self).items()})

    def face_inputs(self) -> dict[str, torch.Tensor]:
        """The face conditions present, as keyword arguments of PortraitModel.encode_reference."""
        return {name: getattr(self, name) for name in ("face_embedding", "face_image") if getattr(self, name) is not None}


@dataclass
class ReferenceFeatures:
    """What the reference pass computed for b videos.

    layers: per-layer ReferenceNet tokens b t c; identity_tokens: b k d; uncond_identity_tokens: b k d of the
    unconditional branch; face_features: b c h w FaceLocator output or None; motion_layers: per-layer b m t c
    ReferenceNet tokens of m motion frames (Hallo) or None; identity_rows (reference_encoding "hallo_cfg_rows"): per
    layer b i s t c tokens of the reference (s = 0) and motion frames encoded with each identity (i = uncond, cond),
    fp16, or None.
    """

    layers: dict[str, torch.Tensor]
    identity_tokens: torch.Tensor
    uncond_identity_tokens: torch.Tensor
    face_features: torch.Tensor | None = None
    motion_layers: dict[str, torch.Tensor] | None = None
    identity_rows: dict[str, torch.Tensor] | None = None

    def to(self, device: torch.device) -> "ReferenceFeatures":
        """The same features on another device (for a model replica there)."""

        def moved(value):
            if isinstance(value, dict):
                return {name: tensor.to(device) for name, tensor in value.items()}
            return None if value is None else value.to(device)

        return ReferenceFeatures(**{field.name: moved(getattr(self, field.name)) for field in fields(self)})


@dataclass
class FrameConditions:
    """Per-row conditions of one denoiser call (rows = batch items x frames).

    audio_tokens: (b f) m d; masks: b r h w region masks; region_scales: b r (0 = no audio, region_scales.py);
    identity_tokens: b k d; face_features: b c h w added after conv_in (Hallo's FaceLocator) or None;
    motion_features: attn1 layer name -> b m t c ReferenceNet features of m motion frames, prepended to the
    frames of the temporal module at that layer (Hallo's train-mode behaviour), or None.
    """

    audio_tokens: torch.Tensor
    masks: torch.Tensor
    region_scales: torch.Tensor
    identity_tokens: torch.Tensor
    face_features: torch.Tensor | None = None
    motion_features: dict[str, torch.Tensor] | None = None
