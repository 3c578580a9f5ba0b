"""The `vae` training command: decoder-only fine-tunes keep the latent space; region weights favour small features."""

import torch

from pipelines.train.__main__ import main, region_pixel_weights
from pipelines.train.synthetic import random_portraits
from pipelines.train.tiny_vae import load_tiny_vae
from test_train_shipped import VAE


def test_region_pixel_weights_raise_the_loss_factor_inside_their_regions():
    _, masks = random_portraits(torch.Generator().manual_seed(3), 2)
    weights = region_pixel_weights(masks, {"eyes": 8.0, "mouth": 2.0})
    assert weights.shape == (2, 1, 64, 64)
    eyes, mouth = masks[:, 2:3] == 1, masks[:, 1:2] == 1
    assert torch.allclose(weights[eyes & ~mouth], torch.tensor(8.0))
    assert torch.allclose(weights[mouth & ~eyes], torch.tensor(2.0))
    assert (weights[(masks.sum(1, keepdim=True) == 0)] == 1).all()


def test_decoder_only_run_with_eye_weight_keeps_the_encoder(tmp_path):
    out = tmp_path / "vae"
    main(["--threads", "1", "vae", "--out", str(out), "--init", str(VAE), "--decoder-only", "--steps", "3",
          "--batch", "2", "--lr", "1e-3", "--log-every", "1", "--region-weight", "eyes=8", "mouth=2"])
    before, after = load_tiny_vae(VAE), load_tiny_vae(out / "taesd_demo.safetensors")
    for (name, old), (_, new) in zip(before.encoder.state_dict().items(), after.encoder.state_dict().items()):
        assert torch.equal(old, new), name
    changed = [not torch.equal(a, b) for a, b in zip(before.decoder.state_dict().values(), after.decoder.state_dict().values())]
    assert any(changed)
