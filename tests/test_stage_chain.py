"""The one stage chain (pipelines/animate.py): the render command and the training evaluation behind bench.quality
hand the same inputs and settings to `animate` and get the same latents, bit for bit. (GatedUNetSample is the third
caller: tests/host/test_stage_chain_host.py gives it and the render command the same files.)"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import apps.render as render
import pipelines.train.evaluation as evaluation
from pipelines.animate import AnimateSettings, animate
from pipelines.errors import PortraitInputError
from pipelines.model_files import load_portrait_model
from pipelines.region_scales import RegionScales
from render_fixtures import write_render_inputs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_render_inputs(tmp_path_factory.mktemp("chain"))


def _recording(calls: list):
    def recorded(*args, **kwargs):
        latents = animate(*args, **kwargs)
        calls.append((args, kwargs, latents))
        return latents
    return recorded


def test_render_and_training_evaluation_give_the_same_latents_through_animate(inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    render_calls, evaluation_calls = [], []
    monkeypatch.setattr(render, "animate", _recording(render_calls))
    saved = tmp_path / "latents.safetensors"
    assert render.main([
        "--portrait", str(inputs["portrait.png"]), "--audio", str(inputs["speech.wav"]), "--model", str(inputs["model.safetensors"]),
        "--audio-encoder", str(inputs["encoder"]), "--vae", str(inputs["vae"]), "--output", str(tmp_path / "video.mp4"),
        "--save-latents", str(saved), "--face-box", "16,16,32,32", "--steps", "2", "--alpha", "3", "--cfg-image", "2",
        "--cfg-audio", "3", "--mouth", "0.5", "--eyes", "1.5", "--cfg-audio-head", "1.5",
    ]) == 0
    (args, kwargs, rendered), = render_calls
    model, reference_latent, audio, regions, region_scales, settings = args
    assert region_scales == RegionScales(1.0, 0.5, 1.5)
    assert isinstance(settings, AnimateSettings) and settings.sampling.steps == 2 and settings.long_video.alpha == 3
    assert settings.sampling.guidance.audio_head == 1.5
    assert torch.equal(load_file(str(saved))["latents"], rendered.cpu())

    # bench.quality's path on the render's inputs: its own encoders are swapped for the render's results, and the
    # decode left out so that talking_video hands back the latents it sampled.
    monkeypatch.setattr(evaluation, "talking_inputs", lambda *a, **k: evaluation.TalkingInputs(reference_latent, audio, regions))
    monkeypatch.setattr(evaluation, "animate", _recording(evaluation_calls))
    monkeypatch.setattr(evaluation, "decoded_frames", lambda vae, latents: latents)
    monkeypatch.setattr(evaluation, "decode_latents", lambda vae, latents: latents)
    fresh = load_portrait_model(str(inputs["model.safetensors"]))
    video = evaluation.talking_video(fresh, None, None, None, None, region_scales, settings)
    (_, _, evaluated), = evaluation_calls
    assert torch.equal(evaluated, rendered)
    assert torch.equal(video.frames, rendered[0] / model.config.latent_scale)
    assert rendered.abs().sum() > 0 and rendered.shape[2] == audio.frames


def test_region_scales_follow_the_models_region_order_and_a_region_without_slider_is_named():
    scales = RegionScales(head=0.5, mouth=0.0, eyes=2.0)
    assert scales.for_regions(("head", "mouth", "eyes")).tolist() == [[0.5, 0.0, 2.0]]
    assert scales.for_regions(("pose", "expression", "lip")).tolist() == [[0.5, 2.0, 0.0]]
    with pytest.raises(PortraitInputError, match="nose"):
        scales.for_regions(("head", "nose"))
