"""Core ComfyUI audio encoders (AUDIO_ENCODER modules, AUDIO_ENCODER_OUTPUT dicts) through the pack's audio path.

Core's own classes (comfy.audio_encoders) are built from tiny settings with random weights.
"""

from __future__ import annotations

import json
import sys

import pytest
import torch
from safetensors.torch import save_file

from pipelines.audio import embed_audio, load_audio_encoder
from pipelines.audio.core_encoders import blocks_from_core_output, embed_core_output, encoder_from_core
from pipelines.errors import PortraitInputError
from scripts.make_demo_models import COMFY_DIR

SECONDS, FPS = 1.3, 25.0


@pytest.fixture(scope="module")
def core():
    """comfy.ops and core's encoder modules, imported on the CPU."""
    if str(COMFY_DIR) not in sys.path:
        sys.path.append(str(COMFY_DIR))
    from comfy.cli_args import args

    args.cpu = True
    import comfy.ops
    from comfy.audio_encoders import wav2vec2, whisper

    return comfy.ops.manual_cast, wav2vec2.Wav2Vec2Model, whisper.WhisperLargeV3


def _randomise(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            scale = 0.05 if param.ndim > 1 else 0.1
            param.copy_(torch.randn(param.shape, generator=generator) * scale + (1.0 if "norm.weight" in name else 0.0))
    return module.eval()


def _core_wav2vec2(core, embed_dim=32, layers=2, stable=False, seed=0):
    ops, wav2vec2, _ = core
    model = wav2vec2(embed_dim=embed_dim, num_heads=2, num_layers=layers, conv_norm=stable, conv_bias=stable,
                     do_normalize=False, do_stable_layer_norm=stable, operations=ops)
    return _randomise(model, seed)


def _speech(seconds=SECONDS, rate=16000):
    t = torch.arange(round(seconds * rate)) / rate
    return (0.3 * torch.sin(2 * torch.pi * 180 * t) * (1 + torch.sin(2 * torch.pi * 3 * t)))[None, None]


@pytest.mark.parametrize("stable", [False, True], ids=["base_group_norm", "large_layer_norm"])
def test_converted_wav2vec2_gives_core_hidden_states(core, stable):
    module = _core_wav2vec2(core, stable=stable)
    wave = _speech()
    with torch.no_grad():
        core_out, core_states = module(wave)
        ours = encoder_from_core(module).model(wave[:, 0], output_hidden_states=True)
    assert len(ours.hidden_states) == len(core_states) == 3
    for theirs, mine in zip(core_states[:-1], ours.hidden_states[:-1]):  # embedding output, layer 1
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.last_hidden_state, core_out, atol=1e-5, rtol=1e-4)


def test_core_encoder_embeds_exactly_as_the_same_weights_from_a_folder(core, tmp_path):
    module = _core_wav2vec2(core)
    config = {"model_type": "wav2vec2", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
              "intermediate_size": 128, "feat_extract_norm": "group", "conv_bias": False,
              "do_stable_layer_norm": False, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(
        {"feature_extractor_type": "Wav2Vec2FeatureExtractor", "do_normalize": False, "feature_size": 1,
         "padding_value": 0.0, "sampling_rate": 16000, "return_attention_mask": False}))
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp_path / "model.safetensors"))
    wave = _speech()
    from_folder = embed_audio(load_audio_encoder(str(tmp_path)), wave, 16000, FPS)
    from_core = embed_audio(encoder_from_core(module), wave, 16000, FPS)
    assert from_core.encoder == from_folder.encoder == "xlsr_mean"
    assert from_core.blocks.shape == (1, 33, 5, 32)
    torch.testing.assert_close(from_core.blocks, from_folder.blocks, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(from_core.silence, from_folder.silence, atol=1e-6, rtol=1e-5)


def test_core_encoder_output_of_a_base_wav2vec2_gives_our_xlsr_mean_blocks(core):
    module = _core_wav2vec2(core, embed_dim=768, layers=1)
    wave = _speech()
    with torch.no_grad():
        out, states = module(wave)
    output = {"encoded_audio": out, "encoded_audio_all_layers": states, "audio_samples": wave.shape[-1]}
    ours = embed_audio(encoder_from_core(module), wave, 16000, FPS)
    from_dict = embed_core_output(output, wave, 16000, FPS, 5)
    assert (from_dict.encoder, from_dict.blocks.shape) == ("xlsr_mean", ours.blocks.shape)
    torch.testing.assert_close(from_dict.blocks, ours.blocks, atol=1e-5, rtol=1e-4)


def test_core_encoder_output_that_does_not_fit_names_the_input_and_the_fix():
    samples = 16000
    positions = (samples - 400) // 320 + 1
    large = {"encoded_audio_all_layers": tuple(torch.zeros(1, positions, 1024) for _ in range(25)),
             "audio_samples": samples}
    with pytest.raises(PortraitInputError) as error:
        blocks_from_core_output(large, 25, 5)
    assert error.value.input_name == "core_encoded_audio" and "core_audio_encoder" in str(error.value)
    whisper_40s = {"encoded_audio_all_layers": (torch.zeros(1, 1500, 16),) * 3, "audio_samples": 40 * 16000}
    with pytest.raises(PortraitInputError, match="30 s"):
        blocks_from_core_output(whisper_40s, 1000, 5)
    base = {"encoded_audio_all_layers": (torch.zeros(1, positions, 768),) * 2, "audio_samples": samples}
    with pytest.raises(PortraitInputError, match="lasts 2.00 s"):
        embed_core_output(base, torch.zeros(1, 1, 32000), 16000, FPS, 5)


def test_converted_whisper_gives_core_hidden_states_and_stacked_blocks(core):
    ops, _, whisper = core
    module = _randomise(whisper(n_mels=80, n_audio_state=16, n_audio_head=2, n_audio_layer=2, operations=ops), 1)
    mel = torch.randn(1, 80, 3000, generator=torch.Generator().manual_seed(2))
    encoder = encoder_from_core(module)
    with torch.no_grad():
        _, core_states = module.encoder(mel)
        ours = encoder.model(mel, output_hidden_states=True).hidden_states
    assert encoder.kind == "whisper_windows" and encoder.feature_shape() == (10, 3 * 16)
    for theirs, mine in zip(core_states, ours, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
    output = {"encoded_audio_all_layers": core_states, "audio_samples": 16000}
    blocks, kind = blocks_from_core_output(output, 25, 5)
    assert kind == "whisper_windows" and blocks.shape == (1, 25, 10, 48)
    torch.testing.assert_close(blocks[0, 0, 4], torch.cat([s[0, 0] for s in core_states]))  # frame 0 reads position 0
