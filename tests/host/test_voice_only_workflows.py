"""The voice-only example workflows in the real host: a voice alone -> an imagined portrait -> a talking video."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from audio_speech import cut_wav, needs_whisper_tiny
from sd15_fixtures import write_tiny_sd15_checkpoint
from pipelines.voice.attributes import measure_voice_attributes
from pipelines.voice.imagine import imagine_portrait
from pipelines.voice.speaker_encoder import load_speaker_encoder
from pipelines.voice.voice_seed import load_voice_projection
from scripts.comfy_host import PromptFailed
from scripts.make_demo_models import write_demo_models
from scripts.synth_voices import read_wav
from scripts.workflow_to_api import convert

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "example_workflows"


TINY_SD15 = "tiny_sd15_test.safetensors"


@pytest.fixture(scope="module")
def voice_host(comfy_host):
    write_demo_models(comfy_host.models_dir)
    write_tiny_sd15_checkpoint(comfy_host.models_dir / "checkpoints" / TINY_SD15)
    shutil.copy(WORKFLOWS / "input" / "speech.wav", comfy_host.input_dir / "speech.wav")
    return comfy_host


def _prompt(host, name: str) -> dict:
    return convert(json.loads((WORKFLOWS / name).read_text()), host.object_info())


def _node(prompt: dict, class_type: str) -> tuple[str, dict]:
    (found,) = [(node_id, node) for node_id, node in prompt.items() if node["class_type"] == class_type]
    return found


def _imagined(name: str):
    """What the pipeline imagines for an input WAV (ImaginedPortrait)."""
    samples, rate = read_wav(str(WORKFLOWS / "input" / name))
    measured = measure_voice_attributes(torch.from_numpy(samples)[None, None], rate, load_speaker_encoder())
    return imagine_portrait(measured, load_voice_projection())


def _frames(mp4: Path) -> np.ndarray:
    with av.open(str(mp4)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


@needs_whisper_tiny
def test_voice_only_demo_paints_the_voice_face_and_animates_it(voice_host):
    prompt = _prompt(voice_host, "voice_only_demo.json")
    imagine_id, _ = _node(prompt, "ImaginePortrait")
    masks_id, masks = _node(prompt, "RegionMaskFromLandmarks")
    assert masks["inputs"]["image"] == [imagine_id, 0] and masks["inputs"]["face_box"] == [imagine_id, 1]
    _, sampler = _node(prompt, "GatedUNetSample")
    assert sampler["inputs"]["reference"] == [imagine_id, 0]
    sampler["inputs"]["steps"] = 4
    prompt["preview"] = {"class_type": "SaveImage", "inputs": {"images": [imagine_id, 0],
                                                              "filename_prefix": "voice/portrait"}}
    entry = voice_host.run_prompt(prompt)
    (mp4,) = [p for p in voice_host.output_paths(entry) if p.suffix == ".mp4"]
    frames = _frames(mp4)
    assert frames.shape[1:] == (64, 64, 3) and len(frames) == 82  # ceil(3.24 s x 25)
    assert frames.std(axis=0).mean() > 0.5  # the face moves
    (portrait,) = [p for p in voice_host.output_paths(entry) if p.is_relative_to(voice_host.output_dir / "voice")]
    assert np.abs(np.asarray(Image.open(portrait), np.float32) / 255 - _imagined("speech.wav").image[0].numpy()).max() < 1 / 255
    summary = [line for output in entry["outputs"].values() for line in output.get("gated_portrait_voice", [])]
    assert summary and "Hz" in summary[0] and "vocal tract" in summary[0]


@needs_whisper_tiny
def test_voice_only_sd15_samples_the_portrait_with_core_ksampler_from_the_voice_prompt_and_seed(voice_host):
    prompt = _prompt(voice_host, "voice_only_sd15.json")
    imagine_id, _ = _node(prompt, "ImaginePortrait")
    ksampler_id, ksampler = _node(prompt, "KSampler")
    assert any(n["class_type"] == "CLIPTextEncode" and n["inputs"]["text"] == [imagine_id, 2] for n in prompt.values())
    assert ksampler["inputs"]["seed"] == [imagine_id, 3] and ksampler["inputs"]["positive"][0] in prompt
    decode_id, _ = _node(prompt, "VAEDecode")
    _, masks = _node(prompt, "RegionMaskFromLandmarks")
    assert masks["inputs"]["image"] == [decode_id, 0]
    _node(prompt, "CheckpointLoaderSimple")[1]["inputs"]["ckpt_name"] = TINY_SD15
    _node(prompt, "EmptyLatentImage")[1]["inputs"].update(width=64, height=64)
    ksampler["inputs"]["steps"] = 2
    _node(prompt, "GatedUNetSample")[1]["inputs"]["steps"] = 2
    masks["inputs"]["face_box"] = "16,10,32,42"  # random weights draw no face to detect
    prompt["seed"] = {"class_type": "PreviewAny", "inputs": {"source": [imagine_id, 3]}}
    prompt["words"] = {"class_type": "PreviewAny", "inputs": {"source": [imagine_id, 2]}}
    prompt["portrait"] = {"class_type": "SaveImage", "inputs": {"images": [decode_id, 0], "filename_prefix": "sd/p"}}
    entry = voice_host.run_prompt(prompt)
    expected = _imagined("speech.wav")
    assert entry["outputs"]["seed"]["text"] == [str(expected.seed)]
    assert entry["outputs"]["words"]["text"] == [expected.prompt]
    (portrait,) = [p for p in voice_host.output_paths(entry) if p.is_relative_to(voice_host.output_dir / "sd")]
    assert Image.open(portrait).size == (64, 64) and np.asarray(Image.open(portrait)).std() > 1  # sampled, not blank
    (mp4,) = [p for p in voice_host.output_paths(entry) if p.suffix == ".mp4"]
    assert _frames(mp4).shape == (82, 64, 64, 3)


@pytest.mark.parametrize("source, problem", [
    ({"class_type": "EmptyAudio", "inputs": {"duration": 3.0, "sample_rate": 16000, "channels": 1}}, "silent"),
    ({"class_type": "LoadAudio", "inputs": {"audio": "speech_cut.wav"}}, "under the 1 s"),
])
def test_silence_and_short_speech_name_the_audio_and_the_fix(voice_host, source, problem):
    cut_wav(WORKFLOWS / "input" / "speech.wav", voice_host.input_dir / "speech_cut.wav", 0.5)
    prompt = {
        "1": source,
        "2": {"class_type": "VoiceAttributes", "inputs": {"audio": ["1", 0]}},
        "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 1]}},
    }
    with pytest.raises(PromptFailed) as failure:
        voice_host.run_prompt(prompt)
    message = " ".join(e.get("exception_message", "") for e in failure.value.errors)
    assert message.startswith("audio:") and problem in message and "Fix:" in message
