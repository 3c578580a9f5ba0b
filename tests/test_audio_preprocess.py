"""Audio input checks, downmix, resampling to 16 kHz and loudness normalisation."""

import math

import pytest
import torch
import torchaudio.functional as AF

from pipelines.audio.preprocess import (
    ENCODER_SAMPLE_RATE,
    TARGET_LUFS,
    normalize_loudness,
    to_mono_16k,
    validate_audio,
)
from pipelines.errors import PortraitInputError


def sine(frequency: float, sample_rate: int, seconds: float, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(round(sample_rate * seconds)) / sample_rate
    return amplitude * torch.sin(2 * math.pi * frequency * t)


def peak_frequency(wave: torch.Tensor, sample_rate: int) -> float:
    spectrum = torch.fft.rfft(wave * torch.hann_window(wave.shape[-1]))
    return float(spectrum.abs().argmax()) * sample_rate / wave.shape[-1]


@pytest.mark.parametrize("sample_rate", [44100, 48000, 8000, 16000])
def test_resampling_keeps_pitch_and_duration(sample_rate):
    waveform = sine(440.0, sample_rate, 2.0)[None, None]
    wave = to_mono_16k(waveform, sample_rate)
    assert wave.shape == (1, math.ceil(2.0 * ENCODER_SAMPLE_RATE))
    assert peak_frequency(wave[0], ENCODER_SAMPLE_RATE) == pytest.approx(440.0, abs=1.0)
    # amplitude survives (away from the filter's edge effects)
    assert wave[0, 4000:-4000].abs().max() == pytest.approx(0.5, rel=0.02)


def test_high_frequencies_are_removed_not_aliased():
    waveform = sine(12000.0, 48000, 1.0)[None, None]  # above the 8 kHz Nyquist limit of 16 kHz audio
    wave = to_mono_16k(waveform, 48000)
    assert wave[0, 2000:-2000].abs().max() < 0.01


def test_stereo_and_surround_are_downmixed_by_channel_mean():
    left, right = sine(300.0, 16000, 0.5), sine(500.0, 16000, 0.5)
    stereo = torch.stack([left, right])[None]
    torch.testing.assert_close(to_mono_16k(stereo, 16000), ((left + right) / 2)[None])
    surround = torch.stack([left, right, left, torch.zeros_like(left), right, left])[None]  # 5.1
    torch.testing.assert_close(to_mono_16k(surround, 16000), ((3 * left + 2 * right) / 6)[None])


def test_batch_items_stay_separate():
    a, b = sine(200.0, 44100, 0.5), sine(700.0, 44100, 0.5)
    wave = to_mono_16k(torch.stack([a, b])[:, None], 44100)
    assert wave.shape[0] == 2
    assert peak_frequency(wave[0], 16000) == pytest.approx(200.0, abs=4)
    assert peak_frequency(wave[1], 16000) == pytest.approx(700.0, abs=4)


@pytest.mark.parametrize(
    "waveform, sample_rate, says",
    [
        (torch.zeros(1, 1, 0), 44100, "empty"),
        (torch.zeros(1, 0, 100), 44100, "empty"),
        (torch.zeros(0, 1, 100), 44100, "empty"),
        (torch.tensor([[[0.0, float("nan"), 0.1]]]), 16000, "NaN"),
        (torch.tensor([[[0.0, float("inf"), 0.1]]]), 16000, "NaN or infinite"),
        (torch.zeros(1, 1, 100), 0, "sample rate"),
        (torch.zeros(1, 1, 100), 10, "sample rate"),
        (torch.zeros(1, 1, 100), 10_000_000, "sample rate"),
        (torch.zeros(1, 1, 100), 44100.5, "whole number"),
        (torch.zeros(100), 16000, "shape"),
        ([0.0, 0.1], 16000, "shape"),
        (torch.zeros(1, 1, 100, dtype=torch.int16), 16000, "floating point"),
    ],
)
def test_unusable_audio_is_a_clear_error_naming_the_input(waveform, sample_rate, says):
    with pytest.raises(PortraitInputError) as error:
        validate_audio(waveform, sample_rate)
    assert error.value.input_name == "audio"
    assert says in error.value.problem
    assert error.value.fix
    assert str(error.value).startswith("audio: ")


def test_silence_and_other_input_names_are_accepted():
    validate_audio(torch.zeros(1, 2, 16000), 16000)
    with pytest.raises(PortraitInputError, match="^vocals: "):
        validate_audio(torch.zeros(1, 1, 0), 16000, "vocals")


def test_loudness_normalisation_reaches_the_target():
    quiet = sine(1000.0, 16000, 3.0, amplitude=0.01)[None]
    loud = sine(1000.0, 16000, 3.0, amplitude=0.9)[None]
    both = normalize_loudness(torch.cat([quiet, loud]))
    measured = AF.loudness(both[:, None], 16000)
    assert measured.tolist() == pytest.approx([TARGET_LUFS, TARGET_LUFS], abs=0.1)
    torch.testing.assert_close(both[0] / both[0].abs().max(), both[1] / both[1].abs().max())


def test_loudness_normalisation_leaves_silence_and_tiny_clips_alone():
    silence = torch.zeros(1, 16000)
    assert torch.equal(normalize_loudness(silence), silence)
    tiny = sine(1000.0, 16000, 0.1)[None]
    assert torch.equal(normalize_loudness(tiny), tiny)
