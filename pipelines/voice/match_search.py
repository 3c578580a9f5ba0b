"""Analysis by synthesis for voice matching: the MatchSettings whose matched speech the speaker encoder puts
closest to the profile's own embedding, found by a deterministic coordinate search (formant scale, then F0 range
scale, then equalisation strength, each over a fixed grid). The F0 median stays the profile's. Letters: t samples."""

from __future__ import annotations

import dataclasses

import numpy as np

from .matching import MatchSettings, finish, match_voice, measure_for_match, shift_voice
from .profile import VoiceProfile, mono_16k
from .speaker_encoder import SpeakerEncoder, cosine

FORMANT_SCALES = (0.84, 0.9, 0.95, 1.0, 1.05, 1.1, 1.17)
RANGE_SCALES = (0.5, 0.7, 1.0, 1.4, 2.0)
SPECTRUM_STRENGTHS = (0.0, 0.5, 1.0, 1.5, 2.0)
#: The search listens to at most this much of the speech (its start); longer speech costs more and tells no more.
SEARCH_SECONDS = 10.0


def search_settings(wave: np.ndarray, sample_rate: int, profile: VoiceProfile,
                    encoder: SpeakerEncoder) -> MatchSettings:
    """Mono speech t -> the MatchSettings that bring its first SEARCH_SECONDS closest (GE2E cosine) to
    `profile.embedding`; the defaults when the speech has no voiced frame."""
    wave = np.asarray(wave[: round(SEARCH_SECONDS * sample_rate)], dtype=np.float64)
    measured = measure_for_match(wave, sample_rate, profile)
    if measured is None:
        return MatchSettings()

    def closeness(matched: np.ndarray) -> float:
        return cosine(encoder.embed(mono_16k(matched, sample_rate)), profile.embedding)

    best = MatchSettings(spectrum_strength=SPECTRUM_STRENGTHS[-2])
    for field, grid in (("formant_scale", FORMANT_SCALES), ("range_scale", RANGE_SCALES)):
        candidates = [dataclasses.replace(best, **{field: value}) for value in grid]
        scores = [closeness(finish(shift_voice(wave, sample_rate, profile, measured, settings), sample_rate,
                                   profile, settings.spectrum_strength)) for settings in candidates]
        best = candidates[int(np.argmax(scores))]
    shifted = shift_voice(wave, sample_rate, profile, measured, best)
    scores = [closeness(finish(shifted, sample_rate, profile, strength)) for strength in SPECTRUM_STRENGTHS]
    return dataclasses.replace(best, spectrum_strength=SPECTRUM_STRENGTHS[int(np.argmax(scores))])


class VoiceMatcher:
    """convert(wave t, rate) -> matched wave t for pipelines.tts.synthesize: the settings are searched on the first
    speech with voiced frames and kept for the rest, so every sentence gets the same voice."""

    def __init__(self, profile: VoiceProfile, encoder: SpeakerEncoder):
        self.profile = profile
        self.encoder = encoder
        self.settings: MatchSettings | None = None

    def __call__(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        if self.settings is None and measure_for_match(wave, sample_rate, self.profile) is not None:
            self.settings = search_settings(wave, sample_rate, self.profile, self.encoder)
        return match_voice(wave, sample_rate, self.profile, self.settings or MatchSettings())
