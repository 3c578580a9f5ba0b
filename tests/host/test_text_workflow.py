"""The text-to-talking-face workflow end to end in the real host (Piper voice, voice profile, subtitles), and the
speech nodes' bad inputs failing with the input's name and the fix while the host stays up."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from audio_speech import needs_whisper_tiny
from scripts.comfy_host import PromptFailed
from scripts.fetch_tts_voices import link_tts_voices
from scripts.make_demo_models import write_demo_models
from scripts.workflow_to_api import convert
from tts_voices import needs_piper_voice

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "example_workflows" / "text_to_talking_face.json"
INPUTS = REPO / "example_workflows" / "input"
TEXT = "Hello there. I can talk now!"


@pytest.fixture(scope="module")
def text_host(comfy_host):
    write_demo_models(comfy_host.models_dir)
    link_tts_voices(str(comfy_host.models_dir / "tts"))
    for name in ("demo_portrait.png", "long_speech.wav"):
        shutil.copy(INPUTS / name, comfy_host.input_dir / name)
    return comfy_host


def _node_of(prompt: dict, class_type: str) -> dict:
    (node,) = [n for n in prompt.values() if n["class_type"] == class_type]
    return node


def _decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono samples and rate of a file's first audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray().reshape(-1, frame.samples).mean(axis=0) if frame.format.is_planar
                  else frame.to_ndarray().reshape(frame.samples, -1).mean(axis=1) for frame in container.decode(stream)]
        return np.concatenate(chunks).astype(np.float64), stream.rate


def _envelope(wave: np.ndarray, rate: int, frames: int) -> np.ndarray:
    """RMS per 1/25 s frame."""
    step = rate / 25
    return np.array([np.sqrt(np.mean(wave[int(i * step):int((i + 1) * step)] ** 2) + 1e-12) for i in range(frames)])


def _delayed_envelope_correlation(track, track_rate, speech, rate, count) -> float:
    """Correlation of the first `count` frame envelopes of a decoded track and of the speech, at the best delay up
    to 80 ms (an AAC decoder returns the encoder's priming samples first)."""
    expected = _envelope(speech, rate, count)
    step = round(0.005 * track_rate)
    return max(np.corrcoef(_envelope(track[lag:], track_rate, count), expected)[0, 1]
               for lag in range(0, 16 * step + 1, step))


@needs_piper_voice
@needs_whisper_tiny
def test_text_workflow_writes_an_mp4_of_the_synthesised_speech_and_its_subtitles(text_host):
    prompt = convert(json.loads(WORKFLOW.read_text()), text_host.object_info())
    speech_node = _node_of(prompt, "TextToSpeech")
    assert speech_node["inputs"]["voice"] == "en_US-joe-medium.onnx" and "voice_profile" in speech_node["inputs"]
    speech_node["inputs"]["text"] = TEXT
    _node_of(prompt, "GatedUNetSample")["inputs"]["steps"] = 3
    speech_id = next(key for key, node in prompt.items() if node is speech_node)
    prompt["save_speech"] = {"class_type": "SaveAudio",
                             "inputs": {"audio": [speech_id, 0], "filename_prefix": "speech_check/tts"}}
    entry = text_host.run_prompt(prompt)
    paths = text_host.output_paths(entry)
    (mp4,) = [p for p in paths if p.suffix == ".mp4"]
    (saved,) = [p for p in paths if p.is_relative_to(text_host.output_dir / "speech_check")]
    speech, rate = _decoded_audio(saved)
    seconds = len(speech) / rate
    assert 1.0 < seconds < 6.0
    with av.open(str(mp4)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        audio = container.streams.audio[0]
        assert float(audio.duration * audio.time_base) == pytest.approx(seconds, abs=1 / 25)
    assert frames == math.ceil(seconds * 25)
    track, track_rate = _decoded_audio(mp4)
    count = math.floor(seconds * 25) - 2
    assert _delayed_envelope_correlation(track, track_rate, speech, rate, count) > 0.95
    srt = mp4.with_suffix(".srt").read_text()  # beside the video, under its name
    assert "Hello there." in srt and "I can talk now!" in srt and srt.startswith("1\n00:00:00,")


@pytest.mark.parametrize("inputs, input_name", [
    ({"text": "  "}, "text"),
    ({"text": "?!..."}, "text"),
    ({"language": "klingon"}, "language"),
])
def test_bad_text_or_language_names_the_input_and_the_fix(text_host, inputs, input_name):
    speech = {"text": "Hello.", "voice": "espeak-ng", "language": "en-us", "speed": 1.0, "pitch": 50, **inputs}
    prompt = {"1": {"class_type": "TextToSpeech", "inputs": speech},
              "2": {"class_type": "SaveSubtitles", "inputs": {"timeline": ["1", 1], "filename_prefix": "bad/x"}}}
    with pytest.raises(PromptFailed) as failure:
        text_host.run_prompt(prompt)
    message = " ".join(e.get("exception_message", "") for e in failure.value.errors)
    assert message.startswith(f"{input_name}: ") and "Fix:" in message


def test_a_voice_sample_shorter_than_three_seconds_names_the_voice_sample(text_host):
    prompt = {"1": {"class_type": "EmptyAudio", "inputs": {"duration": 1.0, "sample_rate": 16000, "channels": 1}},
              "2": {"class_type": "VoiceProfile", "inputs": {"voice_sample": ["1", 0]}},
              "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 1]}}}
    with pytest.raises(PromptFailed) as failure:
        text_host.run_prompt(prompt)
    message = " ".join(e.get("exception_message", "") for e in failure.value.errors)
    assert "voice_sample" in message and "3 s" in message and "Fix:" in message


def test_subtitles_go_under_a_new_prefix_folder_and_never_outside_the_output_folder(text_host):
    speech = {"text": "Hello. Goodbye now.", "voice": "espeak-ng", "language": "en-us", "speed": 1.0, "pitch": 50}
    prompt = {"1": {"class_type": "TextToSpeech", "inputs": speech},
              "2": {"class_type": "SaveSubtitles", "inputs": {"timeline": ["1", 1], "filename_prefix": "subs/new/x"}}}
    text_host.run_prompt(prompt)
    (srt,) = (text_host.output_dir / "subs" / "new").glob("x_*_.srt")
    cues = srt.read_text().split("\n\n")
    assert [cue.splitlines()[2] for cue in cues] == ["Hello.", "Goodbye now."]
    prompt["2"]["inputs"]["mp4_path"] = str(text_host.base_dir / "elsewhere.mp4")
    with pytest.raises(PromptFailed) as failure:
        text_host.run_prompt(prompt)
    message = " ".join(e.get("exception_message", "") for e in failure.value.errors)
    assert message.startswith("mp4_path: ") and "Fix:" in message
