"""Real speech for audio tests: espeak-ng (Debian package `espeak-ng`) sentences in several languages."""

from __future__ import annotations

import os
import shutil
import subprocess
import wave

import numpy as np
import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The converted real Whisper tiny.en folder (`python -m scripts.convert_whisper_tiny`, run by make install).
WHISPER_TINY_EN = os.environ.get(
    "GATED_PORTRAIT_WHISPER_TINY", os.path.join(REPO_ROOT, "models", "audio_encoders", "whisper-tiny.en")
)
#: espeak-ng voice -> a sentence in that language.
SENTENCES = {
    "en": "Good morning, the weather is lovely today, shall we take a walk?",
    "cmn": "你好，今天天气很好，我们一起去公园散步吧。",
    "ja": "こんにちは、今日はとても良い天気ですね。",
    "fr": "Bonjour, je m'appelle Marie et j'habite à Paris depuis dix ans.",
    "th": "สวัสดีครับ วันนี้อากาศดีมาก ไปเดินเล่นกันไหม",
}

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt)")
needs_whisper_tiny = pytest.mark.skipif(
    not os.path.isfile(os.path.join(WHISPER_TINY_EN, "model.safetensors")),
    reason=f"no converted Whisper tiny.en at {WHISPER_TINY_EN}: run python -m scripts.convert_whisper_tiny",
)


def speak(text: str, voice: str, folder: str) -> tuple[torch.Tensor, int]:
    """espeak-ng speech as ComfyUI-style audio: waveform 1 1 t (float, -1..1) and its sample rate."""
    path = os.path.join(folder, f"{voice}.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", path, text], check=True, capture_output=True)
    with wave.open(path) as clip:
        samples = np.frombuffer(clip.readframes(clip.getnframes()), dtype=np.int16)
        rate = clip.getframerate()
    return torch.from_numpy(samples.astype(np.float32) / 32768.0)[None, None], rate


def cut_wav(source: str, target: str, seconds: float) -> None:
    """The first `seconds` of a WAV file as a new WAV file (same format); 0 s gives a valid file without samples."""
    with wave.open(str(source)) as clip:
        params = clip.getparams()
        samples = clip.readframes(round(seconds * clip.getframerate()))
    with wave.open(str(target), "wb") as out:
        out.setparams(params)
        out.writeframes(samples)
