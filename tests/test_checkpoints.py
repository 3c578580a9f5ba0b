"""Pack-native checkpoints, base-weight initialisation and refusal of unsafe or wrong files."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

from pipelines.tiny_models import TINY, tiny_conditions, tiny_model
from pipelines.checkpoint_io import read_state_dict
from pipelines.config import UNetConfig
from pipelines.errors import CheckpointError
from pipelines.model_files import init_from_base, load_motion_modules, load_portrait_model, read_portrait_config, save_portrait_model
from pipelines.portrait_model import PortraitModel
from pipelines.sampler import SamplerSettings, sample_video


def test_pack_native_round_trip_keeps_config_and_output(tmp_path):
    model = tiny_model(alpha=0.2)
    path = tmp_path / "tiny.safetensors"
    save_portrait_model(model, path)
    assert read_portrait_config(path) == TINY
    loaded = load_portrait_model(path)
    cond = tiny_conditions(TINY.clip_length)
    settings = SamplerSettings(steps=2, seed=3)
    assert torch.equal(sample_video(model, cond, settings), sample_video(loaded, cond, settings))


def test_fp16_load_casts_every_weight(tmp_path):
    path = tmp_path / "tiny.safetensors"
    save_portrait_model(tiny_model(), path)
    assert {p.dtype for p in load_portrait_model(path, torch.float16).parameters()} == {torch.float16}


def test_file_without_pack_metadata_is_named_and_explained(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="plain.safetensors.*not a GatedPortrait model"):
        read_portrait_config(path)


def test_checkpoint_of_another_architecture_lists_the_differences(tmp_path):
    other = dataclasses.replace(TINY, regions=("head", "mouth"))
    model = tiny_model()
    path = tmp_path / "lying.safetensors"
    save_portrait_model(model, path)
    # keep TINY's tensors but claim a two-region config: the gate Linear shapes no longer fit
    tensors = read_state_dict(path)
    save_file(tensors, str(path), metadata={"gated_portrait_config": other.to_json(), "format": "pt"})
    with pytest.raises(CheckpointError, match=r"lying\.safetensors.*shape mismatches.*gate_offset"):
        load_portrait_model(path)


def test_truncated_safetensors_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "cut.safetensors"
    save_portrait_model(tiny_model(), path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="cut.safetensors"):
        load_portrait_model(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match="nothing.pth: file not found"):
        read_state_dict(tmp_path / "nothing.pth")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("suffix", [".pth", ".ckpt", ".bin"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"model{suffix}"
    torch.save({"weight": torch.zeros(1), "payload": _Exploit(str(marker))}, path)
    with pytest.raises(CheckpointError, match="refused"):
        read_state_dict(path)
    assert not marker.exists()
    with open(path, "rb") as handle:  # sanity: the file really is an exploit
        assert b"pwned" in handle.read()


def test_plain_pickled_tensor_dict_loads(tmp_path):
    path = tmp_path / "ok.pth"
    torch.save({"state_dict": {"a": torch.arange(3)}}, path)
    assert torch.equal(read_state_dict(path)["a"], torch.arange(3))


def test_safetensors_whose_header_length_starts_with_0x80_is_not_taken_for_a_pickle(tmp_path):
    import pickle

    from pipelines.checkpoint_io import is_pickle_file

    for header_bytes in range(100, 400):  # one of these headers is 0x180 or 0x280 bytes long
        path = tmp_path / "weights.safetensors"
        save_file({"w": torch.zeros(1)}, path, metadata={"pad": "x" * header_bytes})
        assert not is_pickle_file(path)
    (tmp_path / "bare.pt").write_bytes(pickle.dumps({"w": 1}, protocol=2))
    assert is_pickle_file(tmp_path / "bare.pt")


def _tiny_sd_unet(tmp_path):
    unet = UNet2DConditionModel(**TINY.unet.diffusers_kwargs())
    folder = tmp_path / "sd15"
    unet.save_pretrained(folder / "unet")
    return unet, folder


def test_init_from_sd15_folder_fills_reference_and_denoiser_2d(tmp_path):
    unet, folder = _tiny_sd_unet(tmp_path)
    model = init_from_base(TINY, folder)
    source = unet.state_dict()
    for key, value in model.reference_net.state_dict().items():
        assert torch.equal(value, source[key]), key
    den = model.denoising_unet.state_dict()
    for key in ("conv_out.weight", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"):
        assert torch.equal(den[key], source[key])


def test_init_from_a_wrong_base_names_the_mismatch(tmp_path):
    big = UNet2DConditionModel(**UNetConfig(block_out_channels=(32, 32), layers_per_block=1, attention_heads=2,
                                            cross_attention_dim=32, norm_num_groups=8).diffusers_kwargs())
    path = tmp_path / "other_unet.safetensors"
    save_file(big.state_dict(), str(path))
    with pytest.raises(CheckpointError, match="other_unet.safetensors.*mismatch"):
        init_from_base(TINY, path)


def test_motion_module_file_fills_every_temporal_weight(tmp_path):
    model = tiny_model(temporal=False)
    donor = PortraitModel(TINY)
    with torch.no_grad():
        for name, p in donor.named_parameters():
            p.normal_()
    motion = {k: v for k, v in donor.denoising_unet.state_dict().items() if ".motion_modules." in k}
    path = tmp_path / "mm.safetensors"
    save_file(motion, str(path))
    load_motion_modules(model, path)
    loaded = model.denoising_unet.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in motion.items())
    save_file({**motion, "down_blocks.0.motion_modules.9.extra": torch.zeros(1)}, str(path))
    with pytest.raises(CheckpointError, match="unexpected.*motion_modules.9.extra"):
        load_motion_modules(model, path)


def _ldm_key_map() -> dict[str, str]:
    """diffusers -> original LDM UNet names for the tiny config, from ComfyUI's own table (the naming oracle)."""
    comfy_dir = str(Path(__file__).resolve().parents[1] / ".venv" / "comfyui")
    if comfy_dir not in sys.path:
        sys.path.append(comfy_dir)
    from comfy.cli_args import args

    args.cpu = True
    import comfy.utils

    layout = {"num_res_blocks": [1, 1], "channel_mult": [1, 2], "transformer_depth": [1, 0],
              "transformer_depth_output": [1, 1, 0, 0], "transformer_depth_middle": 1}
    return comfy.utils.unet_to_diffusers(layout)


def test_init_from_an_original_single_file_checkpoint(tmp_path):
    unet = UNet2DConditionModel(**TINY.unet.diffusers_kwargs())
    names = _ldm_key_map()
    ldm = {"model.diffusion_model." + names[k]: v for k, v in unet.state_dict().items()}
    ldm["first_stage_model.decoder.conv_in.weight"] = torch.zeros(1)  # the VAE and text encoder ride along
    path = tmp_path / "sd15_single_file.safetensors"
    save_file(ldm, str(path))
    model = init_from_base(TINY, path)
    source = unet.state_dict()
    assert all(torch.equal(v, source[k]) for k, v in model.reference_net.state_dict().items())
