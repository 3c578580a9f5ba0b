"""Voice matching (not cloning): speech is moved toward a VoiceProfile with Praat's "Change gender" (PSOLA pitch
resynthesis plus a resampling formant shift): F0 median set to the profile's, F0 range scaled to the profile's
range (in semitones), formants scaled by the ratio of formant spacings; then the long-term average spectrum is
equalised toward the profile's. Duration is kept. MatchSettings scale the measured formant ratio and range factor
and set how much of the equalisation is applied; the F0 median is always the profile's. Letters: t samples."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import parselmouth
from parselmouth.praat import call, run

from .profile import VoiceProfile, formant_spacing
from .prosody import f0_contour
from .spectrum import equalize

PITCH_FLOOR_HZ = 60.0
PITCH_CEIL_HZ = 600.0
#: Formant shifts and range factors beyond these sound broken more than they sound like anyone.
FORMANT_RATIO_RANGE = (0.75, 1.35)
PITCH_RANGE_FACTOR_RANGE = (0.4, 2.5)
#: Praat's overlap-add draws random numbers (unvoiced stretches); seeding it makes a match repeatable.
PRAAT_SEED = 1


@dataclass(frozen=True)
class MatchSettings:
    """formant_scale and range_scale multiply the measured formant ratio and F0 range factor; spectrum_strength
    is the share (0..) of the LTAS equalisation gains applied."""

    formant_scale: float = 1.0
    range_scale: float = 1.0
    spectrum_strength: float = 1.0


@dataclass(frozen=True)
class Measured:
    """What matching needs from the speech to be matched: formant ratio and F0 range factor toward the profile."""

    formant_ratio: float
    range_factor: float


def range_factor(source_low: float, source_high: float, target_low: float, target_high: float) -> float:
    """How much to widen the source's F0 range (a log ratio: semitone span of target over source)."""
    source_span = math.log(max(source_high, source_low + 1e-3) / source_low)
    target_span = math.log(max(target_high, target_low + 1e-3) / target_low)
    return float(np.clip(target_span / source_span, *PITCH_RANGE_FACTOR_RANGE))


def measure_for_match(wave: np.ndarray, sample_rate: int, profile: VoiceProfile) -> Measured | None:
    """Mono speech t -> its formant ratio and range factor toward `profile`; None without voiced speech."""
    f0, times = f0_contour(wave, sample_rate)
    voiced = f0[f0 > 0]
    spacing = formant_spacing(wave, sample_rate, times[f0 > 0]) if len(voiced) >= 3 else None
    if spacing is None:
        return None
    low, high = np.percentile(voiced, (5.0, 95.0))
    return Measured(profile.formant_spacing_hz / spacing, range_factor(low, high, profile.f0_low_hz,
                                                                       profile.f0_high_hz))


def shift_voice(wave: np.ndarray, sample_rate: int, profile: VoiceProfile, measured: Measured,
                settings: MatchSettings) -> np.ndarray:
    """Mono speech t -> pitch and formants moved toward `profile` (Change gender, seeded: the same input gives
    the same output), t float64 (not equalised)."""
    ratio = float(np.clip(measured.formant_ratio * settings.formant_scale, *FORMANT_RATIO_RANGE))
    factor = float(np.clip(measured.range_factor * settings.range_scale, *PITCH_RANGE_FACTOR_RANGE))
    sound = parselmouth.Sound(np.asarray(wave, dtype=np.float64), sampling_frequency=sample_rate)
    run(f"random_initializeWithSeedUnsafelyButPredictably ({PRAAT_SEED})")
    try:
        changed = call(sound, "Change gender", PITCH_FLOOR_HZ, PITCH_CEIL_HZ, ratio, profile.f0_median_hz, factor,
                       1.0)
    finally:
        run("random_initializeSafelyAndUnpredictably ()")
    if changed.sampling_frequency != sample_rate:
        changed = call(changed, "Resample", sample_rate, 50)
    out = changed.values[0]
    return np.pad(out, (0, max(0, len(wave) - len(out))))[: len(wave)]


def finish(shifted: np.ndarray, sample_rate: int, profile: VoiceProfile, strength: float) -> np.ndarray:
    """Shifted speech t -> equalised by `strength` toward the profile's LTAS and kept below full scale, float32."""
    out = equalize(shifted, sample_rate, profile.spectrum_db, strength) if strength > 0 else shifted
    peak = np.abs(out).max()
    return (out / peak * 0.98 if peak > 0.98 else out).astype(np.float32)


def match_voice(wave: np.ndarray, sample_rate: int, profile: VoiceProfile,
                settings: MatchSettings = MatchSettings()) -> np.ndarray:
    """Mono speech t (float) -> the same speech in a voice closer to `profile`, t (float32). Speech without a
    voiced frame comes back unchanged."""
    measured = measure_for_match(wave, sample_rate, profile)
    if measured is None:
        return np.asarray(wave, dtype=np.float32)
    shifted = shift_voice(wave, sample_rate, profile, measured, settings)
    return finish(shifted, sample_rate, profile, settings.spectrum_strength)
