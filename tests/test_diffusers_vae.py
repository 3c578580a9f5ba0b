"""The headless paths' VAE loader: a TAESD-layout file (the demo model's VAE) or an AutoencoderKL folder, one
interface, clear errors."""

from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL

from pipelines.diffusers_vae import decode_latents, encode_pixels, load_vae, pixel_factor
from pipelines.errors import PortraitInputError
from pipelines.train.tiny_vae import encode_images, new_tiny_vae, save_tiny_vae

CPU = torch.device("cpu")


def test_a_taesd_file_encodes_to_contiguous_raw_latents_like_the_training_code(tmp_path):
    torch.manual_seed(0)
    trained = new_tiny_vae()
    save_tiny_vae(trained, tmp_path / "taesd.safetensors", dtype=torch.float32)
    vae = load_vae(str(tmp_path / "taesd.safetensors"), CPU)
    images = torch.rand(2, 32, 48, 3)
    latents = encode_pixels(vae, images)
    assert pixel_factor(vae) == 8 and latents.shape == (2, 4, 4, 6)
    assert torch.equal(latents, encode_images(trained, images.movedim(-1, 1)).detach())
    assert decode_latents(vae, latents).shape == (2, 3, 32, 48)


def test_an_autoencoder_kl_folder_uses_the_distribution_mode(tmp_path):
    torch.manual_seed(0)
    AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                  block_out_channels=(8, 8), layers_per_block=1, latent_channels=4, norm_num_groups=4,
                  ).save_pretrained(tmp_path / "kl")
    vae = load_vae(str(tmp_path / "kl"), CPU)
    images = torch.rand(1, 16, 16, 3)
    assert pixel_factor(vae) == 2
    expected = vae.encode(images.movedim(-1, 1) * 2 - 1).latent_dist.mode()
    assert torch.equal(encode_pixels(vae, images), expected.detach())


def test_bad_vae_inputs_name_the_input_and_the_fix(tmp_path):
    (tmp_path / "not_taesd.safetensors").write_bytes(b"garbage")
    for path in (tmp_path / "not_taesd.safetensors", tmp_path / "missing", tmp_path):
        with pytest.raises(PortraitInputError, match="^vae: .*Fix: give the local folder"):
            load_vae(str(path), CPU)
    with pytest.raises(PortraitInputError, match="portrait: 20x16 px is not a multiple of 8"):
        encode_pixels(new_tiny_vae(), torch.rand(1, 16, 20, 3))
