"""The shared voice analysis: the GE2E speaker encoder (release weights) and pitch / rate measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from pipelines.audio.preprocess import to_mono_16k
from pipelines.errors import CheckpointError, PortraitInputError
from pipelines.voice.prosody import measure_prosody
from pipelines.voice.speaker_encoder import (DEFAULT_PATH, SpeakerEncoder, cosine, load_speaker_encoder,
                                             partial_starts)
from tests.audio_speech import needs_espeak, speak

needs_encoder = pytest.mark.skipif(not __import__("os").path.isfile(DEFAULT_PATH),
                                   reason="speaker encoder not installed: python -m scripts.fetch_voice_models")


def test_partials_cover_the_utterance_as_the_release_cuts_it():
    assert partial_starts(16000) == [0]  # shorter than one partial: one, zero-padded
    assert partial_starts(48000) == [0, 77, 154]  # the last partial holds 91 % real audio: kept
    assert partial_starts(16000 * 2) == [0, 77]  # 2 s: a third partial would hold 35 % real audio: dropped


def test_loader_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(CheckpointError, match="missing.*install.py"):
        load_speaker_encoder(str(tmp_path / "none.safetensors"))
    state = SpeakerEncoder().state_dict()
    state.pop("linear.bias")
    save_file(state, tmp_path / "cut.safetensors")
    with pytest.raises(CheckpointError, match="linear.bias"):
        load_speaker_encoder(str(tmp_path / "cut.safetensors"))


@needs_encoder
@needs_espeak
def test_same_voice_embeds_closer_than_another_voice(tmp_path):
    encoder = load_speaker_encoder()
    sentences = ["The quick brown fox jumps over the lazy dog near the river bank.",
                 "She sells sea shells by the sea shore every single summer morning."]
    embeddings = {}
    for voice in ("en+m3", "en+f2"):
        for index, sentence in enumerate(sentences):
            waveform, rate = speak(sentence, voice, str(tmp_path))
            embeddings[voice, index] = encoder.embed(to_mono_16k(waveform, rate)[0])
    assert all(abs(float(e.norm()) - 1) < 1e-5 for e in embeddings.values())
    same = [cosine(embeddings[v, 0], embeddings[v, 1]) for v in ("en+m3", "en+f2")]
    other = [cosine(embeddings["en+m3", i], embeddings["en+f2", j]) for i in (0, 1) for j in (0, 1)]
    assert min(same) > max(other) + 0.1, (same, other)


def syllable_train(f0_hz: float, syllables_per_second: float, seconds: float, rate: int = 16000) -> np.ndarray:
    """A voiced tone with harmonics, loudness pulsing once per syllable, t."""
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * f0_hz * k * t) / k for k in range(1, 6))
    envelope = np.sin(np.pi * syllables_per_second * t) ** 2
    return (0.3 * tone * envelope).astype(np.float32)


@pytest.mark.parametrize("f0_hz", [110.0, 220.0])
def test_pitch_and_rate_of_a_known_signal(f0_hz):
    prosody = measure_prosody(syllable_train(f0_hz, 2.0, 4.0), 16000)
    assert abs(prosody.f0_median_hz / f0_hz - 1) < 0.02
    assert prosody.f0_low_hz <= prosody.f0_median_hz <= prosody.f0_high_hz
    assert abs(prosody.syllables_per_second - 2.0 * 4.0 / prosody.speech_seconds) < 0.5
    assert 1.0 < prosody.voiced_seconds < 4.0


def test_silence_and_noise_name_the_input():
    rng = np.random.default_rng(0)
    for wave in (np.zeros(32000, np.float32), (0.1 * rng.standard_normal(32000)).astype(np.float32)):
        with pytest.raises(PortraitInputError, match="voice_sample: no voiced speech"):
            measure_prosody(wave, 16000, "voice_sample")


PARITY = Path(__file__).parent / "fixtures" / "speaker_encoder_parity.safetensors"


@needs_encoder
def test_mels_and_embeddings_match_the_release():
    """scripts/make_speaker_encoder_fixture.py ran Resemblyzer 0.1.4 itself on espeak-ng speech (one utterance at
    5 % level, one with a 1 s pause)."""
    encoder = load_speaker_encoder()
    release = load_file(PARITY)
    for index in range(3):
        wave = release[f"{index}.wave"]
        mels = encoder.mel_frames(wave)
        assert mels.shape == release[f"{index}.mels"].shape
        assert float((mels - release[f"{index}.mels"]).abs().max() / release[f"{index}.mels"].abs().max()) < 1e-5
        assert cosine(encoder.embed_prepared(wave), release[f"{index}.embedding_raw"]) > 0.99999
        assert cosine(encoder.embed(wave), release[f"{index}.embedding_prepared"]) > 0.99
    quiet = release["2.wave"]
    assert cosine(encoder.embed_prepared(quiet), release["2.embedding_prepared"]) < 0.8, "level matters"
