"""Synthetic speakers for the voice-to-face projection fit and benchmark: espeak-ng voice variants and flite voices
(Debian packages `espeak-ng`, `flite`), run as programs, and Praat's overlap-add resynthesis at a set pitch.

A speaker is "engine:voice" ("espeak:en+m3", "flite:slt"). The tuning speakers fit the projection
(scripts/fit_voice_projection.py); the evaluation speakers and sentences (bench/voice_face.py) share none of them.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import wave

import numpy as np
import parselmouth
from parselmouth.praat import call

TUNING_SPEAKERS = [f"espeak:en+{variant}" for variant in (
    "m1", "m2", "m3", "m4", "f1", "f2", "klatt", "klatt2", "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie",
    "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "Denis", "Diogo", "ed")]
EVALUATION_SPEAKERS = [f"espeak:en+{variant}" for variant in (
    "m5", "m6", "m7", "m8", "f3", "f4", "f5", "klatt3", "edward", "Gene", "gustave", "Henrique", "Hugo", "iven",
    "Jacky", "john", "linda", "marcelo", "max", "michel")] + [f"flite:{voice}" for voice in ("kal", "awb", "rms", "slt")]
TUNING_SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank, then runs back into the dark forest.",
    "She sells sea shells by the sea shore every summer morning, while her brother fixes the old boat.",
    "Please call Stella and ask her to bring these things with her from the store tomorrow afternoon.",
    "A large bowl of warm soup is the best thing on a cold winter evening after a long walk home.",
]
EVALUATION_SENTENCES = [
    "Our train leaves at seven, so we should pack tonight and leave the keys with the neighbours.",
    "The museum opened a new hall of old maps, and the guide told us how sailors drew the coast.",
    "When the rain stopped, the children ran outside to jump in the puddles and chase the ducks.",
]


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV -> (float samples t in -1..1, sample rate)."""
    with wave.open(path) as clip:
        samples = np.frombuffer(clip.readframes(clip.getnframes()), dtype=np.int16)
        return samples.astype(np.float32) / 32768.0, clip.getframerate()


def speak(speaker: str, text: str) -> tuple[np.ndarray, int]:
    """`text` in the voice of "engine:voice" -> (float samples t, sample rate)."""
    engine, voice = speaker.split(":", 1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "speech.wav")
        command = {"espeak": ["espeak-ng", "-v", voice, "-w", path, text],
                   "flite": ["flite", "-voice", voice, "-t", text, "-o", path]}[engine]
        subprocess.run(command, check=True, capture_output=True)
        return read_wav(path)


def at_pitch(wave_samples: np.ndarray, sample_rate: int, pitch_hz: float) -> np.ndarray:
    """Speech t resynthesised (Praat PSOLA) with a flat pitch of `pitch_hz` over its voiced parts, t."""
    sound = parselmouth.Sound(np.asarray(wave_samples, dtype=np.float64), sampling_frequency=sample_rate)
    manipulation = call(sound, "To Manipulation", 0.01, 60.0, 600.0)
    flat = call("Create PitchTier", "flat", sound.xmin, sound.xmax)
    call(flat, "Add point", (sound.xmin + sound.xmax) / 2, pitch_hz)
    call([flat, manipulation], "Replace pitch tier")
    return np.asarray(call(manipulation, "Get resynthesis (overlap-add)").values[0], dtype=np.float32)
