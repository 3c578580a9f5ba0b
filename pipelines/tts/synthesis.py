"""Long text -> speech, one sentence at a time: each sentence is spoken (and optionally converted) on its own and
kept as int16 until the end, so memory grows with the audio only, never with a sentence's working set.
Letters: t samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
import torch

from .sentences import split_sentences
from .timeline import PhonemeTimeline

INT16_SCALE = 32768.0


class SpeechEngine(Protocol):
    sample_rate: int

    def speak(self, sentence: str) -> tuple[np.ndarray, list[tuple[str, float, float]]]: ...


@dataclass
class SynthesizedSpeech:
    """Mono speech t (float32, -1..1), its sample rate and phoneme timeline."""

    wave: torch.Tensor
    sample_rate: int
    timeline: PhonemeTimeline

    @property
    def seconds(self) -> float:
        return self.wave.shape[-1] / self.sample_rate


def synthesize(
    engine: SpeechEngine,
    text: str,
    convert: Callable[[np.ndarray, int], np.ndarray] | None = None,
    on_sentence: Callable[[int, int], None] | None = None,
) -> SynthesizedSpeech:
    """Speak `text` sentence by sentence. `convert(float wave t, rate) -> float wave t` (same length) changes each
    sentence's voice; `on_sentence(done, total)` runs after each sentence (progress, and raises to cancel)."""
    sentences = split_sentences(text)
    timeline, pieces = PhonemeTimeline(), []
    for index, sentence in enumerate(sentences):
        samples, segments = engine.speak(sentence)
        if convert is not None and len(samples):
            converted = convert(samples.astype(np.float32) / INT16_SCALE, engine.sample_rate)
            samples = np.clip(np.round(converted * INT16_SCALE), -INT16_SCALE, INT16_SCALE - 1).astype(np.int16)
        pieces.append(samples)
        timeline.append_sentence(sentence, segments)
        if on_sentence is not None:
            on_sentence(index + 1, len(sentences))
    wave = torch.empty(sum(len(piece) for piece in pieces), dtype=torch.float32)
    position = 0
    while pieces:
        piece = pieces.pop(0)
        wave[position:position + len(piece)] = torch.from_numpy(piece.astype(np.float32) / INT16_SCALE)
        position += len(piece)
    return SynthesizedSpeech(wave, engine.sample_rate, timeline)
