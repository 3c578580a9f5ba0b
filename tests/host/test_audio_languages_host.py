"""Speech in five languages through LoadAudio -> AudioEncode in the real host (real Whisper tiny.en encoder)."""

from __future__ import annotations

import math
import subprocess
import wave

import pytest

from audio_speech import SENTENCES, needs_espeak, needs_whisper_tiny


def _prompt(audio_name: str) -> dict:
    return {
        "1": {"class_type": "LoadAudio", "inputs": {"audio": audio_name}},
        "2": {"class_type": "PortraitAudioEncoderLoader", "inputs": {"encoder_folder": "whisper-tiny.en", "layout": "auto"}},
        "3": {"class_type": "AudioEncode", "inputs": {"audio": ["1", 0], "audio_encoder": ["2", 0], "fps": 25.0,
                                                      "context_frames": 5, "normalize_loudness": True}},
        "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 2]}},
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["3", 1]}},
    }


@needs_espeak
@needs_whisper_tiny
@pytest.mark.parametrize("voice", sorted(SENTENCES))
def test_speech_in_each_language_gives_one_block_per_video_frame(comfy_host, voice):
    path = comfy_host.input_dir / f"speech_{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), SENTENCES[voice]], check=True, capture_output=True)
    with wave.open(str(path)) as clip:
        seconds = clip.getnframes() / clip.getframerate()
    entry = comfy_host.run_prompt(_prompt(path.name))
    (frame_count,) = [int(out["text"][0]) for out in entry["outputs"].values() if "text" in out]
    assert frame_count == math.ceil(seconds * 25)
