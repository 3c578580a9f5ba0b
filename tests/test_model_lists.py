"""Model lists name each model once: a pack folder that ComfyUI's models/ already reaches through a link is not
registered twice, and an encoder folder found under two roots is offered once (the first root's, the one used)."""

from __future__ import annotations

import pytest

from test_reliability import _host_modules


@pytest.fixture
def linked_models(tmp_path, monkeypatch):
    """ComfyUI's models/ is a link to the pack's models/ (what `make` and the host tests set up)."""
    folder_paths, host = _host_modules()
    pack_models = tmp_path / "pack" / "models"
    (pack_models / "audio_encoders" / "enc").mkdir(parents=True)
    (pack_models / "audio_encoders" / "enc" / "config.json").write_text("{}")
    comfy_models = tmp_path / "comfy" / "models"
    comfy_models.parent.mkdir()
    comfy_models.symlink_to(pack_models, target_is_directory=True)
    monkeypatch.setattr(host, "PACK_MODELS_DIR", str(pack_models))
    monkeypatch.setattr(folder_paths, "models_dir", str(comfy_models))
    monkeypatch.setattr(folder_paths, "folder_names_and_paths", {
        "audio_encoders": ([str(comfy_models / "audio_encoders")], {".safetensors"}),
    })
    monkeypatch.setattr(folder_paths, "filename_list_cache", {})
    return folder_paths, host, pack_models


def test_a_linked_pack_folder_is_registered_once_and_its_encoders_listed_once(linked_models):
    folder_paths, host, _ = linked_models
    host.register_model_folders()
    host.register_model_folders()
    assert len(folder_paths.get_folder_paths("audio_encoders")) == 1
    assert host.list_model_dirs("audio_encoders") == ["enc"]
    for name in host.PACK_FOLDERS:
        assert len(folder_paths.get_folder_paths(name)) == 1, name


def test_an_encoder_folder_under_two_roots_is_listed_once_and_resolves_to_the_first(linked_models, tmp_path):
    folder_paths, host, pack_models = linked_models
    other = tmp_path / "other" / "enc"
    other.mkdir(parents=True)
    (other / "config.json").write_text("{}")
    folder_paths.add_model_folder_path("audio_encoders", str(other.parent))
    assert host.list_model_dirs("audio_encoders") == ["enc"]
    assert host.resolve_model_dir("audio_encoders", "enc").endswith("comfy/models/audio_encoders/enc")
