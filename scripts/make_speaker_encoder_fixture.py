"""Write tests/fixtures/speaker_encoder_parity.safetensors: Resemblyzer 0.1.4's own mels and embeddings of espeak-ng
speech, so tests compare the pack's GE2E encoder with the release without needing Resemblyzer.

Run it in a throwaway venv that has resemblyzer 0.1.4 (with librosa and webrtcvad) and torch; the suite never runs
it. The file holds, per utterance: the 16 kHz waveform, the release's mel frames of the raw waveform, its embedding
of the raw waveform (`embed_utterance`) and of the prepared one (`preprocess_wav` first: level and pauses).

    python scripts/make_speaker_encoder_fixture.py OUT.safetensors
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from importlib.metadata import version

import librosa
import numpy as np
import torch
from resemblyzer import VoiceEncoder, preprocess_wav
from resemblyzer.audio import wav_to_mel_spectrogram
from safetensors.torch import save_file

#: (espeak-ng voice, text, gain): a quiet utterance shows the level step, the pause one the pause cut.
UTTERANCES = [
    ("en+m3", "The quick brown fox jumps over the lazy dog near the river bank.", 1.0),
    ("en+f2", "She sells sea shells by the sea shore. [[_:::::::::]] Every single summer morning.", 1.0),
    ("de", "Guten Morgen, wie geht es Ihnen heute?", 0.05),
]


def espeak(voice: str, text: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        subprocess.run(["espeak-ng", "-v", voice, "-g", "20", "-w", wav.name, text], check=True)
        samples, _ = librosa.load(wav.name, sr=16000)
    return samples.astype(np.float32)


def main(out: str) -> None:
    encoder = VoiceEncoder(device="cpu", verbose=False)
    tensors = {}
    for index, (voice, text, gain) in enumerate(UTTERANCES):
        wave = espeak(voice, text) * gain
        tensors[f"{index}.wave"] = torch.from_numpy(wave)
        tensors[f"{index}.mels"] = torch.from_numpy(np.ascontiguousarray(wav_to_mel_spectrogram(wave)))
        tensors[f"{index}.embedding_raw"] = torch.from_numpy(encoder.embed_utterance(wave))
        tensors[f"{index}.embedding_prepared"] = torch.from_numpy(encoder.embed_utterance(preprocess_wav(wave)))
    save_file(tensors, out, metadata={"resemblyzer": version("resemblyzer"), "librosa": version("librosa"),
                                      "voices": ",".join(voice for voice, _, _ in UTTERANCES)})


if __name__ == "__main__":
    main(sys.argv[1])
