"""Long-term average spectrum (LTAS) of speech and equalisation toward another's: the voice's overall timbre
(spectral tilt, nasal and high-band energy) that formant spacing and pitch leave out. Bands are 32 mel-spaced
triangles between 100 and 7600 Hz; levels are in dB relative to their mean, so only the shape counts.
Letters: t samples, k STFT bins, n frames, m bands."""

from __future__ import annotations

import numpy as np
import torch

BANDS = 32
LOW_HZ, HIGH_HZ = 100.0, 7600.0
FRAME_SECONDS = 0.032
HOP_SECONDS = 0.008
#: Frames quieter than the loudest by more than this are pauses and are left out of the average.
SPEECH_RANGE_DB = 30.0
#: Largest boost or cut per band: more only amplifies noise or band-limited gaps.
MAX_GAIN_DB = 12.0


def _mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def band_centres_mel() -> np.ndarray:
    """m band centres on the mel scale."""
    return np.linspace(_mel(LOW_HZ), _mel(HIGH_HZ), BANDS + 2)[1:-1]


def _stft(wave: np.ndarray, sample_rate: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """(complex spectrum k n, window, n_fft, hop)."""
    n_fft = int(2 ** np.ceil(np.log2(FRAME_SECONDS * sample_rate)))
    hop = max(1, round(HOP_SECONDS * sample_rate))
    window = torch.hann_window(n_fft, dtype=torch.float64)
    signal = torch.as_tensor(np.asarray(wave, dtype=np.float64))
    return torch.stft(signal, n_fft, hop, window=window, return_complex=True), window, n_fft, hop


def _band_weights(n_fft: int, sample_rate: int) -> np.ndarray:
    """Triangular mel filters m k."""
    bins_mel = _mel(np.fft.rfftfreq(n_fft, 1.0 / sample_rate))
    edges = np.linspace(_mel(LOW_HZ), _mel(HIGH_HZ), BANDS + 2)
    rising = (bins_mel[None] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - bins_mel[None]) / (edges[2:, None] - edges[1:-1, None])
    return np.clip(np.minimum(rising, falling), 0.0, None)


def _speech_ltas(power: np.ndarray, n_fft: int, sample_rate: int) -> np.ndarray:
    """Power k n -> band levels m in dB (mean 0), from the frames within SPEECH_RANGE_DB of the loudest."""
    energy = 10.0 * np.log10(power.sum(axis=0) + 1e-12)
    speaking = energy > energy.max() - SPEECH_RANGE_DB
    bands = _band_weights(n_fft, sample_rate) @ power[:, speaking].mean(axis=1)
    levels = 10.0 * np.log10(bands + 1e-12)
    return levels - levels.mean()


def average_spectrum(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono speech t -> its LTAS, m band levels in dB (mean 0)."""
    spectrum, _, n_fft, _ = _stft(wave, sample_rate)
    return _speech_ltas(spectrum.abs().square().numpy(), n_fft, sample_rate)


def equalize(wave: np.ndarray, sample_rate: int, target_db: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Mono speech t -> the same speech filtered so its LTAS follows `target_db` (m), t float64. Gains are
    interpolated between band centres on the mel scale, clipped to +-MAX_GAIN_DB and scaled by `strength`
    (1: all the way)."""
    spectrum, window, n_fft, hop = _stft(wave, sample_rate)
    source_db = _speech_ltas(spectrum.abs().square().numpy(), n_fft, sample_rate)
    gain_db = strength * np.clip(np.asarray(target_db) - source_db, -MAX_GAIN_DB, MAX_GAIN_DB)
    bin_gain_db = np.interp(_mel(np.fft.rfftfreq(n_fft, 1.0 / sample_rate)), band_centres_mel(), gain_db)
    gain = torch.as_tensor(10.0 ** (bin_gain_db / 20.0))[:, None]
    return torch.istft(spectrum * gain, n_fft, hop, window=window, length=len(wave)).numpy()
