"""The one stage chain, through the real host: GatedUNetSample in the demo graph and the headless render command
sample the same latents from the same files (the demo model, its TAESD VAE, the demo portrait with its face box, the
template speech, Whisper tiny.en). tests/test_stage_chain.py shows the render command and bench.quality's training
evaluation equal bit for bit, so the node equals all three."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import apps.render as render
from audio_speech import WHISPER_TINY_EN, needs_whisper_tiny
from pipelines.model_files import load_portrait_model
from scripts.make_demo_models import DEMO_MODEL, DEMO_VAE
from scripts.comfy_host import PromptFailed
from test_demo_workflow import _fail_message, _node_of, demo_host  # noqa: F401
from test_device_list_host import _latent_prompt, _saved_latents

STEPS = 2


@needs_whisper_tiny
def test_node_and_render_command_sample_identical_latents(demo_host, tmp_path):
    prompt = _latent_prompt(demo_host, "", "chain/node")
    sampler = _node_of(prompt, "GatedUNetSample")["inputs"]
    masks = _node_of(prompt, "RegionMaskFromLandmarks")["inputs"]
    long_video = _node_of(prompt, "ShiftFusionLongVideo")["inputs"]
    assert sampler["steps"] == STEPS and masks["layout"] == "lingualinker"
    node = _saved_latents(demo_host, demo_host.run_prompt(prompt))

    model_file = demo_host.models_dir / "gated_portrait" / DEMO_MODEL
    saved = tmp_path / "latents.safetensors"
    assert render.main([
        "--portrait", str(demo_host.input_dir / "demo_portrait.png"), "--audio", str(demo_host.input_dir / "speech.wav"),
        "--model", str(model_file), "--audio-encoder", WHISPER_TINY_EN,
        "--vae", str(demo_host.models_dir / "vae" / DEMO_VAE), "--output", str(tmp_path / "video.mp4"),
        "--save-latents", str(saved), "--face-box", masks["face_box"], "--steps", str(STEPS),
        "--scheduler", sampler["scheduler"], "--cfg-image", str(sampler["cfg_image"]),
        "--cfg-audio", str(sampler["cfg_audio"]), "--seed", str(sampler["seed"]), "--alpha", str(long_video["alpha"]),
        "--seam", long_video["seam"], "--head", str(sampler["head_scale"]), "--mouth", str(sampler["mouth_scale"]),
        "--eyes", str(sampler["eyes_scale"]),
    ]) == 0
    rendered = load_file(str(saved))["latents"] / load_portrait_model(str(model_file)).config.latent_scale
    assert node.shape == rendered.shape and node.shape[2] > 16  # every frame of the template speech
    assert node.abs().sum() > 0
    assert torch.equal(node, rendered), float((node - rendered).abs().max())


def test_masks_of_another_layout_fail_naming_the_regions_input_and_the_fix(demo_host):
    prompt = _latent_prompt(demo_host, "", "chain/wrong_layout")
    _node_of(prompt, "RegionMaskFromLandmarks")["inputs"]["layout"] = "hallo"
    with pytest.raises(PromptFailed) as failed:
        demo_host.run_prompt(prompt)
    message = _fail_message(failed.value)
    assert "regions: the masks hold ('pose', 'expression', 'lip') but the model gates ('head', 'mouth', 'eyes')" in message
    assert "Fix: set RegionMaskFromLandmarks' layout" in message
