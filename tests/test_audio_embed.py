"""embed_audio end to end: vocals input, settings checks, silence, loudness, long-audio progress."""

import pytest
import torch

from pipelines.audio import embed_audio, load_audio_encoder
from pipelines.errors import PortraitInputError
from scripts.tiny_encoders import save_tiny_encoder


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    root = tmp_path_factory.mktemp("embed")
    kinds = ("xlsr_mean", "wav2vec2_stacked", "whisper_windows")
    return {kind: load_audio_encoder(save_tiny_encoder(str(root / kind), kind), kind) for kind in kinds}


def noise(seconds, sample_rate=16000, channels=1, seed=0, level=0.2):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, channels, round(seconds * sample_rate), generator=generator) * level


def test_vocals_are_encoded_instead_of_the_mix(encoders):
    encoder = encoders["xlsr_mean"]
    voice, music = noise(2.0, seed=1), noise(2.0, seed=2)
    mix = voice + music
    with_vocals = embed_audio(encoder, mix, 16000, vocals=(voice, 16000))
    voice_only = embed_audio(encoder, voice, 16000)
    mix_only = embed_audio(encoder, mix, 16000)
    torch.testing.assert_close(with_vocals.blocks, voice_only.blocks)
    assert not torch.allclose(with_vocals.blocks, mix_only.blocks, atol=1e-3)


def test_vocals_at_another_rate_and_layout_are_fine(encoders):
    mix = noise(2.0, sample_rate=44100, channels=2)
    vocals = noise(2.0, sample_rate=48000, channels=1, seed=3)
    embeddings = embed_audio(encoders["wav2vec2_stacked"], mix, 44100, vocals=(vocals, 48000))
    assert embeddings.frames == 50  # the frame count follows the mix


def test_vocals_of_another_clip_are_refused(encoders):
    with pytest.raises(PortraitInputError, match="^vocals: .*longer or shorter"):
        embed_audio(encoders["xlsr_mean"], noise(2.0), 16000, vocals=(noise(3.0), 16000))
    with pytest.raises(PortraitInputError, match="^vocals: .*empty"):
        embed_audio(encoders["xlsr_mean"], noise(2.0), 16000, vocals=(torch.zeros(1, 1, 0), 16000))
    with pytest.raises(PortraitInputError, match="^vocals: .*batch"):
        embed_audio(encoders["xlsr_mean"], noise(2.0), 16000, vocals=(noise(2.0).repeat(2, 1, 1), 16000))


@pytest.mark.parametrize("context_frames", [0, 2, 4, -1])
def test_context_frames_must_be_odd(encoders, context_frames):
    with pytest.raises(PortraitInputError, match="^context_frames: "):
        embed_audio(encoders["xlsr_mean"], noise(0.5), 16000, context_frames=context_frames)


def test_fps_must_be_positive(encoders):
    with pytest.raises(PortraitInputError, match="^fps: "):
        embed_audio(encoders["xlsr_mean"], noise(0.5), 16000, fps=0)


@pytest.mark.parametrize("waveform", [torch.zeros(1, 1, 0), torch.full((1, 1, 100), float("nan"))])
def test_empty_or_broken_audio_is_refused_before_encoding(encoders, waveform):
    with pytest.raises(PortraitInputError, match="^audio: "):
        embed_audio(encoders["whisper_windows"], waveform, 16000)


@pytest.mark.parametrize("kind", ["xlsr_mean", "wav2vec2_stacked", "whisper_windows"])
def test_silence_encodes_and_matches_the_silence_block(encoders, kind):
    silent = embed_audio(encoders[kind], torch.zeros(1, 2, 48000), 48000)
    assert silent.frames == 25
    assert torch.isfinite(silent.blocks).all()
    torch.testing.assert_close(silent.silence, silent.blocks[0, 12], atol=1e-4, rtol=1e-4)
    speech = embed_audio(encoders[kind], noise(1.0), 16000)
    torch.testing.assert_close(speech.silence, silent.silence)
    assert not torch.allclose(speech.blocks[0, 12], speech.silence, atol=1e-3)


@pytest.mark.parametrize("kind", ["xlsr_mean", "wav2vec2_stacked"])
def test_wav2vec2_features_ignore_level_so_loudness_normalisation_is_a_no_op(encoders, kind):
    quiet = noise(1.5, level=0.01)
    plain = embed_audio(encoders[kind], quiet, 16000).blocks
    normalised = embed_audio(encoders[kind], quiet, 16000, loudness=True).blocks
    torch.testing.assert_close(normalised, plain, atol=1e-4, rtol=1e-3)
    torch.testing.assert_close(embed_audio(encoders[kind], quiet * 50, 16000).blocks, plain, atol=1e-4, rtol=1e-3)


def test_whisper_features_depend_on_level_so_normalisation_matters(encoders):
    quiet = noise(1.5, level=0.001)
    plain = embed_audio(encoders["whisper_windows"], quiet, 16000).blocks
    normalised = embed_audio(encoders["whisper_windows"], quiet, 16000, loudness=True).blocks
    louder = embed_audio(encoders["whisper_windows"], quiet * 100, 16000).blocks
    assert not torch.allclose(plain, normalised, atol=1e-3)
    assert (normalised - louder).norm() < (plain - louder).norm()


def test_long_audio_reports_progress_per_window(encoders):
    calls = []
    embeddings = embed_audio(encoders["xlsr_mean"], noise(70.0, sample_rate=8000, level=0.1), 8000,
                             callback=lambda done, total: calls.append((done, total)))
    assert embeddings.frames == 1750
    assert calls == [(1, 3), (2, 3), (3, 3)]  # 70 s in 30 s windows with 4 s overlap
