"""Model files that cannot load fail in the pack's words, naming the file and the fix: a pickle given to a
safetensors-only loader (whatever its name), a pickled pytorch_model.bin (refused, never unpickled), a broken
config.json (with its line), a truncated weight file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from pipelines.audio import load_audio_encoder
from pipelines.errors import CheckpointError
from pipelines.model_files import load_portrait_model
from scripts.tiny_encoders import save_tiny_encoder

RAN = Path("/tmp/gated_portrait_payload_ran")


class Payload:
    """Pickles into a call that would leave a file behind if anything ever unpickled it."""

    def __reduce__(self):
        return (os.system, (f"touch {RAN}",))


@pytest.mark.parametrize("name", ["model.pth", "renamed_pickle.safetensors"])
def test_a_pickle_given_to_the_portrait_model_loader_says_so(tmp_path, name):
    path = tmp_path / name
    torch.save({"w": torch.zeros(2), "x": Payload()}, path)
    with pytest.raises(CheckpointError) as error:
        load_portrait_model(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "is a PyTorch pickle" in message and "safetensors only" in message
    assert "Fix:" in message and "header too large" not in message and not RAN.exists()


@pytest.fixture
def encoder_folder(tmp_path) -> Path:
    return Path(save_tiny_encoder(str(tmp_path / "enc"), "xlsr_mean"))


def test_a_pickled_bin_encoder_is_refused_in_the_pack_words(encoder_folder):
    (encoder_folder / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(2), "x": Payload()}, encoder_folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError) as error:
        load_audio_encoder(str(encoder_folder))
    message = str(error.value)
    assert message.startswith(str(encoder_folder / "pytorch_model.bin")) and "never unpickled" in message and "Fix:" in message
    assert "weights_only" not in message and not RAN.exists()


@pytest.mark.parametrize("broken", ["config.json", "preprocessor_config.json"])
def test_broken_json_names_the_file_and_the_line(encoder_folder, broken):
    path = encoder_folder / broken
    path.write_text('{\n  "model_type": "wav2vec2",\n  "hidden_size": 32,,\n}\n')
    with pytest.raises(CheckpointError) as error:
        load_audio_encoder(str(encoder_folder))
    message = str(error.value)
    assert message.startswith(str(path)) and "broken JSON at line 3" in message and "Fix:" in message


def test_truncated_encoder_weights_name_the_file(encoder_folder):
    weights = encoder_folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CheckpointError) as error:
        load_audio_encoder(str(encoder_folder))
    assert str(error.value).startswith(str(weights)) and "download it again" in str(error.value)
