"""Voice profiles and voice matching: the profile's errors, equalisation toward a spectrum, and matched espeak-ng
speech that takes the target's pitch and comes closer to the target speaker."""

from __future__ import annotations

import os

import numpy as np
import pytest

from audio_speech import needs_espeak, speak
from pipelines.errors import PortraitInputError
from pipelines.voice.match_search import VoiceMatcher, search_settings
from pipelines.voice.matching import MatchSettings, match_voice
from pipelines.voice.profile import mono_16k, voice_profile
from pipelines.voice.prosody import measure_prosody
from pipelines.voice.speaker_encoder import DEFAULT_PATH, cosine, load_speaker_encoder
from pipelines.voice.spectrum import average_spectrum, equalize

needs_encoder = pytest.mark.skipif(not os.path.isfile(DEFAULT_PATH),
                                   reason="no speaker encoder: run python -m scripts.fetch_voice_models")
PROFILE_TEXT = ("Yesterday we walked along the river to the market. The bread was warm, the apples were sweet, "
                "and everyone seemed happy to be outside.")
TEST_TEXT = "Please remember to close the windows before you leave the house tonight."


def espeak_wave(voice: str, text: str, folder) -> tuple[np.ndarray, int]:
    """espeak-ng's CLI, which takes voice variants ('en-us+f4')."""
    waveform, rate = speak(text, voice, str(folder))
    return waveform[0, 0].numpy(), rate


@pytest.fixture(scope="module")
def encoder():
    return load_speaker_encoder()


@needs_encoder
def test_short_or_silent_voice_samples_name_the_voice_sample_input(encoder):
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 140 * np.arange(2 * rate) / rate)
    with pytest.raises(PortraitInputError) as error:
        voice_profile(tone, rate, encoder)
    assert error.value.input_name == "voice_sample" and "shorter than 3 s" in error.value.problem
    with pytest.raises(PortraitInputError) as error:
        voice_profile(np.zeros(5 * rate), rate, encoder)
    assert error.value.input_name == "voice_sample" and "silent" in error.value.problem


def test_equalize_brings_the_average_spectrum_to_the_target():
    rng = np.random.default_rng(0)
    rate = 22050
    noise = rng.standard_normal(3 * rate) * 0.1
    tilted = np.convolve(noise, [1.0, 0.9], mode="same")  # more low than high
    target = average_spectrum(np.convolve(noise, [1.0, -0.9], mode="same"), rate)  # more high than low
    before = np.abs(average_spectrum(tilted, rate) - target).mean()
    after = np.abs(average_spectrum(equalize(tilted, rate, target), rate) - target).mean()
    assert before > 6.0 and after < 0.3 * before


@needs_encoder
@needs_espeak
def test_matched_speech_takes_the_target_pitch_and_comes_closer_to_the_target_speaker(encoder, tmp_path):
    target = voice_profile(*espeak_wave("en-us+f4", PROFILE_TEXT, tmp_path), encoder)
    other_utterance = encoder.embed(mono_16k(*espeak_wave("en-us+f4", TEST_TEXT, tmp_path)))
    wave, rate = espeak_wave("en-us", TEST_TEXT, tmp_path)
    assert target.summary().startswith(f"F0 median {target.f0_median_hz:.0f} Hz")
    matched = match_voice(wave, rate, target)
    assert matched.shape == wave.shape and matched.dtype == np.float32
    f0 = measure_prosody(matched, rate).f0_median_hz
    assert abs(f0 / target.f0_median_hz - 1) < 0.1 and measure_prosody(wave, rate).f0_median_hz < 0.7 * f0
    before = cosine(encoder.embed(mono_16k(wave, rate)), other_utterance)
    after = cosine(encoder.embed(mono_16k(matched, rate)), other_utterance)
    assert after > before + 0.1, (before, after)


@needs_encoder
@needs_espeak
def test_the_settings_search_brings_the_speech_closer_to_the_profile_and_keeps_the_pitch(encoder, tmp_path):
    """A tuning pair of bench.tts (espeak-ng en-us toward en-us+f4)."""
    target = voice_profile(*espeak_wave("en-us+f4", PROFILE_TEXT, tmp_path), encoder)
    wave, rate = espeak_wave("en-us", TEST_TEXT, tmp_path)
    settings = search_settings(wave, rate, target, encoder)
    assert settings != MatchSettings()

    def to_profile(matched):
        return cosine(encoder.embed(mono_16k(matched, rate)), target.embedding)

    default = to_profile(match_voice(wave, rate, target))
    searched_speech = match_voice(wave, rate, target, settings)
    assert to_profile(searched_speech) > default + 0.005, (default, to_profile(searched_speech), settings)
    assert abs(measure_prosody(searched_speech, rate).f0_median_hz / target.f0_median_hz - 1) < 0.1


@needs_encoder
@needs_espeak
def test_the_voice_matcher_searches_once_and_keeps_the_settings_for_later_sentences(encoder, tmp_path):
    target = voice_profile(*espeak_wave("en-us+f4", PROFILE_TEXT, tmp_path), encoder)
    first, rate = espeak_wave("en-us", TEST_TEXT, tmp_path)
    matcher = VoiceMatcher(target, encoder)
    silence = np.zeros(rate, dtype=np.float32)
    assert np.array_equal(matcher(silence, rate), silence) and matcher.settings is None
    matcher(first, rate)
    found = matcher.settings
    assert found == search_settings(first, rate, target, encoder)
    second, _ = espeak_wave("en-us", PROFILE_TEXT, tmp_path)
    assert np.array_equal(matcher(second, rate), match_voice(second, rate, target, found))
    assert matcher.settings is found
