"""The Hallo example workflow end to end in the real host, on tiny Hallo-shaped stand-ins of the released files (its
net.pth converted to the net.safetensors the workflow loads)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import av
import pytest
import torch
from safetensors.torch import load_file

from audio_speech import cut_wav
from pipelines.hallo_checkpoint import convert_net_to_safetensors
from scripts.comfy_host import PromptFailed
from scripts.make_hallo_models import write_hallo_models
from scripts.workflow_to_api import convert

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "example_workflows" / "hallo_checkpoints.json"
INPUTS = REPO / "example_workflows" / "input"
#: The demo speech cut to two of the tiny model's 8-frame clips, so the second clip continues from motion frames.
SHORT_SPEECH = "hallo_speech_short.wav"
SHORT_SECONDS = 0.6


@pytest.fixture(scope="module")
def hallo_host(comfy_host):
    pytest.importorskip("onnx", reason="the tiny glintr100 stand-in is exported with the onnx package")
    convert_net_to_safetensors(write_hallo_models(comfy_host.models_dir)["net"])
    for path in INPUTS.iterdir():
        shutil.copy(path, comfy_host.input_dir / path.name)
    cut_wav(INPUTS / "speech.wav", comfy_host.input_dir / SHORT_SPEECH, SHORT_SECONDS)
    return comfy_host


def _prompt(host) -> dict:
    prompt = convert(json.loads(WORKFLOW.read_text()), host.object_info())
    (sampler,) = [n for n in prompt.values() if n["class_type"] == "GatedUNetSample"]
    sampler["inputs"]["steps"] = 2
    (audio,) = [n for n in prompt.values() if n["class_type"] == "LoadAudio"]
    audio["inputs"]["audio"] = SHORT_SPEECH
    return prompt


def test_hallo_workflow_names_the_released_files():
    nodes = {n["type"]: n["widgets_values"] for n in json.loads(WORKFLOW.read_text())["nodes"]}
    assert nodes["HalloModelLoad"][0] == "hallo/net.safetensors"
    assert nodes["HalloFaceConditions"][0] == "face_analysis/models/glintr100.onnx"
    assert nodes["PortraitAudioEncoderLoader"][0] == "wav2vec2-base-960h"
    assert nodes["RegionMaskFromLandmarks"][0] == "hallo"
    assert nodes["ShiftFusionLongVideo"][0] == "motion_frames"


def test_hallo_workflow_writes_an_mp4_with_one_frame_per_audio_frame(hallo_host):
    entry = hallo_host.run_prompt(_prompt(hallo_host))
    (mp4,) = [p for p in hallo_host.output_paths(entry) if p.suffix == ".mp4"]
    with av.open(str(mp4)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == math.ceil(SHORT_SECONDS * 25)


def test_pack_layout_masks_are_refused_by_a_hallo_model_naming_the_regions(hallo_host):
    prompt = _prompt(hallo_host)
    (masks,) = [n for n in prompt.values() if n["class_type"] == "RegionMaskFromLandmarks"]
    masks["inputs"]["layout"] = "lingualinker"
    with pytest.raises(PromptFailed) as failed:
        hallo_host.run_prompt(prompt)
    message = " ".join(e.get("exception_message", "") for e in failed.value.errors)
    assert "regions" in message and "Fix" in message


def test_convert_node_writes_the_same_tensors_as_safetensors_and_the_loader_lists_it(hallo_host):
    source = hallo_host.models_dir / "hallo" / "hallo"
    copy = hallo_host.models_dir / "hallo" / "finetune"
    copy.mkdir(exist_ok=True)
    for name in ("net.pth", "net.json"):
        shutil.copy(source / name, copy / name)
    entry = hallo_host.run_prompt(
        {"convert": {"class_type": "HalloConvertCheckpoint", "inputs": {"net_file": "finetune/net.pth"}}})
    assert entry["outputs"]["convert"]["text"] == ["finetune/net.safetensors"]
    original = torch.load(copy / "net.pth", weights_only=True)
    converted = load_file(str(copy / "net.safetensors"))
    assert converted.keys() == original.keys() and all(torch.equal(converted[k], original[k]) for k in original)

    (choices, _), *_ = [spec for spec in hallo_host.object_info()["HalloModelLoad"]["input"]["required"].values()]
    assert {"finetune/net.pth", "finetune/net.safetensors", "hallo/net.safetensors"} <= set(choices)
