"""Hallo's net.pth loads strictly into the pack's model: manifests on meta, tiny files for real."""

from __future__ import annotations

import re

import pytest
import torch

from hallo_fixtures import TINY_HALLO, tiny_hallo_conditions, tiny_hallo_model
from manifest_data import meta_state_dict, read_manifest
from pipelines import hallo_checkpoint
from pipelines.errors import CheckpointError
from pipelines.hallo_audio_module import hallo_inner_widths
from pipelines.hallo_checkpoint import HALLO_PREFIXES, hallo_config, hallo_key_shapes, hallo_state_dict, load_hallo_model
from pipelines.portrait_model import PortraitModel
from pipelines.sampler import SamplerSettings, sample_video


def _net_manifest() -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.{key}": shape for prefix in HALLO_PREFIXES for key, shape in read_manifest(f"hallo_net__{prefix}").items()}


@pytest.fixture(scope="module")
def meta_hallo():
    with torch.device("meta"):
        return PortraitModel(hallo_config())


def test_manifest_hallo_net_keys_and_shapes_equal_the_five_manifests(meta_hallo):
    expected = _net_manifest()
    found = hallo_key_shapes(meta_hallo)
    assert len(expected) == 2656
    assert sorted(set(expected) - set(found)) == [] and sorted(set(found) - set(expected)) == []
    assert found == expected


def test_manifest_hallo_net_loads_strictly_through_the_loader(monkeypatch):
    state = meta_state_dict(_net_manifest())
    monkeypatch.setattr(hallo_checkpoint, "read_state_dict", lambda path: state)
    model = load_hallo_model("net.pth")
    assert sum(1 for _ in model.state_dict()) == 2656
    assert model.config.regions == ("pose", "expression", "lip")
    assert model.config.motion.skip_blocks == ("down_blocks.3", "up_blocks.0")


@pytest.mark.parametrize("change", ["extra", "missing", "shape"])
def test_manifest_hallo_net_with_a_wrong_key_is_refused_naming_it(monkeypatch, change):
    state = meta_state_dict(_net_manifest())
    key = "denoising_unet.up_blocks.2.audio_modules.1.proj_in.weight"
    if change == "extra":
        key = "audioproj.proj4.weight"
        state[key] = torch.empty(3, device="meta")
    elif change == "missing":
        del state[key]
    else:
        state[key] = torch.empty(640, 640, 1, 1, device="meta")  # the block width, not Hallo's inner 320
    monkeypatch.setattr(hallo_checkpoint, "read_state_dict", lambda path: state)
    with pytest.raises(CheckpointError, match=re.escape(key)):
        load_hallo_model("net.pth")


def test_manifest_animatediff_file_fills_exactly_the_temporal_modules(meta_hallo):
    denoiser = meta_hallo.denoising_unet
    motion = meta_state_dict(read_manifest("mm_sd_v15_v2_ckpt"))
    missing, unexpected = denoiser.load_state_dict(motion, strict=False, assign=True)
    assert unexpected == []
    denoiser_keys = set(read_manifest("hallo_net__denoising_unet"))
    assert set(missing) == denoiser_keys - set(motion)


def test_manifest_audio_inner_widths_are_hallos_block_input_widths():
    manifest = read_manifest("hallo_net__denoising_unet")
    found = {}
    for key, shape in manifest.items():
        match = re.fullmatch(r"(.+)\.audio_modules\.(\d+)\.proj_in\.weight", key)
        if match:
            found.setdefault(match[1], []).append(shape[0])
    table = hallo_inner_widths((320, 640, 1280, 1280), 2)
    assert found == {name: widths for name, widths in table.items() if name in found}
    assert found["down_blocks.1"] == [320, 640] and found["up_blocks.1"] == [640] * 3 and found["up_blocks.2"] == [320] * 3


def _write_net(model, path):
    torch.save({k: v.clone() for k, v in hallo_state_dict(model).items()}, path)
    path.with_suffix(".json").write_text(model.config.to_json())


def test_tiny_net_pth_round_trips_with_the_same_output(tmp_path):
    model = tiny_hallo_model()
    path = tmp_path / "net.pth"
    _write_net(model, path)
    loaded = load_hallo_model(path)
    assert loaded.config == TINY_HALLO
    cond = tiny_hallo_conditions(TINY_HALLO.clip_length)
    settings = SamplerSettings(steps=2, seed=4)
    expected = sample_video(model, cond, settings)
    first, second = sample_video(loaded, cond, settings), sample_video(loaded, cond, settings)
    assert torch.isfinite(first).all()
    assert torch.equal(first, expected) and torch.equal(first, second)


@pytest.mark.parametrize("change", ["extra", "missing", "shape"])
def test_tiny_net_pth_with_a_wrong_key_names_the_file_and_key(tmp_path, change):
    model = tiny_hallo_model()
    state = {k: v.clone() for k, v in hallo_state_dict(model).items()}
    key = "face_locator.blocks.1.weight"
    if change == "extra":
        key = "imageproj.extra.bias"
        state[key] = torch.zeros(2)
    elif change == "missing":
        del state[key]
    else:
        state[key] = torch.zeros(3, 3, 3, 3)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    path.with_suffix(".json").write_text(model.config.to_json())
    with pytest.raises(CheckpointError, match=rf"broken\.pth.*{re.escape(key)}"):
        load_hallo_model(path)


def test_train_mode_quirk_off_runs_every_temporal_module_without_motion_frames(tmp_path):
    path = tmp_path / "net.pth"
    _write_net(tiny_hallo_model(), path)
    assert load_hallo_model(path).config.motion.reference_motion_frames == 2
    plain = load_hallo_model(path, train_mode_quirk=False).config.motion
    assert plain.skip_blocks == () and plain.reference_motion_frames == 0
