"""The long-audio example workflow (Sonic shift fusion over 11 s of speech) end to end in the real host.

Its input, example_workflows/input/long_speech.wav, is espeak-ng speech (`espeak-ng -v en -s 165`) resampled to
16 kHz mono.
"""

from __future__ import annotations

import json
import math
import shutil
import wave
from pathlib import Path

import av

from audio_speech import needs_whisper_tiny
from scripts.make_demo_models import write_demo_models
from scripts.workflow_to_api import convert

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "example_workflows" / "gated_portrait_long_audio.json"
INPUTS = REPO / "example_workflows" / "input"


def _node(prompt: dict, class_type: str) -> dict:
    (node,) = [n for n in prompt.values() if n["class_type"] == class_type]
    return node["inputs"]


@needs_whisper_tiny
def test_long_audio_workflow_writes_one_frame_per_audio_frame_with_shift_fusion(comfy_host):
    write_demo_models(comfy_host.models_dir)
    prompt = convert(json.loads(WORKFLOW.read_text()), comfy_host.object_info())
    files = (_node(prompt, "LoadImage")["image"], _node(prompt, "LoadAudio")["audio"])
    for name in files:
        shutil.copy(INPUTS / name, comfy_host.input_dir / name)
    assert _node(prompt, "ShiftFusionLongVideo")["strategy"] == "shift_fusion"
    _node(prompt, "GatedUNetSample")["steps"] = 1
    with wave.open(str(INPUTS / files[1])) as clip:
        seconds = clip.getnframes() / clip.getframerate()
    assert seconds > 10  # several of the model's clips, so the windows really shift
    entry = comfy_host.run_prompt(prompt)
    (mp4,) = [p for p in comfy_host.output_paths(entry) if p.suffix == ".mp4"]
    fps = _node(prompt, "VAEDecodeVideo")["fps"]
    with av.open(str(mp4)) as container:
        assert float(container.streams.video[0].average_rate) == fps
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == math.ceil(seconds * fps)
