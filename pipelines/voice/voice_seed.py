"""A fixed projection of GE2E speaker embeddings onto the directions that separate speakers most, and the image seed
drawn from its quantised coordinates.

The projection is regularised linear discriminant analysis (LDA) of speaker embeddings: the directions w that
maximise between-speaker over within-speaker variance (generalised eigenproblem Sb w = l Sw w, Sw shrunk toward its
mean diagonal). It is fitted once on synthetic tuning voices (scripts/fit_voice_projection.py) and shipped as a small
safetensors file; it learns nothing about faces. Coordinates are standardised by the tuning speakers' spread, so a
typical voice lies within +-2. The voice code is the nearest of CELLS fixed centres (k-means of the tuning speakers'
mean coordinates, first CODE_DIRECTIONS coordinates, shipped in the same file): the cell borders fall between the
tuning speakers, where voices are sparse, unlike sign thresholds at 0. The face follows smoothed_coordinates, a
blend of the nearby centres, which varies less within a speaker than the raw coordinates. The seed mixes the code
with `variation` (splitmix64), so one voice gives one seed. Letters: n embeddings, k directions, m cells, c coded
directions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import scipy.cluster.vq
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
#: The voice code reads this many leading coordinates and picks one of this many cells.
CODE_DIRECTIONS = 5
CELLS = 40
KMEANS_SEED = 1
#: Width (in standardised coordinates) of the weighting that smooths the cell centres for the face.
CELL_SOFTNESS = 0.5
#: Seeds stay below 2**32: exact in the browser (JavaScript numbers) and valid for every sampler.
SEED_MODULUS = 2**32
REFIT_FIX = "Fix: run `python -m scripts.fit_voice_projection` in the pack folder (or restore the file from git)"


@dataclass(frozen=True)
class VoiceProjection:
    """mean 256, directions 256 k (unit within-speaker variance each), spread k (tuning speakers' std), centres m c
    (cell centres in the first c = CODE_DIRECTIONS standardised coordinates)."""

    mean: torch.Tensor
    directions: torch.Tensor
    spread: torch.Tensor
    centres: torch.Tensor

    def coordinates(self, embedding: torch.Tensor) -> torch.Tensor:
        """Embedding 256 -> standardised voice coordinates k."""
        return ((embedding.float() - self.mean) @ self.directions) / self.spread

    def code(self, embedding: torch.Tensor) -> int:
        """Embedding 256 -> the voice code: the index of the nearest cell centre."""
        leading = self.coordinates(embedding)[: self.centres.shape[1]]
        return int((self.centres - leading).pow(2).sum(dim=1).argmin())

    def smoothed_coordinates(self, embedding: torch.Tensor) -> torch.Tensor:
        """Embedding 256 -> the cell centres averaged with weights exp(-d^2 / (2 CELL_SOFTNESS^2)) of their distance
        d, c: near the voice's own centre inside a cell, moving smoothly from one centre to the next across a border."""
        leading = self.coordinates(embedding)[: self.centres.shape[1]]
        weights = torch.softmax(-(self.centres - leading).pow(2).sum(dim=1) / (2 * CELL_SOFTNESS**2), dim=0)
        return weights @ self.centres

    def save(self, path: str, metadata: dict[str, str]) -> None:
        save_file({"mean": self.mean.contiguous(), "directions": self.directions.contiguous(),
                   "spread": self.spread.contiguous(), "centres": self.centres.contiguous()}, path, metadata=metadata)


def load_voice_projection(path: str = DEFAULT_PATH) -> VoiceProjection:
    state, _ = read_safetensors(path, REFIT_FIX)
    return VoiceProjection(state["mean"].float(), state["directions"].float(), state["spread"].float(),
                           state["centres"].float())


def fit_voice_projection(embeddings: np.ndarray, speakers: list[str], directions: int = DIRECTIONS,
                         shrinkage: float = SHRINKAGE, cells: int = CELLS,
                         code_directions: int = CODE_DIRECTIONS) -> VoiceProjection:
    """Regularised LDA of embeddings n 256 labelled by `speakers` (n names, several utterances each), and k-means
    (fixed seed) of the speakers' mean coordinates into `cells` code cells (at most one per speaker)."""
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
    speaker_coordinates = (speaker_means - mean) @ chosen
    spread = speaker_coordinates.std(axis=0)
    leading = speaker_coordinates[:, :code_directions] / spread[:code_directions]
    centres, _ = scipy.cluster.vq.kmeans2(leading, min(cells, len(leading)), seed=KMEANS_SEED, minit="++")
    return VoiceProjection(torch.from_numpy(mean).float(), torch.from_numpy(chosen).float(),
                           torch.from_numpy(spread).float(), torch.from_numpy(centres).float())


def mix_seed(code: int, variation: int) -> int:
    """(voice code, variation) -> an image seed in 0..2**32-1 (splitmix64 finaliser)."""
    value = (code * 0x9E3779B97F4A7C15 + variation * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % 2**64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) % 2**64
    return (value ^ (value >> 31)) % SEED_MODULUS
