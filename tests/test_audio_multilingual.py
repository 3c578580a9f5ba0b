"""Multilingual speech (espeak-ng: English, Mandarin, Japanese, French, Thai) through the audio pipeline.

With the tiny random-init encoders this is a smoke test of every layout (rates, lengths, scripts). With the real
Whisper tiny.en weights it is a behaviour test: speech in every language lies closer to other speech than to
silence or to noise (cosine distance between time-pooled features of a middle stage: in the real model, speech in
five languages spreads about 0.02, silence and noise sit 0.15 and 0.09 away).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from audio_speech import SENTENCES, WHISPER_TINY_EN, needs_espeak, needs_whisper_tiny, speak

from pipelines.audio import LAYOUTS, embed_audio, load_audio_encoder
from scripts.tiny_encoders import save_tiny_encoder

pytestmark = needs_espeak


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("speech"))
    return {voice: speak(text, voice, folder) for voice, text in SENTENCES.items()}


@pytest.mark.parametrize("kind", LAYOUTS)
def test_every_language_encodes_frame_aligned_with_tiny_encoders(speech, tmp_path, kind):
    encoder = load_audio_encoder(save_tiny_encoder(str(tmp_path / kind), kind), kind)
    for voice, (audio, rate) in speech.items():
        embeddings = embed_audio(encoder, audio, rate, fps=25)
        assert embeddings.frames == math.ceil(audio.shape[-1] / rate * 25), voice
        assert embeddings.feature_shape == encoder.feature_shape(5)
        assert torch.isfinite(embeddings.blocks).all(), voice


def pooled_third_layer(embeddings) -> torch.Tensor:
    """Mean over frames and context of stage 3 (the third of tiny's four encoder layers): c."""
    stages = embeddings.blocks[0].unflatten(-1, (5, -1))  # f l stages c
    return stages[:, :, 3].mean(dim=(0, 1))


@needs_whisper_tiny
def test_real_whisper_separates_speech_from_silence_and_noise_in_every_language(speech):
    encoder = load_audio_encoder(WHISPER_TINY_EN)
    assert encoder.kind == "whisper_windows" and encoder.feature_shape() == (10, 5 * 384)
    features = {voice: pooled_third_layer(embed_audio(encoder, audio, rate)) for voice, (audio, rate) in speech.items()}
    silence = pooled_third_layer(embed_audio(encoder, torch.zeros(1, 1, 3 * 22050), 22050))
    hiss = torch.randn(1, 1, 3 * 22050, generator=torch.Generator().manual_seed(0)) * 0.1
    noise = pooled_third_layer(embed_audio(encoder, hiss, 22050))

    def distance(a, b):
        return 1 - F.cosine_similarity(a, b, dim=0).item()

    voices = list(features)
    widest_speech_gap = max(distance(features[a], features[b]) for a in voices for b in voices)
    for voice in voices:
        assert distance(features[voice], silence) > 2 * widest_speech_gap, voice
        assert distance(features[voice], noise) > 2 * widest_speech_gap, voice
