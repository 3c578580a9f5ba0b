"""GE2E speaker encoder (Wan et al., "Generalized End-to-End Loss for Speaker Verification", 2018) with the weights
Resemblyzer 0.1.4 releases (Apache-2.0): 16 kHz speech -> a 256-d unit speaker embedding.

Utterances of one speaker land close together (cosine near 1), other speakers further away. The network is three
LSTM layers (40 -> 256) over 40-band power mel frames (25 ms window, 10 ms hop, no log), a linear layer and a ReLU on
the last hidden state, then L2 normalisation. An utterance is cut into 1.6 s partials (160 frames) at 1.3 partials
per second; their embeddings are averaged and normalised again, as in the release. Before that, as the release
prepares speech, quiet speech is raised to -30 dBFS (never lowered: the mels are not logarithmic, so level matters)
and pauses longer than 0.2 s are cut; the release finds pauses with WebRTC's VAD, this module with a 30 ms energy
gate. Letters: t samples, n frames, p partials, w 30 ms windows.
"""

from __future__ import annotations

import math
import os

import torch
from torch import nn
from transformers.audio_utils import mel_filter_bank

from ..checkpoint_io import read_safetensors
from ..errors import CheckpointError

SAMPLE_RATE = 16000
MEL_BANDS = 40
WINDOW_SAMPLES = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
PARTIAL_FRAMES = 160  # 1.6 s
PARTIALS_PER_SECOND = 1.3
#: A last partial that holds less than this share of real audio is dropped (unless it is the only one).
MIN_LAST_COVERAGE = 0.75
EMBEDDING_SIZE = 256
TARGET_DBFS = -30.0
PAUSE_WINDOW_SAMPLES = 480  # 30 ms
#: Speech flags are smoothed over this many windows, then widened by this many on each side (kept pauses <= 0.2 s).
PAUSE_SMOOTHING_WINDOWS = 8
PAUSE_KEEP_WINDOWS = 3
#: A 30 ms window quieter than the loudest by more than this is a pause.
PAUSE_RANGE_DB = 40.0
#: The converted release, as scripts/fetch_voice_models.py writes it into the pack's models/voice.
SPEAKER_ENCODER_FILE = "ge2e_speaker_encoder.safetensors"
INSTALL_FIX = ("Fix: run `python install.py` in the pack folder (it converts the weights shipped in the resemblyzer "
               "0.1.4 wheel)")
DEFAULT_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            "models", "voice", SPEAKER_ENCODER_FILE)


class SpeakerEncoder(nn.Module):
    """mels b n 40 -> unit embeddings b 256 (key names as in the release)."""

    def __init__(self, hidden: int = 256, layers: int = 3):
        super().__init__()
        self.lstm = nn.LSTM(MEL_BANDS, hidden, layers, batch_first=True)
        self.linear = nn.Linear(hidden, EMBEDDING_SIZE)
        self.register_buffer("mel_filters", torch.from_numpy(mel_filter_bank(
            num_frequency_bins=WINDOW_SAMPLES // 2 + 1, num_mel_filters=MEL_BANDS, min_frequency=0.0,
            max_frequency=SAMPLE_RATE / 2, sampling_rate=SAMPLE_RATE, norm="slaney", mel_scale="slaney",
        )).float(), persistent=False)  # 201 40
        self.register_buffer("window", torch.hann_window(WINDOW_SAMPLES), persistent=False)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        embeddings = torch.relu(self.linear(hidden[-1]))
        return embeddings / embeddings.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def mel_frames(self, wave: torch.Tensor) -> torch.Tensor:
        """16 kHz mono t -> power mel frames n 40 (centred frames, zero padding at both ends)."""
        padded = nn.functional.pad(wave[None, None], (WINDOW_SAMPLES // 2, WINDOW_SAMPLES // 2))[0, 0]
        spectrum = torch.stft(padded, WINDOW_SAMPLES, HOP_SAMPLES, window=self.window, center=False,
                              return_complex=True).abs().pow(2)  # 201 n
        return spectrum.transpose(0, 1) @ self.mel_filters

    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        """16 kHz mono speech t -> unit speaker embedding 256, after the release's preparation (level, pauses)."""
        return self.embed_prepared(without_pauses(raised_to_target_level(wave.float())))

    @torch.no_grad()
    def embed_prepared(self, wave: torch.Tensor) -> torch.Tensor:
        """Prepared 16 kHz speech t -> the normalised mean of its partials' embeddings, 256."""
        starts = partial_starts(wave.shape[-1])
        needed = (starts[-1] + PARTIAL_FRAMES) * HOP_SAMPLES
        wave = nn.functional.pad(wave.float(), (0, max(0, needed - wave.shape[-1])))
        mels = self.mel_frames(wave.to(self.window.device))
        partials = torch.stack([mels[start:start + PARTIAL_FRAMES] for start in starts])  # p 160 40
        mean = self(partials).mean(dim=0)
        return (mean / mean.norm()).cpu()

def raised_to_target_level(wave: torch.Tensor) -> torch.Tensor:
    """Speech t scaled up to TARGET_DBFS RMS; louder speech is left as it is."""
    level_db = 10 * torch.log10(wave.pow(2).mean().clamp_min(1e-20))
    return wave * 10 ** (max(0.0, TARGET_DBFS - float(level_db)) / 20)


def without_pauses(wave: torch.Tensor) -> torch.Tensor:
    """Speech t without its pauses longer than 0.2 s (whole 30 ms windows; silence is returned as it is)."""
    windows = wave[: wave.shape[-1] // PAUSE_WINDOW_SAMPLES * PAUSE_WINDOW_SAMPLES].reshape(-1, PAUSE_WINDOW_SAMPLES)
    if windows.shape[0] == 0:
        return wave
    energy_db = 10 * torch.log10(windows.pow(2).mean(dim=1) + 1e-12)  # w
    speech = (energy_db > energy_db.max() - PAUSE_RANGE_DB).float()
    smoothed = nn.functional.avg_pool1d(speech[None, None], PAUSE_SMOOTHING_WINDOWS, stride=1,
                                        padding=PAUSE_SMOOTHING_WINDOWS // 2, count_include_pad=True)[0, 0]
    kept = nn.functional.max_pool1d((smoothed[: len(speech)] > 0.5).float()[None, None], 2 * PAUSE_KEEP_WINDOWS + 1,
                                    stride=1, padding=PAUSE_KEEP_WINDOWS)[0, 0] > 0
    return windows[kept].reshape(-1) if kept.any() else wave


def partial_starts(samples: int) -> list[int]:
    """First mel frame of each 1.6 s partial covering an utterance of `samples` samples at 16 kHz."""
    frames = math.ceil((samples + 1) / HOP_SAMPLES)
    step = round(SAMPLE_RATE / PARTIALS_PER_SECOND / HOP_SAMPLES)
    starts = list(range(0, max(1, frames - PARTIAL_FRAMES + step + 1), step))
    last_coverage = (samples - starts[-1] * HOP_SAMPLES) / (PARTIAL_FRAMES * HOP_SAMPLES)
    if last_coverage < MIN_LAST_COVERAGE and len(starts) > 1:
        starts.pop()
    return starts


def load_speaker_encoder(path: str = DEFAULT_PATH) -> SpeakerEncoder:
    """The encoder with the converted release weights from `path` (safetensors), in eval mode on the CPU."""
    if not os.path.isfile(path):
        raise CheckpointError(f"speaker encoder {path} is missing. {INSTALL_FIX}")
    encoder = SpeakerEncoder()
    state, _ = read_safetensors(path, INSTALL_FIX)
    expected = encoder.state_dict()
    wrong = sorted(set(state) ^ set(expected)) + [
        key for key in state if key in expected and state[key].shape != expected[key].shape
    ]
    if wrong:
        raise CheckpointError(f"{path} is not a GE2E speaker encoder: unexpected or missing keys {wrong[:5]}. "
                              f"{INSTALL_FIX}")
    encoder.load_state_dict(state)
    return encoder.eval()


def cosine(first: torch.Tensor, second: torch.Tensor) -> float:
    """Cosine similarity of two embeddings 256."""
    return float(torch.nn.functional.cosine_similarity(first[None].detach().float(), second[None].detach().float())[0])

