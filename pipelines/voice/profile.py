"""A voice profile: who speaks (GE2E speaker embedding) and how (F0 level and range, formant spacing, timbre, pace), from
3-30 s of one speaker's speech."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..audio.preprocess import to_mono_16k
from ..errors import PortraitInputError
from .attributes import formant_spacing_hz
from .prosody import f0_contour, measure_prosody
from .speaker_encoder import SpeakerEncoder
from .spectrum import average_spectrum

MIN_SECONDS = 3.0
MAX_SECONDS = 30.0
#: A sample whose RMS stays below this (about -70 dBFS) is silence.
SILENT_RMS = 3e-4


@dataclass(frozen=True)
class VoiceProfile:
    """Speaker embedding 256 (unit), the voice's measures and its long-term average spectrum m (dB, mean 0);
    `seconds` of sample they came from."""

    embedding: torch.Tensor
    f0_median_hz: float
    f0_low_hz: float
    f0_high_hz: float
    formant_spacing_hz: float
    syllables_per_second: float
    spectrum_db: np.ndarray
    seconds: float

    def summary(self) -> str:
        """One line for the node's preview."""
        return (f"F0 median {self.f0_median_hz:.0f} Hz (range {self.f0_low_hz:.0f}-{self.f0_high_hz:.0f} Hz), "
                f"formant spacing {self.formant_spacing_hz:.0f} Hz, {self.syllables_per_second:.1f} syllables/s, "
                f"from {self.seconds:.1f} s")


def formant_spacing(wave: np.ndarray, sample_rate: int, voiced_times: np.ndarray) -> float | None:
    """Mono speech t -> the median formant spacing dF (Hz) over its voiced frames at `voiced_times` (s) (None when
    no frame has F1..F4)."""
    spacings = formant_spacing_hz(wave, sample_rate, voiced_times)
    return float(np.median(spacings)) if spacings.size else None


def mono_16k(wave: np.ndarray, sample_rate: int) -> torch.Tensor:
    """Mono speech t at `sample_rate` -> t' at the speaker encoder's 16 kHz (float32)."""
    return to_mono_16k(torch.as_tensor(np.asarray(wave, dtype=np.float32))[None, None], sample_rate)[0]


def voice_profile(wave: np.ndarray, sample_rate: int, encoder: SpeakerEncoder,
                  input_name: str = "voice_sample") -> VoiceProfile:
    """Mono speech t -> its VoiceProfile (first 30 s); PortraitInputError naming `input_name` when the sample is
    shorter than 3 s, silent or holds no voiced speech."""
    seconds = len(wave) / sample_rate
    if seconds < MIN_SECONDS:
        raise PortraitInputError(input_name, f"the voice sample is {seconds:.1f} s long, shorter than "
                                 f"{MIN_SECONDS:.0f} s", "record or connect 3-30 s of the person speaking")
    wave = np.asarray(wave[: round(MAX_SECONDS * sample_rate)], dtype=np.float64)
    if np.sqrt(np.mean(wave ** 2)) < SILENT_RMS:
        raise PortraitInputError(input_name, "the voice sample is silent",
                                 "connect 3-30 s of the person speaking (check the recording level)")
    f0, times = f0_contour(wave, sample_rate)
    prosody = measure_prosody(wave, sample_rate, input_name, (f0, times))
    spacing = formant_spacing(wave, sample_rate, times[f0 > 0])
    if spacing is None:
        raise PortraitInputError(input_name, "no vowel with clear formants was found in the voice sample",
                                 "connect clean speech of one person, without music or heavy noise")
    return VoiceProfile(
        embedding=encoder.embed(mono_16k(wave, sample_rate)), f0_median_hz=prosody.f0_median_hz,
        f0_low_hz=prosody.f0_low_hz, f0_high_hz=prosody.f0_high_hz, formant_spacing_hz=spacing,
        syllables_per_second=prosody.syllables_per_second,
        spectrum_db=average_spectrum(wave, sample_rate), seconds=len(wave) / sample_rate,
    )
