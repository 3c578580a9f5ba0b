"""Voice matching (not cloning): speech is moved toward a VoiceProfile with Praat's "Change gender" (PSOLA pitch
resynthesis plus a resampling formant shift): F0 median set to the profile's, F0 range scaled to the profile's
range (in semitones), formants scaled by the ratio of formant spacings; then the long-term average spectrum is
equalised toward the profile's. Duration is kept. Letters: t samples."""

from __future__ import annotations

import math

import numpy as np
import parselmouth
from parselmouth.praat import call

from .profile import VoiceProfile, formant_spacing
from .prosody import f0_contour
from .spectrum import equalize

PITCH_FLOOR_HZ = 60.0
PITCH_CEIL_HZ = 600.0
#: Formant shifts and range factors beyond these sound broken more than they sound like anyone.
FORMANT_RATIO_RANGE = (0.75, 1.35)
PITCH_RANGE_FACTOR_RANGE = (0.4, 2.5)


def range_factor(source_low: float, source_high: float, target_low: float, target_high: float) -> float:
    """How much to widen the source's F0 range (a log ratio: semitone span of target over source)."""
    source_span = math.log(max(source_high, source_low + 1e-3) / source_low)
    target_span = math.log(max(target_high, target_low + 1e-3) / target_low)
    return float(np.clip(target_span / source_span, *PITCH_RANGE_FACTOR_RANGE))


def match_voice(wave: np.ndarray, sample_rate: int, profile: VoiceProfile) -> np.ndarray:
    """Mono speech t (float) -> the same speech in a voice closer to `profile`, t (float32). Speech without a
    voiced frame comes back unchanged."""
    f0, _ = f0_contour(wave, sample_rate)
    voiced = f0[f0 > 0]
    spacing = formant_spacing(wave, sample_rate)
    if len(voiced) < 3 or spacing is None:
        return np.asarray(wave, dtype=np.float32)
    low, high = np.percentile(voiced, (5.0, 95.0))
    ratio = float(np.clip(profile.formant_spacing_hz / spacing, *FORMANT_RATIO_RANGE))
    factor = range_factor(low, high, profile.f0_low_hz, profile.f0_high_hz)
    sound = parselmouth.Sound(np.asarray(wave, dtype=np.float64), sampling_frequency=sample_rate)
    changed = call(sound, "Change gender", PITCH_FLOOR_HZ, PITCH_CEIL_HZ, ratio, profile.f0_median_hz, factor, 1.0)
    if changed.sampling_frequency != sample_rate:
        changed = call(changed, "Resample", sample_rate, 50)
    out = equalize(changed.values[0], sample_rate, profile.spectrum_db)
    out = np.pad(out, (0, max(0, len(wave) - len(out))))[: len(wave)]
    peak = np.abs(out).max()
    return (out / peak * 0.98 if peak > 0.98 else out).astype(np.float32)
