"""Voice-only portraits: voice attributes, the voice projection and seed, the prompt table and the painted face."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from scipy.signal import lfilter

from pipelines.errors import PortraitInputError
from pipelines.voice.attributes import (SPEED_OF_SOUND_CM_S, VoiceAttributes, loudness_dynamics,
                                        measure_voice_attributes, vocal_tract_length_cm)
from pipelines.voice.imagine import imagine_portrait
from pipelines.voice.portrait_traits import PortraitTraits, face_style, portrait_traits
from pipelines.voice.portrait_words import DEFAULT_STYLE, parse_style, portrait_prompt
from pipelines.voice.prosody import f0_contour
from pipelines.voice.speaker_encoder import DEFAULT_PATH as ENCODER_PATH, load_speaker_encoder
from pipelines.voice.voice_seed import DEFAULT_PATH as PROJECTION_PATH, fit_voice_projection, load_voice_projection, mix_seed
from tests.audio_speech import needs_espeak, speak

RATE = 16000


def tube_vowel(tract_cm: float, f0_hz: float = 120.0, seconds: float = 2.0) -> np.ndarray:
    """A pulse train through the resonances of a uniform tube of `tract_cm` below 7 kHz, t."""
    pulses = np.zeros(int(seconds * RATE))
    pulses[::int(RATE / f0_hz)] = 1.0
    wave = pulses
    for index in range(1, 8):
        centre = (2 * index - 1) * SPEED_OF_SOUND_CM_S / (4 * tract_cm)
        if centre > 7000:
            break
        radius = np.exp(-np.pi * 80.0 / RATE)
        wave = lfilter([1.0], [1, -2 * radius * np.cos(2 * np.pi * centre / RATE), radius**2], wave)
    return (0.5 * wave / np.abs(wave).max()).astype(np.float32)


@pytest.mark.parametrize("tract_cm", [14.5, 15.5, 16.5])
def test_vocal_tract_length_of_a_uniform_tube(tract_cm):
    wave = tube_vowel(tract_cm)
    f0, times = f0_contour(wave, RATE)
    assert abs(vocal_tract_length_cm(wave, RATE, times[f0 > 0]) / tract_cm - 1) < 0.05


def test_loudness_dynamics_grows_with_intensity_swings():
    times = np.arange(0.02, 3.0, 0.01)
    t = np.arange(3 * RATE) / RATE
    tone = np.sin(2 * np.pi * 150 * t)
    flat = loudness_dynamics(0.3 * tone, RATE, times)
    swinging = loudness_dynamics(0.3 * tone * (0.05 + np.sin(np.pi * 2 * t) ** 2), RATE, times)
    assert flat == 0.0 and swinging > 0.5


@pytest.mark.parametrize("wave, problem", [
    (np.zeros(3 * RATE, np.float32), "silent"),
    (tube_vowel(17.0, seconds=0.6), "under the 1 s"),
    ((0.2 * sum(np.sin(2 * np.pi * f * np.arange(3 * RATE) / RATE) for f in (220, 277, 330))).astype(np.float32),
     "held tones or music"),
    (np.random.default_rng(0).standard_normal(3 * RATE).astype(np.float32) * 0.1, "no voiced speech"),
])
def test_bad_voices_name_the_input_and_the_fix(wave, problem):
    with pytest.raises(PortraitInputError, match=f"voice: .*{problem}.*Fix: "):
        measure_voice_attributes(torch.from_numpy(wave)[None, None], RATE, encoder=None, input_name="voice")


def test_projection_separates_speakers_and_each_speaker_keeps_one_code():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((12, 32))
    embeddings = np.concatenate([centre + 0.05 * rng.standard_normal((4, 32)) for centre in centres])
    speakers = [f"s{index}" for index in range(12) for _ in range(4)]
    projection = fit_voice_projection(embeddings, speakers, directions=3, cells=12, code_directions=3)
    assert projection.centres.shape == (12, 3)
    coordinates = torch.stack([projection.coordinates(torch.from_numpy(e).float()) for e in embeddings]).view(12, 4, 3)
    assert float(coordinates.std(dim=1).mean()) < 0.1 * float(coordinates.mean(dim=1).std(dim=0).mean())
    codes = np.array([projection.code(torch.from_numpy(e).float()) for e in embeddings]).reshape(12, 4)
    assert (codes == codes[:, :1]).all() and len(set(codes[:, 0])) >= 10
    first = torch.from_numpy(embeddings[0]).float()
    nearest = (projection.centres - projection.coordinates(first)).norm(dim=1).argmin()
    assert projection.code(first) == int(nearest)
    smoothed = torch.stack([projection.smoothed_coordinates(torch.from_numpy(e).float()) for e in embeddings])
    assert float(smoothed.view(12, 4, 3).std(dim=1).mean()) < float(coordinates.std(dim=1).mean())
    assert float(smoothed.view(12, 4, 3).mean(dim=1).std(dim=0).mean()) > 0.5


def test_seed_is_fixed_per_code_and_variation():
    assert mix_seed(5, 0) == mix_seed(5, 0)
    seeds = {mix_seed(code, variation) for code in range(8) for variation in range(4)}
    assert len(seeds) == 32 and all(0 <= seed < 2**32 for seed in seeds)


def test_prompt_follows_the_style_table():
    low, high = PortraitTraits(*[0.1] * 10), PortraitTraits(*[0.9] * 10)
    assert "a woman" in portrait_prompt(low) and "a man" in portrait_prompt(high)
    style = "masculinity: girl | kid | boy\ntemplate: a drawing of a {masculinity}"
    assert portrait_prompt(high, style) == "a drawing of a boy"
    table, _ = parse_style(DEFAULT_STYLE)
    assert set(table) >= {"masculinity", "age", "liveliness"}
    for bad, problem in [("masculinity: a | b\ntemplate: {masculinity}", "2 choices"),
                         ("masculinity: a | b | c", "no `template:`"), ("template: {age}", "no line defines"),
                         ("height: a | b | c\ntemplate: x", "not `trait")]:
        with pytest.raises(PortraitInputError, match=f"style: .*{problem}"):
            portrait_prompt(low, bad)


def attributes(f0_hz: float, tract_cm: float, embedding: torch.Tensor) -> VoiceAttributes:
    return VoiceAttributes(embedding, f0_hz, 0.8 * f0_hz, 1.3 * f0_hz, tract_cm, 4.5, 0.4, 3.0)


def test_traits_follow_pitch_and_tract_and_variation_keeps_the_voice():
    coordinates = torch.zeros(8)
    deep = portrait_traits(attributes(95.0, 18.0, torch.zeros(256)), coordinates)
    light = portrait_traits(attributes(230.0, 14.0, torch.zeros(256)), coordinates)
    assert deep.masculinity > 0.9 > 0.1 > light.masculinity and deep.face_length > light.face_length
    deep_face, light_face = face_style(deep), face_style(light)
    assert deep_face.half_height / deep_face.half_width > light_face.half_height / light_face.half_width
    assert deep_face.eye_scale < light_face.eye_scale
    assert face_style(deep) == deep_face  # variation 0: fixed
    varied = face_style(deep, variation=7)
    assert varied.hair != deep_face.hair and abs(varied.half_width / deep_face.half_width - 1) < 0.1


needs_voice_models = pytest.mark.skipif(not (os.path.isfile(ENCODER_PATH) and os.path.isfile(PROJECTION_PATH)),
                                        reason="speaker encoder not installed: python -m scripts.fetch_voice_models")


@needs_voice_models
@needs_espeak
def test_a_voice_imagines_one_face_and_seed(tmp_path):
    encoder, projection = load_speaker_encoder(), load_voice_projection()
    waveform, rate = speak("Good morning, the weather is lovely today, shall we take a walk?", "en+m3", str(tmp_path))
    measured = measure_voice_attributes(waveform, rate, encoder)
    assert 80 < measured.f0_median_hz < 130 and 15.5 < measured.vocal_tract_cm < 19.0
    first, again = imagine_portrait(measured, projection), imagine_portrait(measured, projection)
    assert first.seed == again.seed and torch.equal(first.image, again.image)
    assert first.image.shape == (1, 64, 64, 3) and "a man" in first.prompt
    other_voice = measure_voice_attributes(*speak("Good morning, the weather is lovely today, shall we take a walk?",
                                                  "en+f4", str(tmp_path)), encoder)
    assert imagine_portrait(other_voice, projection).seed != first.seed
    other = imagine_portrait(measured, projection, variation=1)
    assert other.seed != first.seed and not torch.equal(other.image, first.image)
    x, y, w, h = map(float, first.face_box.split(","))
    assert 0 < x < 32 < x + w < 64 and 0 < y < 32 < y + h < 64
