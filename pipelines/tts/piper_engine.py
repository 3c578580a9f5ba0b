"""Piper neural voices (`piper-tts`, ONNX on the CPU): a <voice>.onnx with its <voice>.onnx.json. The model is
patched in memory to also output each phoneme's sample count (needs the `onnx` package), which gives the timeline.
Letters: t samples."""

from __future__ import annotations

import functools
import json
import os
import unicodedata

import numpy as np

from ..errors import PortraitInputError
from .timeline import PAUSE

#: Piper's begin / end / padding symbols and the word gap: silence in the timeline, like punctuation.
SILENT_SYMBOLS = {"^", "$", "_", " "}
#: Keys every Piper voice config has.
CONFIG_KEYS = ("audio", "phoneme_id_map", "espeak")


def read_voice_config(model_path: str) -> dict:
    """The <voice>.onnx.json beside `model_path`; PortraitInputError naming `voice` when it is not a Piper voice."""
    name = os.path.basename(model_path)
    config_path = model_path + ".json"
    fix = (f"put the Piper voice's {name}.json (from the same download as {name}) beside it in ComfyUI/models/tts, "
           "or choose another voice")
    if not os.path.isfile(config_path):
        raise PortraitInputError("voice", f"{name} has no {name}.json beside it, so it is not a Piper voice", fix)
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PortraitInputError("voice", f"{name}.json is not JSON ({error})", fix) from None
    missing = [key for key in CONFIG_KEYS if not isinstance(config, dict) or key not in config]
    if missing:
        raise PortraitInputError("voice", f"{name}.json is not a Piper voice config (no {', '.join(missing)})", fix)
    return config


def voice_language(config: dict) -> str:
    """The voice's espeak-ng language (e.g. 'en-us')."""
    return str(config["espeak"].get("voice", "")).lower()


class PiperEngine:
    """Speaks sentences with one Piper voice; speed is a factor of the voice's own pace."""

    def __init__(self, voice, speed: float = 1.0):
        from piper import SynthesisConfig

        self.voice = voice
        self.sample_rate = int(voice.config.sample_rate)
        self.synthesis = SynthesisConfig(length_scale=voice.config.length_scale / speed)

    def speak(self, sentence: str) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
        """One sentence -> (int16 samples t, its (phoneme, start s, end s) segments)."""
        waves, segments, chunk_start = [], [], 0
        for chunk in self.voice.synthesize(sentence, self.synthesis, include_alignments=True):
            samples = chunk.audio_int16_array
            alignments = chunk.phoneme_alignments or []
            position = chunk_start
            for alignment in alignments:
                end = position + int(alignment.num_samples)
                segments.append((timeline_symbol(alignment.phoneme), position / self.sample_rate,
                                 end / self.sample_rate))
                position = end
            if not alignments:  # alignment failed for this chunk: one pause keeps the timeline contiguous
                segments.append((PAUSE, chunk_start / self.sample_rate, (chunk_start + len(samples)) / self.sample_rate))
            waves.append(samples)
            chunk_start += len(samples)
        wave = np.concatenate(waves) if waves else np.zeros(0, np.int16)
        return wave, segments


def timeline_symbol(phoneme: str) -> str:
    """Piper's phoneme -> the timeline's symbol: its begin/end/gap marks and punctuation are pauses."""
    return PAUSE if phoneme in SILENT_SYMBOLS or unicodedata.category(phoneme[:1] or " ")[0] in "PZ" else phoneme


@functools.lru_cache(maxsize=2)
def _cached_voice(model_path: str, modified: float):
    from piper import PiperVoice

    return PiperVoice.load(model_path, include_alignments=True)


def load_piper_engine(model_path: str, speed: float = 1.0, language: str | None = None) -> PiperEngine:
    """A PiperEngine for the voice at `model_path` (its config checked first; the loaded voice is kept for the next
    call until the file changes). With `language`, PortraitInputError unless the voice speaks it (primary subtag)."""
    spoken = voice_language(read_voice_config(model_path))
    if language is not None and language.strip().lower().split("-")[0] != spoken.split("-")[0]:
        name = os.path.basename(model_path)
        raise PortraitInputError("language", f"the Piper voice {name} speaks '{spoken}', not '{language}'",
                                 f"set language to {spoken}, or choose espeak-ng or a Piper voice of that language")
    try:
        voice = _cached_voice(model_path, os.path.getmtime(model_path))
    except Exception as error:  # onnxruntime's errors for a file that is not an ONNX voice model
        raise PortraitInputError("voice", f"{os.path.basename(model_path)} could not be loaded as a Piper voice "
                                 f"({type(error).__name__}: {str(error)[:200]})",
                                 "use a Piper voice .onnx (e.g. from rhasspy/piper-voices) with its .onnx.json") from None
    return PiperEngine(voice, speed)
