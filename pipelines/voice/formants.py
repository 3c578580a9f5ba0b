"""Formant spacing: the mean distance between a voice's formants, set by its vocal-tract length (longer tract,
denser formants). For a uniform tube closed at one end F_i = (i - 1/2) dF; dF is fitted to F1..F4 of every voiced
frame by least squares and the median over frames is returned. Formants come from Praat's Burg tracker."""

from __future__ import annotations

import numpy as np
import parselmouth

from .prosody import f0_contour

FORMANTS = 4
#: Burg analysis: five formants below this ceiling (Praat's advice for adult speech of either sex).
MAX_FORMANT_HZ = 5500.0
HALF_ORDERS = np.arange(1, FORMANTS + 1) - 0.5


def formant_spacing(wave: np.ndarray, sample_rate: int) -> float | None:
    """Mono speech t -> formant spacing dF in Hz (None when no voiced frame has four formants)."""
    sound = parselmouth.Sound(np.asarray(wave, dtype=np.float64), sampling_frequency=sample_rate)
    formant = sound.to_formant_burg(time_step=0.01, max_number_of_formants=5, maximum_formant=MAX_FORMANT_HZ)
    f0, times = f0_contour(wave, sample_rate)
    spacings = []
    for time in times[f0 > 0]:
        values = np.array([formant.get_value_at_time(i, time) for i in range(1, FORMANTS + 1)])
        if np.all(np.isfinite(values)):
            spacings.append(values @ HALF_ORDERS / (HALF_ORDERS @ HALF_ORDERS))
    return float(np.median(spacings)) if spacings else None
