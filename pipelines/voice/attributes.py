"""Who a voice sounds like, as numbers a portrait can follow: speaker embedding, pitch, vocal-tract length, pace and
loudness dynamics of one utterance.

Vocal-tract length follows the uniform-tube model (Fitch 1997; Reby & McComb 2003): a tube closed at the glottis and
open at the lips resonates at F_i = (2i - 1) c / (4 L), so the formants are spaced dF = c / (2 L) apart. dF is the
least-squares slope of F1..F4 (Praat's Burg formants) against (2i - 1) / 2 in each voiced frame; L = c / (2 dF) with
c = 350 m/s (warm, humid air), median over frames. Loudness dynamics is the spread (standard deviation, dB) of the
frame intensity over the speaking frames, mapped linearly from CALM_DB (0, calm) to ANIMATED_DB (1, animated).
Letters: t samples, n frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth
import torch

from ..audio.preprocess import ENCODER_SAMPLE_RATE, to_mono_16k, validate_audio
from ..errors import PortraitInputError
from .prosody import FRAME_SECONDS, SPEECH_RANGE_DB, f0_contour, intensity_db, measure_prosody
from .speaker_encoder import SpeakerEncoder

SPEED_OF_SOUND_CM_S = 35000.0
#: Formants F1..F4 give the spacing; Praat looks for 5 below FORMANT_CEILING_HZ (its default for adult voices).
FORMANTS_USED = 4
FORMANT_CEILING_HZ = 5500.0
#: Intensity spread (dB) of a flat, calm read and of lively, animated speech: the ends of the 0..1 dynamics scale.
CALM_DB, ANIMATED_DB = 4.0, 10.0
#: Less speech than this carries too little of the voice for a stable embedding or pitch.
MIN_SPEECH_SECONDS = 1.0
#: Speech breaks its voicing for consonants and pauses several times a second; sound that breaks it less often than
#: this is held tones (a chord, humming), not speech.
MIN_VOICING_BREAKS_PER_SECOND = 0.5
#: A waveform whose peak stays below this is silence.
SILENCE_PEAK = 1e-4


@dataclass(frozen=True)
class VoiceAttributes:
    """What one utterance says about its speaker (embedding: unit vector 256)."""

    embedding: torch.Tensor
    f0_median_hz: float
    f0_low_hz: float
    f0_high_hz: float
    vocal_tract_cm: float
    syllables_per_second: float
    loudness_dynamics: float  # 0 calm .. 1 animated
    speech_seconds: float

    @property
    def f0_range_semitones(self) -> float:
        return 12.0 * float(np.log2(self.f0_high_hz / self.f0_low_hz))

    def summary(self) -> str:
        """One line for the node's preview."""
        return (f"pitch {self.f0_median_hz:.0f} Hz, range {self.f0_range_semitones:.1f} st, vocal tract "
                f"{self.vocal_tract_cm:.1f} cm, {self.syllables_per_second:.1f} syllables/s, dynamics "
                f"{self.loudness_dynamics:.2f} (0 calm, 1 animated), {self.speech_seconds:.1f} s of speech")


def formant_spacing_hz(wave: np.ndarray, sample_rate: int, voiced_times: np.ndarray) -> np.ndarray:
    """Mono speech t -> formant spacing dF (Hz) in each voiced frame where Praat finds F1..F4, m <= len(voiced_times)."""
    sound = parselmouth.Sound(np.asarray(wave, dtype=np.float64), sampling_frequency=sample_rate)
    formant = sound.to_formant_burg(time_step=FRAME_SECONDS, max_number_of_formants=5,
                                    maximum_formant=FORMANT_CEILING_HZ)
    orders = (2 * np.arange(1, FORMANTS_USED + 1) - 1) / 2.0  # 0.5 1.5 2.5 3.5
    spacings = []
    for time in voiced_times:
        values = np.array([formant.get_value_at_time(i, float(time)) for i in range(1, FORMANTS_USED + 1)])
        if np.isfinite(values).all():
            spacings.append(float(values @ orders / (orders @ orders)))
    return np.asarray(spacings)


def vocal_tract_length_cm(wave: np.ndarray, sample_rate: int, voiced_times: np.ndarray,
                          input_name: str = "audio") -> float:
    """Mono speech t -> vocal-tract length (cm) from the median formant spacing over the voiced frames."""
    spacings = formant_spacing_hz(wave, sample_rate, voiced_times)
    if spacings.size == 0:
        raise PortraitInputError(input_name, "no formants were found in the voiced frames",
                                 "connect a clear recording of someone speaking")
    return SPEED_OF_SOUND_CM_S / (2.0 * float(np.median(spacings)))


def loudness_dynamics(wave: np.ndarray, sample_rate: int, times: np.ndarray) -> float:
    """Mono speech t -> 0 (calm) .. 1 (animated): the spread of frame intensity over the speaking frames."""
    energy = intensity_db(wave, sample_rate, times)
    speaking = energy[energy > energy.max() - SPEECH_RANGE_DB]
    return float(np.clip((speaking.std() - CALM_DB) / (ANIMATED_DB - CALM_DB), 0.0, 1.0))


def measure_voice_attributes(waveform: torch.Tensor, sample_rate: int, encoder: SpeakerEncoder,
                             input_name: str = "audio") -> VoiceAttributes:
    """AUDIO waveform b c t (the first item is read) -> its VoiceAttributes; PortraitInputError naming `input_name`
    for silence, no voiced frame (noise, percussion), held tones or under MIN_SPEECH_SECONDS of speech."""
    validate_audio(waveform, sample_rate, input_name)
    wave16 = to_mono_16k(waveform[:1], sample_rate)[0]  # t
    if float(wave16.abs().max()) < SILENCE_PEAK:
        raise PortraitInputError(input_name, "the audio is silent", "connect a recording of someone speaking")
    wave = wave16.numpy()
    f0, times = f0_contour(wave, ENCODER_SAMPLE_RATE)
    prosody = measure_prosody(wave, ENCODER_SAMPLE_RATE, input_name, (f0, times))
    if prosody.speech_seconds < MIN_SPEECH_SECONDS or prosody.voiced_seconds < MIN_SPEECH_SECONDS / 2:
        raise PortraitInputError(
            input_name, f"only {prosody.speech_seconds:.1f} s of speech ({prosody.voiced_seconds:.1f} s voiced) was "
                        f"found, under the {MIN_SPEECH_SECONDS:.0f} s a voice needs",
            "connect a longer recording: a sentence or more (3 s or longer is best)",
        )
    voiced = f0 > 0
    breaks = int(np.sum(voiced[:-1] & ~voiced[1:]))
    if breaks < MIN_VOICING_BREAKS_PER_SECOND * prosody.speech_seconds:
        raise PortraitInputError(
            input_name, f"the sound stays voiced without the breaks of consonants and pauses ({breaks} in "
                        f"{prosody.speech_seconds:.1f} s): held tones or music, not speech",
            "connect speech without music (separate the vocals first if music plays under it)",
        )
    return VoiceAttributes(
        embedding=encoder.embed(wave16),
        f0_median_hz=prosody.f0_median_hz, f0_low_hz=prosody.f0_low_hz, f0_high_hz=prosody.f0_high_hz,
        vocal_tract_cm=vocal_tract_length_cm(wave, ENCODER_SAMPLE_RATE, times[voiced], input_name),
        syllables_per_second=prosody.syllables_per_second,
        loudness_dynamics=loudness_dynamics(wave, ENCODER_SAMPLE_RATE, times),
        speech_seconds=prosody.speech_seconds,
    )
