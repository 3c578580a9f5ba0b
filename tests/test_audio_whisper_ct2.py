"""CTranslate2 Whisper -> transformers conversion: exact on a tiny model, and the real tiny.en weights work."""

import json
import struct

import pytest
import torch
import torchaudio.functional as AF
from audio_speech import WHISPER_TINY_EN, needs_espeak, needs_whisper_tiny, speak
from tokenizers import Tokenizer
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from pipelines.audio import load_audio_encoder
from pipelines.audio.whisper_ct2 import convert_ct2_whisper, read_ct2_model
from pipelines.errors import CheckpointError
from scripts.tiny_encoders import WHISPER_TINY

CT2_DTYPE_CODES = {torch.float32: 0, torch.int8: 1, torch.int16: 2, torch.float16: 4}


def ct2_bytes(spec: str, variables: dict, aliases: dict) -> bytes:
    """A model.bin as CTranslate2 writes it (format version 6)."""

    def string(text):
        raw = text.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", 6) + string(spec) + struct.pack("<II", 3, len(variables))
    for name, tensor in variables.items():
        data = tensor.contiguous().numpy().tobytes()
        out += string(name) + struct.pack("<B", tensor.dim()) + b"".join(struct.pack("<I", d) for d in tensor.shape)
        out += struct.pack("<BI", CT2_DTYPE_CODES[tensor.dtype], len(data)) + data
    out += struct.pack("<I", len(aliases))
    for alias, target in aliases.items():
        out += string(alias) + string(target)
    return out


def whisper_as_ct2(model: WhisperModel) -> dict:
    """The CTranslate2 WhisperSpec variables of a transformers WhisperModel, in fp16 like the released file."""
    state = {name: value.half() for name, value in model.state_dict().items()}
    config = model.config
    ct2 = {
        "encoder/num_heads": torch.tensor(config.encoder_attention_heads, dtype=torch.int16),
        "decoder/num_heads": torch.tensor(config.decoder_attention_heads, dtype=torch.int16),
        "decoder/activation": torch.tensor(3, dtype=torch.int8),
        "encoder/position_encodings/encodings": state["encoder.embed_positions.weight"],
        "decoder/position_encodings/encodings": state["decoder.embed_positions.weight"],
        "decoder/embeddings/weight": state["decoder.embed_tokens.weight"],
    }
    for ct2_name, name in (("encoder/conv1", "encoder.conv1"), ("encoder/conv2", "encoder.conv2")):
        ct2[f"{ct2_name}/weight"], ct2[f"{ct2_name}/bias"] = state[f"{name}.weight"], state[f"{name}.bias"]
    for side in ("encoder", "decoder"):
        ct2[f"{side}/layer_norm/gamma"] = state[f"{side}.layer_norm.weight"]
        ct2[f"{side}/layer_norm/beta"] = state[f"{side}.layer_norm.bias"]
        for i in range(getattr(config, f"{side}_layers")):
            src, dst = f"{side}.layers.{i}", f"{side}/layer_{i}"
            attn = f"{src}.self_attn"
            ct2[f"{dst}/self_attention/linear_0/weight"] = torch.cat(
                [state[f"{attn}.{p}_proj.weight"] for p in "qkv"])
            ct2[f"{dst}/self_attention/linear_0/bias"] = torch.cat(
                [state[f"{attn}.q_proj.bias"], torch.zeros_like(state[f"{attn}.q_proj.bias"]),
                 state[f"{attn}.v_proj.bias"]])
            pairs = {"self_attention/linear_1": "self_attn.out_proj",
                     "self_attention/layer_norm": "self_attn_layer_norm",
                     "ffn/layer_norm": "final_layer_norm", "ffn/linear_0": "fc1", "ffn/linear_1": "fc2"}
            if side == "decoder":
                pairs.update({"attention/layer_norm": "encoder_attn_layer_norm",
                              "attention/linear_0": "encoder_attn.q_proj",
                              "attention/linear_2": "encoder_attn.out_proj"})
                ct2[f"{dst}/attention/linear_1/weight"] = torch.cat(
                    [state[f"{src}.encoder_attn.k_proj.weight"], state[f"{src}.encoder_attn.v_proj.weight"]])
                v_bias = state[f"{src}.encoder_attn.v_proj.bias"]
                ct2[f"{dst}/attention/linear_1/bias"] = torch.cat([torch.zeros_like(v_bias), v_bias])
            for ct2_module, module in pairs.items():
                norm = "layer_norm" in ct2_module
                ct2[f"{dst}/{ct2_module}/{'gamma' if norm else 'weight'}"] = state[f"{src}.{module}.weight"]
                ct2[f"{dst}/{ct2_module}/{'beta' if norm else 'bias'}"] = state[f"{src}.{module}.bias"]
    return ct2


@pytest.fixture(scope="module")
def tiny_ct2(tmp_path_factory):
    torch.manual_seed(0)
    model = WhisperModel(WhisperConfig(**WHISPER_TINY)).eval()
    folder = tmp_path_factory.mktemp("ct2")
    (folder / "model.bin").write_bytes(
        ct2_bytes("WhisperSpec", whisper_as_ct2(model), {"decoder/projection/weight": "decoder/embeddings/weight"}))
    (folder / "tokenizer.json").write_text(json.dumps({"added_tokens": [
        {"id": 0, "content": "<|endoftext|>"}, {"id": 1, "content": "<|startoftranscript|>"}]}))
    return model, folder


def test_reader_resolves_aliases_and_dtypes(tiny_ct2):
    _, folder = tiny_ct2
    spec, variables = read_ct2_model(str(folder / "model.bin"))
    assert spec == "WhisperSpec"
    assert variables["decoder/projection/weight"] is variables["decoder/embeddings/weight"]
    assert variables["encoder/num_heads"].dtype == torch.int16 and int(variables["encoder/num_heads"]) == 2
    assert variables["encoder/conv1/weight"].dtype == torch.float16


def test_conversion_is_exact(tiny_ct2, tmp_path):
    model, folder = tiny_ct2
    dest = convert_ct2_whisper(str(folder), str(tmp_path / "whisper"))
    converted = WhisperModel.from_pretrained(dest, local_files_only=True).float()
    config = converted.config
    for key in ("d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads", "encoder_ffn_dim",
                "max_source_positions", "max_target_positions", "num_mel_bins", "vocab_size"):
        assert getattr(config, key) == getattr(model.config, key), key
    assert config.decoder_start_token_id == 1 and config.eos_token_id == 0
    ours, theirs = converted.state_dict(), model.state_dict()
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        assert torch.equal(ours[name], value.half().float()), name  # the released file is fp16
    encoder = load_audio_encoder(dest)
    assert encoder.kind == "whisper_windows"


def test_unknown_specs_and_truncated_files_are_refused(tiny_ct2, tmp_path):
    _, folder = tiny_ct2
    data = (folder / "model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data + b"\0\0")
    with pytest.raises(CheckpointError, match="trailing"):
        read_ct2_model(str(tmp_path / "model.bin"))
    (tmp_path / "model.bin").write_bytes(ct2_bytes("TransformerSpec", {"a": torch.zeros(2)}, {}))
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(CheckpointError, match="not a WhisperSpec"):
        convert_ct2_whisper(str(tmp_path), str(tmp_path / "out"))


@needs_whisper_tiny
@needs_espeak
def test_real_whisper_tiny_en_transcribes_speech(tmp_path):
    """Greedy decoding with the converted weights reads espeak-ng English back: the conversion is right."""
    audio, rate = speak("The quick brown fox jumps over the lazy dog.", "en", str(tmp_path))
    wave = AF.resample(audio[0, 0], rate, 16000).numpy()
    model = WhisperModel.from_pretrained(WHISPER_TINY_EN, local_files_only=True).float().eval()
    mel = WhisperFeatureExtractor.from_pretrained(WHISPER_TINY_EN, local_files_only=True)(wave, sampling_rate=16000,
                                                                   return_tensors="pt").input_features
    tokenizer = Tokenizer.from_file(f"{WHISPER_TINY_EN}/tokenizer.json")
    prompt = [model.config.decoder_start_token_id, tokenizer.token_to_id("<|notimestamps|>")]
    ids = list(prompt)
    with torch.inference_mode():
        encoded = model.encoder(mel).last_hidden_state
        for _ in range(20):
            hidden = model.decoder(input_ids=torch.tensor([ids]), encoder_hidden_states=encoded).last_hidden_state
            token = int((hidden[0, -1] @ model.decoder.embed_tokens.weight.T).argmax())
            if token == model.config.eos_token_id:
                break
            ids.append(token)
    text = tokenizer.decode(ids[len(prompt):]).lower()
    assert "the quick" in text and "over the lazy dog" in text, text  # espeak's "brown fox" is hard to hear
