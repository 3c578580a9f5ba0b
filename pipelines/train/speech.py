"""Speech for the synthetic dataset: espeak-ng utterances in several languages and their per-video-frame envelope.

The envelope is what the synthetic face follows (paper 000 §3.2 trains on lip-synced talking heads): `level`, the
frame's loudness mapped to 0..1 below the utterance's peak, and `brightness`, its spectral centroid mapped to 0..1
(low for rounded vowels, high for spread vowels and fricatives). Frame i covers samples [i, i + 1) / fps, and the
frame count is the pack's F = ceil(duration * fps).
Letters: f video frames, t samples.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass

import numpy as np
import torch

from ..audio.frame_alignment import frame_count

#: Words per espeak-ng voice; sentences are drawn from them, phrases split by commas and full stops (pauses).
VOCABULARY = {
    "en": "good morning weather lovely today walk garden river people always think about little house open window "
          "never again music evening friends tomorrow".split(),
    "fr": "bonjour merci beaucoup aujourd'hui maison jardin soleil toujours petit chemin ville amis demain "
          "musique voiture rouge".split(),
    "de": "guten morgen heute wetter schön garten haus immer wieder kleine stadt freunde morgen musik wasser "
          "fenster".split(),
    "es": "hola buenos días hoy tiempo casa jardín siempre pequeño ciudad amigos mañana música agua ventana "
          "camino".split(),
    "it": "buongiorno grazie oggi tempo casa giardino sempre piccolo città amici domani musica acqua finestra "
          "strada".split(),
    "pt": "bom dia obrigado hoje tempo casa jardim sempre pequeno cidade amigos amanhã música água janela".split(),
    "nl": "goedemorgen dank vandaag weer huis tuin altijd klein stad vrienden morgen muziek water raam weg".split(),
    "pl": "dzień dobry dziękuję dzisiaj pogoda dom ogród zawsze mały miasto przyjaciele jutro muzyka woda".split(),
}
#: Sentences in languages the training never hears (held-out audio for benchmarks).
HELD_OUT_SENTENCES = {
    "en": "Could you please tell me where the railway station is? I have been looking for an hour.",
    "fr": "Le chat dort sur le canapé, et la pluie tombe doucement sur la fenêtre.",
    "de": "Wir fahren morgen früh mit dem Zug nach Berlin, um unsere Großeltern zu besuchen.",
    "cmn": "你好，今天天气很好，我们一起去公园散步吧。",
    "ja": "こんにちは、今日はとても良い天気ですね。散歩に行きましょう。",
    "th": "สวัสดีครับ วันนี้อากาศดีมาก ไปเดินเล่นกันไหม",
}
#: dB below the utterance's peak frame loudness that map to level 0 and level 1.
LEVEL_FLOOR_DB = 24.0
LEVEL_HEADROOM_DB = 2.0
#: Spectral-centroid range (Hz) mapped to brightness 0..1.
CENTROID_RANGE_HZ = (400.0, 3400.0)


@dataclass
class SpeechEnvelope:
    """Per-video-frame speech features: level f (0 silence .. 1 loud), brightness f (0..1)."""

    level: torch.Tensor
    brightness: torch.Tensor


@dataclass
class Utterance:
    """One spoken sentence: mono waveform t (float, -1..1), its sample rate, and where it came from."""

    wave: torch.Tensor
    sample_rate: int
    voice: str
    text: str

    def envelope(self, fps: float) -> SpeechEnvelope:
        return speech_envelope(self.wave, self.sample_rate, fps)


def has_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: str, speed: int = 160, pitch: int = 50, gap: int = 0) -> Utterance:
    """espeak-ng speech (Debian package `espeak-ng`): words per minute, pitch 0..99, extra word gap in 10 ms."""
    if not has_espeak():
        raise RuntimeError("espeak-ng is not installed; install the Debian package espeak-ng (make apt)")
    with tempfile.TemporaryDirectory(prefix="gated-portrait-speech-") as folder:
        path = os.path.join(folder, "speech.wav")
        command = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-g", str(gap), "-w", path, text]
        subprocess.run(command, check=True, capture_output=True)
        with wave.open(path) as clip:
            samples = np.frombuffer(clip.readframes(clip.getnframes()), dtype=np.int16)
            rate = clip.getframerate()
    return Utterance(torch.from_numpy(samples.astype(np.float32) / 32768.0), rate, voice, text)


def random_sentence(generator: torch.Generator, voice: str) -> str:
    """Two to four phrases of two to five words of the voice's vocabulary, with commas and full stops between."""
    words = VOCABULARY[voice]
    phrases = []
    for _ in range(int(torch.randint(2, 5, (1,), generator=generator))):
        count = int(torch.randint(2, 6, (1,), generator=generator))
        picks = torch.randint(0, len(words), (count,), generator=generator).tolist()
        phrases.append(" ".join(words[i] for i in picks))
    stops = [", " if float(torch.rand(1, generator=generator)) < 0.5 else ". " for _ in phrases]
    return "".join(p + s for p, s in zip(phrases, stops)).strip()


def random_utterances(count: int, seed: int, voices: tuple[str, ...] = tuple(VOCABULARY)) -> list[Utterance]:
    """`count` random sentences, voices in turn, random speed, pitch and word gap; the same seed gives the same list."""
    generator = torch.Generator().manual_seed(seed)
    utterances = []
    for index in range(count):
        voice = voices[index % len(voices)]
        text = random_sentence(generator, voice)
        speed, pitch, gap = (int(torch.randint(lo, hi, (1,), generator=generator)) for lo, hi in ((120, 200), (20, 80), (0, 6)))
        utterances.append(speak(text, voice, speed, pitch, gap))
    return utterances


def held_out_utterances(voices: tuple[str, ...] = tuple(HELD_OUT_SENTENCES)) -> list[Utterance]:
    """Fixed sentences the training never speaks (cmn, ja, th are languages it never hears)."""
    return [speak(HELD_OUT_SENTENCES[voice], voice) for voice in voices]


def frame_spans(samples: int, sample_rate: int, fps: float) -> list[tuple[int, int]]:
    """Sample span [start, stop) of each video frame (the last one may be short)."""
    frames = frame_count(samples, sample_rate, fps)
    edges = [min(samples, round(i * sample_rate / fps)) for i in range(frames + 1)]
    return [(edges[i], max(edges[i + 1], edges[i] + 1)) for i in range(frames)]


def speech_envelope(wave: torch.Tensor, sample_rate: int, fps: float) -> SpeechEnvelope:
    """Loudness level and spectral brightness of each video frame of a mono waveform t."""
    wave = wave.double()
    loudness, centroids = [], []
    for start, stop in frame_spans(wave.shape[0], sample_rate, fps):
        chunk = wave[start:stop]
        loudness.append(10 * torch.log10(chunk.square().mean() + 1e-10))
        spectrum = torch.fft.rfft(chunk * torch.hann_window(chunk.shape[0], dtype=chunk.dtype)).abs()
        freqs = torch.fft.rfftfreq(chunk.shape[0], 1.0 / sample_rate, dtype=chunk.dtype)
        centroids.append((spectrum * freqs).sum() / (spectrum.sum() + 1e-10))
    db = torch.stack(loudness)
    top = torch.quantile(db, 0.95) - LEVEL_HEADROOM_DB
    level = ((db - (top - LEVEL_FLOOR_DB)) / LEVEL_FLOOR_DB).clamp(0, 1)
    low, high = CENTROID_RANGE_HZ
    brightness = ((torch.stack(centroids) - low) / (high - low)).clamp(0, 1) * (level > 0).double()
    return SpeechEnvelope(level.float(), brightness.float())
