"""The demo VAE: ComfyUI TAESD key layout both ways, lossless file round trip, the low-resolution starting point;
the `vae` training command (decoder-only fine-tunes keep the latent space; region weights favour small features)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from apps.train import main, region_weight_indices
from pipelines.conditions import LINGUALINKER_REGIONS
from pipelines.errors import CheckpointError
from pipelines.train.synthetic import random_portraits
from pipelines.train.tiny_vae import (
    decode_latents,
    downsampling_init,
    encode_images,
    from_comfy_taesd,
    load_tiny_vae,
    new_tiny_vae,
    region_pixel_weights,
    save_tiny_vae,
    to_comfy_taesd,
)

COMFY_DIR = str(Path(__file__).resolve().parents[1] / ".venv" / "comfyui")
SHIPPED_VAE = Path(__file__).resolve().parents[1] / "models_shipped" / "taesd_tiny_demo.safetensors"


def comfy_taesd():
    """ComfyUI's own TAESD class (the layout oracle), or skip when the host tree is absent."""
    if not Path(COMFY_DIR, "comfy", "taesd", "taesd.py").is_file():
        pytest.skip("no ComfyUI tree in .venv/comfyui")
    if COMFY_DIR not in sys.path:
        sys.path.append(COMFY_DIR)
    from comfy.cli_args import args

    args.cpu = True
    from comfy.taesd.taesd import TAESD

    return TAESD()


def test_keys_and_outputs_match_comfyui_taesd():
    torch.manual_seed(0)
    vae = new_tiny_vae().eval()
    taesd = comfy_taesd()
    weights = to_comfy_taesd(vae.state_dict())
    assert set(weights) == {k for k in taesd.state_dict() if k.startswith("taesd_")}
    missing, unexpected = taesd.load_state_dict(weights, strict=False)
    assert set(missing) == {"vae_scale", "vae_shift"} and not unexpected
    images = torch.rand(2, 3, 32, 32)
    latents = torch.randn(2, 4, 4, 4)
    with torch.no_grad():
        assert torch.allclose(taesd.encode(images * 2 - 1), encode_images(vae, images), atol=1e-6)
        assert torch.allclose(((taesd.decode(latents) + 1) / 2).clamp(0, 1), decode_latents(vae, latents), atol=1e-6)


def test_file_round_trip(tmp_path):
    torch.manual_seed(1)
    vae = new_tiny_vae()
    assert from_comfy_taesd(to_comfy_taesd(vae.state_dict())).keys() == vae.state_dict().keys()
    path = tmp_path / "taesd.safetensors"
    save_tiny_vae(vae, path, dtype=torch.float32)
    assert all(k.startswith(("taesd_encoder.", "taesd_decoder.")) for k in load_file(str(path)))
    loaded = load_tiny_vae(path)
    assert all(torch.equal(a, b) for a, b in zip(vae.state_dict().values(), loaded.state_dict().values()))


def test_foreign_files_are_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    from safetensors.torch import save_file

    save_file({"decoder.conv_in.weight": torch.zeros(1)}, str(path))
    with pytest.raises(CheckpointError, match="not a TAESD-layout VAE"):
        load_tiny_vae(path)


def test_downsampling_init_reconstructs_flat_colour_patches():
    """Before any training the autoencoder already passes 8 x 8 colour blocks through (up to its small random part)."""
    torch.manual_seed(0)
    vae = downsampling_init(new_tiny_vae()).eval()
    images = torch.rand(2, 3, 4, 4).repeat_interleave(8, 2).repeat_interleave(8, 3)  # one flat block per latent
    with torch.no_grad():
        latents = encode_images(vae, images)
        restored = decode_latents(vae, latents)
        random_start = decode_latents(new_tiny_vae().eval(), encode_images(new_tiny_vae().eval(), images))
    assert latents.shape == (2, 4, 4, 4)
    assert torch.corrcoef(torch.stack([restored.flatten(), images.flatten()]))[0, 1] > 0.9
    assert (restored - images).abs().mean() < 0.5 * (random_start - images).abs().mean()


def test_region_pixel_weights_raise_the_loss_factor_inside_their_regions():
    _, masks = random_portraits(torch.Generator().manual_seed(3), 2)
    weights = region_pixel_weights(masks, region_weight_indices([("eyes", 8.0), ("mouth", 2.0)], LINGUALINKER_REGIONS))
    assert weights.shape == (2, 1, 64, 64)
    eyes, mouth = masks[:, 2:3] == 1, masks[:, 1:2] == 1
    assert torch.allclose(weights[eyes & ~mouth], torch.tensor(8.0))
    assert torch.allclose(weights[mouth & ~eyes], torch.tensor(2.0))
    assert (weights[(masks.sum(1, keepdim=True) == 0)] == 1).all()
    with pytest.raises(SystemExit, match="--region-weight 'nose' is not one of"):
        region_weight_indices([("nose", 2.0)], LINGUALINKER_REGIONS)


def test_vae_command_refuses_an_unknown_region_weight_before_its_first_step(tmp_path):
    with pytest.raises(SystemExit, match="--region-weight 'nose' is not one of"):
        main(["--threads", "1", "vae", "--out", str(tmp_path / "vae"), "--steps", "1", "--region-weight", "nose=2"])
    assert not (tmp_path / "vae" / "checkpoint.pt").exists()


def test_decoder_only_run_with_eye_weight_keeps_the_encoder(tmp_path):
    out = tmp_path / "vae"
    main(["--threads", "1", "vae", "--out", str(out), "--init", str(SHIPPED_VAE), "--decoder-only", "--steps", "3",
          "--batch", "2", "--lr", "1e-3", "--log-every", "1", "--region-weight", "eyes=8", "mouth=2"])
    before, after = load_tiny_vae(SHIPPED_VAE), load_tiny_vae(out / "taesd_demo.safetensors")
    for (name, old), (_, new) in zip(before.encoder.state_dict().items(), after.encoder.state_dict().items()):
        assert torch.equal(old, new), name
    changed = [not torch.equal(a, b) for a, b in zip(before.decoder.state_dict().values(), after.decoder.state_dict().values())]
    assert any(changed)
