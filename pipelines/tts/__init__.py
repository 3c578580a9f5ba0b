"""Text to speech: sentence splitting, the espeak-ng and Piper engines, and the phoneme timeline they fill."""

from .espeak_engine import EspeakEngine, espeak_languages
from .piper_engine import PiperEngine, load_piper_engine
from .sentences import split_sentences
from .subtitles import srt_text
from .synthesis import SynthesizedSpeech, synthesize
from .timeline import PAUSE, Phoneme, PhonemeTimeline, SentenceSpan

__all__ = [
    "EspeakEngine", "espeak_languages", "PiperEngine", "load_piper_engine", "split_sentences", "srt_text", "SynthesizedSpeech",
    "synthesize", "PAUSE", "Phoneme", "PhonemeTimeline", "SentenceSpan",
]
