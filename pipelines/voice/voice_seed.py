"""A fixed projection of GE2E speaker embeddings onto the directions that separate speakers most, and the image seed
drawn from its quantised coordinates.

The projection is regularised linear discriminant analysis (LDA) of speaker embeddings: the directions w that
maximise between-speaker over within-speaker variance (generalised eigenproblem Sb w = l Sw w, Sw shrunk toward its
mean diagonal). It is fitted once on synthetic tuning voices (scripts/fit_voice_projection.py) and shipped as a small
safetensors file; it learns nothing about faces. Coordinates are standardised by the tuning speakers' spread, so a
typical voice lies within +-2. The seed packs the signs of the first SEED_BITS coordinates into a voice code and mixes
that code with `variation` (splitmix64), so one voice gives one seed. Letters: n embeddings, k directions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch
from safetensors.torch import save_file

from ..checkpoint_io import read_safetensors

PROJECTION_FILE = "voice_projection.safetensors"
DEFAULT_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            "models_shipped", PROJECTION_FILE)
#: Within-speaker scatter is shrunk this far toward its mean diagonal (few tuning utterances, 256 dimensions).
SHRINKAGE = 0.5
DIRECTIONS = 8
#: Sign bits of the leading coordinates that make the voice code.
SEED_BITS = 3
#: Seeds stay below 2**32: exact in the browser (JavaScript numbers) and valid for every sampler.
SEED_MODULUS = 2**32
REFIT_FIX = "Fix: run `python -m scripts.fit_voice_projection` in the pack folder (or restore the file from git)"


@dataclass(frozen=True)
class VoiceProjection:
    """mean 256, directions 256 k (unit within-speaker variance each), spread k (tuning speakers' std)."""

    mean: torch.Tensor
    directions: torch.Tensor
    spread: torch.Tensor

    def coordinates(self, embedding: torch.Tensor) -> torch.Tensor:
        """Embedding 256 -> standardised voice coordinates k."""
        return ((embedding.float() - self.mean) @ self.directions) / self.spread

    def code(self, embedding: torch.Tensor, bits: int = SEED_BITS) -> int:
        """Embedding 256 -> the voice code: signs of the first `bits` coordinates as an integer."""
        signs = (self.coordinates(embedding)[:bits] > 0).tolist()
        return sum(1 << index for index, positive in enumerate(signs) if positive)

    def save(self, path: str, metadata: dict[str, str]) -> None:
        save_file({"mean": self.mean.contiguous(), "directions": self.directions.contiguous(),
                   "spread": self.spread.contiguous()}, path, metadata=metadata)


def load_voice_projection(path: str = DEFAULT_PATH) -> VoiceProjection:
    state, _ = read_safetensors(path, REFIT_FIX)
    return VoiceProjection(state["mean"].float(), state["directions"].float(), state["spread"].float())


def fit_voice_projection(embeddings: np.ndarray, speakers: list[str], directions: int = DIRECTIONS,
                         shrinkage: float = SHRINKAGE) -> VoiceProjection:
    """Regularised LDA of embeddings n 256 labelled by `speakers` (n names, several utterances each)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(speakers)
    mean = embeddings.mean(axis=0)
    speaker_means = np.stack([embeddings[labels == name].mean(axis=0) for name in dict.fromkeys(speakers)])
    residuals = np.concatenate([embeddings[labels == name] - centre
                                for name, centre in zip(dict.fromkeys(speakers), speaker_means)])
    within = residuals.T @ residuals / len(residuals)
    within = (1 - shrinkage) * within + shrinkage * np.trace(within) / len(within) * np.eye(len(within))
    between = np.cov(speaker_means.T, bias=True)
    _, vectors = scipy.linalg.eigh(between, within)  # ascending; vectors^T within vectors = I
    chosen = vectors[:, ::-1][:, :directions]
    chosen = chosen * np.sign(chosen.sum(axis=0, keepdims=True))  # a fixed sign per direction
    spread = ((speaker_means - mean) @ chosen).std(axis=0)
    return VoiceProjection(torch.from_numpy(mean).float(), torch.from_numpy(chosen).float(),
                           torch.from_numpy(spread).float())


def mix_seed(code: int, variation: int) -> int:
    """(voice code, variation) -> an image seed in 0..2**32-1 (splitmix64 finaliser)."""
    value = (code * 0x9E3779B97F4A7C15 + variation * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % 2**64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) % 2**64
    return (value ^ (value >> 31)) % SEED_MODULUS
