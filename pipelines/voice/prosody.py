"""How a voice speaks: pitch (F0) level and range, and speaking rate, from mono speech.

F0 comes from Praat's autocorrelation pitch tracker (Boersma 1993, through `parselmouth`), 10 ms frames, 0 where a
frame is unvoiced. The
speaking rate counts syllable nuclei per second of speech, after De Jong & Wempe (2009): peaks of the frame
intensity that stand at least 2 dB above the dips around them, lie within 25 dB of the loudest frame and fall in a
voiced frame. Letters: t samples, n frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth
from scipy.signal import find_peaks

from ..errors import PortraitInputError

FRAME_SECONDS = 0.010
#: Search range of the F0 estimator: below a bass's lowest and above a child's highest speaking pitch.
F0_FLOOR_HZ = 50.0
F0_CEIL_HZ = 700.0
#: Frames quieter than the loudest by more than this are pauses, not speech.
SPEECH_RANGE_DB = 25.0
#: A syllable nucleus stands this far above the intensity dips on either side.
NUCLEUS_PROMINENCE_DB = 2.0
#: Percentiles of voiced-frame F0 that give the speaker's range (robust to octave slips at the ends).
RANGE_PERCENTILES = (5.0, 95.0)


@dataclass(frozen=True)
class Prosody:
    """Pitch and pace of one speaker's speech."""

    f0_median_hz: float
    f0_low_hz: float
    f0_high_hz: float
    voiced_seconds: float
    speech_seconds: float
    syllables_per_second: float


def f0_contour(wave: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Mono speech t -> (F0 in Hz per 10 ms frame, 0 where unvoiced; the frames' centre times in s), each n."""
    sound = parselmouth.Sound(np.asarray(wave, dtype=np.float64), sampling_frequency=sample_rate)
    pitch = sound.to_pitch_ac(time_step=FRAME_SECONDS, pitch_floor=F0_FLOOR_HZ, pitch_ceiling=F0_CEIL_HZ)
    return pitch.selected_array["frequency"], pitch.xs()


def intensity_db(wave: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """Mono speech t -> energy in dB over 40 ms windows centred on `times` (s), n."""
    half = round(2 * FRAME_SECONDS * sample_rate)
    padded = np.pad(np.asarray(wave, dtype=np.float64), (half, half))
    summed = np.concatenate([[0.0], np.cumsum(padded ** 2)])
    starts = np.clip(np.round(times * sample_rate).astype(int), 0, len(wave))
    power = (summed[starts + 2 * half] - summed[starts]) / (2 * half)
    return 10.0 * np.log10(power + 1e-12)


def measure_prosody(wave: np.ndarray, sample_rate: int, input_name: str = "audio",
                    contour: tuple[np.ndarray, np.ndarray] | None = None) -> Prosody:
    """Mono speech t -> its Prosody; PortraitInputError naming `input_name` when no frame is voiced. `contour`: the
    speech's (f0, times) from f0_contour when the caller has tracked it already."""
    f0, times = contour if contour is not None else f0_contour(wave, sample_rate)
    voiced = f0 > 0
    if not voiced.any():
        raise PortraitInputError(
            input_name, "no voiced speech was found (silence, noise or music without a voice)",
            "connect a recording of someone speaking",
        )
    energy = intensity_db(wave, sample_rate, times)
    speaking = energy > energy.max() - SPEECH_RANGE_DB
    peaks, _ = find_peaks(energy, prominence=NUCLEUS_PROMINENCE_DB)
    nuclei = [peak for peak in peaks if speaking[peak] and voiced[peak]]
    speech_seconds = float(speaking.sum()) * FRAME_SECONDS
    low, high = np.percentile(f0[voiced], RANGE_PERCENTILES)
    return Prosody(
        f0_median_hz=float(np.median(f0[voiced])), f0_low_hz=float(low), f0_high_hz=float(high),
        voiced_seconds=float(voiced.sum()) * FRAME_SECONDS, speech_seconds=speech_seconds,
        syllables_per_second=len(nuclei) / max(speech_seconds, FRAME_SECONDS),
    )
