"""Example workflows as shipped: a readable same-name .jpg thumbnail each, only model files the editor can check listed
in node properties, and a note in the Hallo workflow saying where its other files come from."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
from PIL import Image

WORKFLOW_DIR = Path(__file__).resolve().parents[1] / "example_workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.json"))


#: The loaders whose first widget names a file in the host's input folder (example_workflows/input/ ships them).
FILE_LOADERS = ("LoadImage", "LoadAudio")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_every_link_joins_the_slots_that_name_it_and_every_loaded_file_ships(workflow):
    """A link row [id, from node, from slot, to node, to slot, type] must match both ends' slot records, or the
    editor drops the wire on load; a file a loader names must ship in example_workflows/input/."""
    graph = json.loads(workflow.read_text())
    nodes = {node["id"]: node for node in graph["nodes"]}
    assert len(nodes) == len(graph["nodes"]) and max(nodes) <= graph["last_node_id"]
    links = {row[0]: row for row in graph["links"]}
    assert max(links) <= graph["last_link_id"]
    for link, source, source_slot, target, target_slot, kind in graph["links"]:
        output, input_ = nodes[source]["outputs"][source_slot], nodes[target]["inputs"][target_slot]
        assert link in output["links"] and input_["link"] == link, f"link {link}: {source} -> {target}"
        assert kind == output["type"] and (input_["type"] in (kind, "*") or kind in input_["type"].split(","))
    for node in nodes.values():
        wired = {link for output in node.get("outputs", []) for link in output.get("links") or []}
        wired |= {slot["link"] for slot in node.get("inputs", []) if slot.get("link") is not None}
        assert wired <= set(links), f"node {node['id']} ({node['type']}) names links the graph lacks"
        if node["type"] in FILE_LOADERS:
            assert (WORKFLOW_DIR / "input" / node["widgets_values"][0]).is_file()
    assert {w.stem for w in WORKFLOWS} >= {"gated_portrait_demo", "gated_portrait_long_audio", "hallo_checkpoints"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_every_workflow_has_a_readable_jpg_thumbnail(workflow):
    thumbnail = workflow.with_suffix(".jpg")
    with Image.open(thumbnail) as image:
        assert image.format == "JPEG" and image.height == 256 and image.width >= 256
        image.load()
        assert len(set(image.convert("L").getdata())) > 32  # a picture, not a flat placeholder


#: What the editor's missing-models check can handle (MissingModelsWarning.vue in comfyui-frontend-package 1.32).
CHECKABLE_SUFFIXES = (".safetensors", ".sft")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_listed_models_are_only_files_the_editor_can_check_and_download(workflow):
    """A listed file the editor cannot handle (a pickle, an .onnx, a folder) raises a dialog that never clears."""
    for node in json.loads(workflow.read_text())["nodes"]:
        values = set(node.get("widgets_values") or [])
        for model in node.get("properties", {}).get("models", []):
            assert set(model) == {"name", "url", "directory"} and model["url"].startswith("https://huggingface.co/")
            assert model["name"].endswith(CHECKABLE_SUFFIXES) and model["url"].endswith(model["name"].split("/")[-1])
            assert model["name"] in values, "the editor only checks a listed file its widget selects"


def test_hallo_workflow_loads_the_converted_net_and_its_note_says_where_each_file_comes_from():
    nodes = json.loads((WORKFLOW_DIR / "hallo_checkpoints.json").read_text())["nodes"]
    values = {n["type"]: n["widgets_values"][0] for n in nodes}
    assert values["HalloModelLoad"] == "hallo/net.safetensors"
    assert [m["directory"] for n in nodes for m in n["properties"].get("models", [])] == ["vae"]
    (note,) = [n["widgets_values"][0] for n in nodes if n["type"] == "MarkdownNote"]
    for url in ("https://huggingface.co/fudan-generative-ai/hallo/resolve/main/hallo/net.pth",
                "https://huggingface.co/fudan-generative-ai/hallo/resolve/main/face_analysis/models/glintr100.onnx",
                "https://huggingface.co/facebook/wav2vec2-base-960h"):
        assert url in note
    assert "Convert Hallo net.pth to safetensors" in note and values["HalloFaceConditions"] in note
    assert values["PortraitAudioEncoderLoader"] in note


def test_long_audio_workflow_runs_shift_fusion_over_its_own_long_clip():
    nodes = {n["type"]: n for n in json.loads((WORKFLOW_DIR / "gated_portrait_long_audio.json").read_text())["nodes"]}
    assert nodes["ShiftFusionLongVideo"]["widgets_values"][0] == "shift_fusion"
    with wave.open(str(WORKFLOW_DIR / "input" / nodes["LoadAudio"]["widgets_values"][0])) as clip:
        assert 10 < clip.getnframes() / clip.getframerate() < 15


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_sampler_widgets_are_saved_in_the_editors_order_with_a_fixed_seed(workflow):
    """The editor fills widgets by position, the seed's control_after_generate value right after the seed: a
    missing one would shift devices, compile, cfg_audio_head, regional_guidance and speed by one; "fixed" keeps the
    same noise between runs."""
    (sampler,) = [n for n in json.loads(workflow.read_text())["nodes"] if n["type"] == "GatedUNetSample"]
    values = sampler["widgets_values"]
    assert len(values) == 14 and values[8] == "fixed"
    assert isinstance(values[7], int) and values[9] == "" and values[10] is False and values[11] == 0.0
    assert values[12] == "auto" and values[13] == "lossless"
