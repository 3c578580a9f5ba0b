"""GatedUNetSample's device list in the real host (issue 16): two model replicas (two CPU replicas stand in for
two GPUs) give the one-device latents; a device this machine lacks fails naming the input.

On the CPU the one-device run batches 4 windows per model call and replicas take one each, so the two agree to
float rounding here; tests/test_clip_parallel.py checks bit-identity at one window per call."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from scripts.comfy_host import PromptFailed
from test_demo_workflow import _demo_prompt, _fail_message, _node_of, demo_host  # noqa: F401


def _latent_prompt(host, devices: str, prefix: str) -> dict:
    """The demo graph up to GatedUNetSample (2 steps), its latents saved by core SaveLatent."""
    prompt = _demo_prompt(host)
    sampler_id = next(key for key, node in prompt.items() if node["class_type"] == "GatedUNetSample")
    kept = {key: node for key, node in prompt.items() if node["class_type"] not in ("VAEDecodeVideo", "SaveVideo", "CreateVideo")}
    _node_of(kept, "GatedUNetSample")["inputs"].update(steps=2, devices=devices)
    kept["latents"] = {"class_type": "SaveLatent", "inputs": {"samples": [sampler_id, 0], "filename_prefix": prefix}}
    return kept


def _saved_latents(host, entry: dict):
    (path,) = [p for p in host.output_paths(entry) if p.suffix == ".latent"]
    return load_file(str(path))["latent_tensor"]


def test_two_replicas_give_the_one_device_latents_and_a_missing_device_is_named(demo_host):
    one = _saved_latents(demo_host, demo_host.run_prompt(_latent_prompt(demo_host, "", "latents/one_device")))
    two = _saved_latents(demo_host, demo_host.run_prompt(_latent_prompt(demo_host, "cpu, cpu", "latents/two_replicas")))
    assert one.ndim == 5 and one.shape[2] > 16  # several clip windows per step to spread
    assert one.abs().sum() > 0
    assert (one - two).abs().max() < 1e-5 * one.abs().max()

    with pytest.raises(PromptFailed) as failed:
        demo_host.run_prompt(_latent_prompt(demo_host, "cuda:7", "latents/missing"))
    message = _fail_message(failed.value)
    assert "devices" in message and "cuda:7" in message and "does not exist" in message
