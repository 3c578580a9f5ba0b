"""ComfyUI core's audio encoders as the pack's speech encoders (imports no ComfyUI: it reads core's modules and dicts).

- `encoder_from_core(module)`: the torch module of core's AUDIO_ENCODER (AudioEncoderLoader: wav2vec2 base / large
  with Hugging Face key names, or Whisper large-v3). Its weights are loaded strictly into transformers'
  Wav2Vec2Model / WhisperEncoder and wrapped in the pack's encoder of the detected layout (`detect_layout`), so the
  features are exactly the pack's own for those weights: every layout, audio of any length. The input
  normalisation follows core's model (`do_normalize`: on for wav2vec2 large, off for base).
- `blocks_from_core_output(output, frames, context_frames)`: core's AUDIO_ENCODER_OUTPUT (AudioEncoderEncode), a
  dict with `encoded_audio_all_layers` (the hidden states of one pass: embedding output, then every layer; b n c
  each) and `audio_samples` (16 kHz samples encoded). Only layouts that are a function of those hidden states fit:
  xlsr_mean from a 12-layer wav2vec2 (core's base: no final layer norm, so the states are the raw layer outputs)
  and whisper_windows from Whisper clips up to 30 s. Blocks of silence are not in the dict, so frames padded past
  the audio read zeros.
Letters: b batch, n positions, f video frames, l context window, c channels.
"""

from __future__ import annotations

import math

import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model, WhisperConfig, WhisperFeatureExtractor
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from ..conditions import AudioEmbeddings
from ..errors import CheckpointError, PortraitInputError
from .encoders import (
    AudioEncoder,
    HalloStackedEncoder,
    WhisperWindowEncoder,
    XlsrMeanEncoder,
    cnn_geometry,
    detect_layout,
    whisper_blocks,
    xlsr_blocks,
)
from .frame_alignment import frame_count
from .preprocess import ENCODER_SAMPLE_RATE, validate_audio

CORE_ENCODER_INPUT = "core_audio_encoder"
CORE_OUTPUT_INPUT = "core_encoded_audio"
#: Positions of core's Whisper pass: it pads or cuts every clip to 30 s.
WHISPER_POSITIONS = 1500
WHISPER_HOP = 320


def _wav2vec2_config(module: torch.nn.Module) -> Wav2Vec2Config:
    """transformers config of core's comfy.audio_encoders.wav2vec2.Wav2Vec2Model, read from its modules."""
    layers = module.encoder.layers
    first_norm = module.feature_extractor.conv_layers[0].layer_norm
    pos_conv = module.encoder.pos_conv_embed.conv
    return Wav2Vec2Config(
        hidden_size=module.feature_projection.projection.out_features,
        num_hidden_layers=len(layers),
        num_attention_heads=layers[0].attention.num_heads,
        intermediate_size=layers[0].feed_forward.intermediate_dense.out_features,
        feat_extract_norm="group" if isinstance(first_norm, torch.nn.GroupNorm) else "layer",
        conv_bias=module.feature_extractor.conv_layers[1].conv.bias is not None,
        do_stable_layer_norm=module.encoder.do_stable_layer_norm,
        num_conv_pos_embeddings=pos_conv.kernel_size[0],
        num_conv_pos_embedding_groups=pos_conv.groups,
        layer_norm_eps=layers[0].layer_norm.eps,
    )


def _whisper_config(module: torch.nn.Module) -> WhisperConfig:
    """transformers config of core's WhisperLargeV3 encoder (comfy.audio_encoders.whisper), read from its modules."""
    encoder = module.encoder
    return WhisperConfig(
        d_model=encoder.conv1.out_channels,
        num_mel_bins=encoder.conv1.in_channels,
        encoder_layers=len(encoder.layers),
        encoder_attention_heads=encoder.layers[0].self_attn.n_heads,
        encoder_ffn_dim=encoder.layers[0].fc1.out_features,
        max_source_positions=encoder.embed_positions.num_embeddings,
    )


def _strict_copy(target_class, config, state_dict: dict, label: str) -> torch.nn.Module:
    """A transformers model built without initialisation and given exactly `state_dict` (fp32, CPU)."""
    with torch.device("meta"):
        model = target_class(config)
    state = {key: value.detach().to("cpu", torch.float32) for key, value in state_dict.items()}
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(f"{label}: core's encoder does not fit {target_class.__name__}: "
                              f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def encoder_from_core(module: torch.nn.Module) -> AudioEncoder:
    """The pack's encoder for the torch module of core's AUDIO_ENCODER (`AudioEncoderModel.model`)."""
    label = f"core:{type(module).__name__}"
    if hasattr(module, "feature_projection"):
        config = _wav2vec2_config(module)
        model = _strict_copy(Wav2Vec2Model, config, module.state_dict(), label)
        extractor = Wav2Vec2FeatureExtractor(do_normalize=bool(module.do_normalize), return_attention_mask=False)
        kind = detect_layout(config.to_dict())
        encoder_class = HalloStackedEncoder if kind == "wav2vec2_stacked" else XlsrMeanEncoder
        return encoder_class(model, label, extractor)
    if hasattr(module, "encoder") and hasattr(module.encoder, "embed_positions"):
        config = _whisper_config(module)
        state = {key.removeprefix("encoder."): value for key, value in module.state_dict().items()
                 if key.startswith("encoder.")}
        model = _strict_copy(WhisperEncoder, config, state, label)
        return WhisperWindowEncoder(model, label, WhisperFeatureExtractor(feature_size=config.num_mel_bins))
    raise PortraitInputError(
        CORE_ENCODER_INPUT, f"{type(module).__name__} is not one of core's wav2vec2 or Whisper encoders",
        "load a wav2vec2 or whisper file with core's AudioEncoderLoader, or use Load Audio Encoder (GatedPortrait)",
    )


def _core_states(output: dict) -> tuple[list[torch.Tensor], int]:
    """The hidden states (float, CPU) and encoded sample count of an AUDIO_ENCODER_OUTPUT, checked."""
    states = output.get("encoded_audio_all_layers") if isinstance(output, dict) else None
    if not states or not all(isinstance(s, torch.Tensor) and s.dim() == 3 for s in states):
        raise PortraitInputError(
            CORE_OUTPUT_INPUT, "expected core's AUDIO_ENCODER_OUTPUT with encoded_audio_all_layers (b n c tensors)",
            "connect the output of core's AudioEncoderEncode",
        )
    return [s.detach().float().cpu() for s in states], int(output["audio_samples"])


def blocks_from_core_output(output: dict, frames: int, context_frames: int) -> tuple[torch.Tensor, str]:
    """Per-video-frame blocks b f l c and the layout they have, from core's AudioEncoderEncode output."""
    states, samples = _core_states(output)
    positions, width = states[0].shape[1:]
    receptive, hop = cnn_geometry(Wav2Vec2Config())
    if positions == max(1, (samples - receptive) // hop + 1):  # wav2vec2 at 50 Hz
        if width != 768:
            raise PortraitInputError(
                CORE_OUTPUT_INPUT,
                f"core's output of a {len(states) - 1}-layer x {width} wav2vec2 ends with the final layer norm, "
                "not the raw block output the xlsr_mean layout averages",
                f"connect core's AudioEncoderLoader to {CORE_ENCODER_INPUT} instead of encoding with AudioEncoderEncode",
            )
        return xlsr_blocks(torch.stack(states[1:]).mean(dim=0), frames, context_frames), "xlsr_mean"
    if positions == WHISPER_POSITIONS:
        if samples > WHISPER_POSITIONS * WHISPER_HOP:
            raise PortraitInputError(
                CORE_OUTPUT_INPUT, f"core's Whisper pass keeps only the first 30 s of this {samples / ENCODER_SAMPLE_RATE:.1f} s clip",
                f"connect core's AudioEncoderLoader to {CORE_ENCODER_INPUT}: the pack encodes any length in windows",
            )
        sequence = torch.cat(states, dim=-1)[:, : max(1, math.ceil(samples / WHISPER_HOP))]
        return whisper_blocks(sequence, frames), "whisper_windows"
    raise PortraitInputError(
        CORE_OUTPUT_INPUT, f"{positions} positions for {samples} samples fit neither wav2vec2 nor Whisper",
        "connect the output of core's AudioEncoderEncode for this same audio",
    )


def embed_core_output(
    output: dict, waveform: torch.Tensor, sample_rate: int, fps: float, context_frames: int
) -> AudioEmbeddings:
    """AudioEmbeddings (b f l c, f = ceil(duration * fps) of `waveform`) from core's encoding of that same audio."""
    validate_audio(waveform, sample_rate, "audio")
    _, samples = _core_states(output)
    duration_s = waveform.shape[-1] / sample_rate
    if abs(samples / ENCODER_SAMPLE_RATE - duration_s) > 1.0 / fps:
        raise PortraitInputError(
            CORE_OUTPUT_INPUT, f"encodes {samples / ENCODER_SAMPLE_RATE:.2f} s of audio but `audio` lasts {duration_s:.2f} s",
            "encode the same clip that goes into `audio` with AudioEncoderEncode",
        )
    frames = frame_count(waveform.shape[-1], sample_rate, fps)
    blocks, kind = blocks_from_core_output(output, frames, context_frames)
    return AudioEmbeddings(blocks=blocks, fps=float(fps), encoder=kind, duration_s=duration_s)
