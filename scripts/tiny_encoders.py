"""Tiny random-init speech encoders of the three real `transformers` classes, saved as Hugging Face folders.

Sizes are small but the layouts are the released ones: wav2vec2 CNNs with 320x down-sampling (50 Hz), group-norm
CNN + post-norm transformer for Hallo's wav2vec2-base, layer-norm CNN + stable layer norm for XLS-R; Whisper with
80 mel bins and a 2 s window (100 positions) instead of 30 s.
"""

from __future__ import annotations

import os

import torch
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC, Wav2Vec2Model, WhisperConfig, WhisperModel

WAV2VEC2_TINY = dict(
    hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
    conv_dim=(16, 16, 16), conv_stride=(5, 8, 8), conv_kernel=(10, 8, 8),
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, vocab_size=12,
)
WHISPER_TINY = dict(
    d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
    encoder_ffn_dim=64, decoder_ffn_dim=64, max_source_positions=100, max_target_positions=16, num_mel_bins=80,
    vocab_size=64, pad_token_id=0, bos_token_id=1, eos_token_id=0, decoder_start_token_id=1,
)


def save_tiny_encoder(folder: str, kind: str, seed: int = 0) -> str:
    """Write a tiny random-init model folder (config.json + model.safetensors) for an encoder kind; returns it."""
    torch.manual_seed(seed)
    os.makedirs(folder, exist_ok=True)
    if kind == "whisper_windows":
        model = WhisperModel(WhisperConfig(**WHISPER_TINY))
    elif kind == "wav2vec2_stacked":
        # saved as a CTC model, like the released wav2vec2-base-960h (keys prefixed `wav2vec2.`, plus lm_head)
        model = Wav2Vec2ForCTC(Wav2Vec2Config(**WAV2VEC2_TINY, feat_extract_norm="group"))
    else:
        model = Wav2Vec2Model(Wav2Vec2Config(**WAV2VEC2_TINY, feat_extract_norm="layer", do_stable_layer_norm=True))
    model.save_pretrained(folder)
    return folder
