"""Typed conditions passed between stages (and between nodes as custom socket types).

Letters: b batch, f frames, l audio context window, c channels, r regions, h w height width.
"""

from __future__ import annotations

from dataclasses import dataclass

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
