"""Example workflows as shipped: a readable same-name .jpg thumbnail each, Hallo's model files listed in node properties."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
from PIL import Image

WORKFLOW_DIR = Path(__file__).resolve().parents[1] / "example_workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.json"))


def test_the_three_example_workflows_are_there():
    assert {w.stem for w in WORKFLOWS} >= {"gated_portrait_demo", "gated_portrait_long_audio", "hallo_checkpoints"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_every_workflow_has_a_readable_jpg_thumbnail(workflow):
    thumbnail = workflow.with_suffix(".jpg")
    with Image.open(thumbnail) as image:
        assert image.format == "JPEG" and image.height == 256 and image.width >= 256
        image.load()
        assert len(set(image.convert("L").getdata())) > 32  # a picture, not a flat placeholder


def test_hallo_workflow_lists_each_model_file_its_widgets_name():
    nodes = json.loads((WORKFLOW_DIR / "hallo_checkpoints.json").read_text())["nodes"]
    listed = {}
    for node in nodes:
        for model in node["properties"].get("models", []):
            assert set(model) == {"name", "url", "directory"} and model["url"].startswith("https://huggingface.co/")
            listed[node["type"], model["name"]] = model["directory"]
    values = {n["type"]: n["widgets_values"][0] for n in nodes}
    assert listed[("HalloModelLoad", values["HalloModelLoad"])] == "hallo"
    assert listed[("HalloFaceConditions", values["HalloFaceConditions"])] == "hallo"
    assert listed[("VAELoader", values["VAELoader"])] == "vae"
    encoder = values["PortraitAudioEncoderLoader"]
    assert {name for kind, name in listed if kind == "PortraitAudioEncoderLoader"} == {
        f"{encoder}/config.json", f"{encoder}/preprocessor_config.json", f"{encoder}/model.safetensors"}


def test_long_audio_workflow_runs_shift_fusion_over_its_own_long_clip():
    nodes = {n["type"]: n for n in json.loads((WORKFLOW_DIR / "gated_portrait_long_audio.json").read_text())["nodes"]}
    assert nodes["ShiftFusionLongVideo"]["widgets_values"][0] == "shift_fusion"
    with wave.open(str(WORKFLOW_DIR / "input" / nodes["LoadAudio"]["widgets_values"][0])) as clip:
        assert 10 < clip.getnframes() / clip.getframerate() < 15


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_sampler_widgets_are_saved_in_the_editors_order_with_a_fixed_seed(workflow):
    """The editor fills widgets by position, the seed's control_after_generate value right after the seed: a
    missing one would shift devices, compile, cfg_audio_head and regional_guidance by one; "fixed" keeps the same
    noise between runs."""
    (sampler,) = [n for n in json.loads(workflow.read_text())["nodes"] if n["type"] == "GatedUNetSample"]
    values = sampler["widgets_values"]
    assert len(values) == 13 and values[8] == "fixed"
    assert isinstance(values[7], int) and values[9] == "" and values[10] is False and values[11] == 0.0
    assert values[12] == "auto"
