"""espeak-ng through its C library (`libespeak-ng`, Debian package espeak-ng): 100+ languages, speed and pitch, and
a phoneme event (IPA name, start in ms) for every phoneme it speaks. Letters: t samples."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading

import numpy as np

from ..errors import PortraitInputError
from .timeline import PAUSE, segments_from_starts

INSTALL_FIX = ("install espeak-ng: `sudo apt-get install espeak-ng` (macOS: `brew install espeak-ng`), then restart "
               "ComfyUI; or choose a Piper voice")
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_PHONEME_IPA = 0x0002
POS_CHARACTER = 1
CHARS_UTF8 = 1
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
PARAMETER_RATE = 1
PARAMETER_PITCH = 3
#: Words per minute at speed 1: the middle of the rates the demo model's espeak-ng training speech was spoken at
#: (120-200 wpm, pipelines/train/speech.py), below espeak-ng's own default of 175 (README: Text to talking face).
DEFAULT_WPM = 160
RATE_RANGE = (80, 450)

_LOCK = threading.Lock()  # the library holds one global voice and callback


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@functools.lru_cache(maxsize=1)
def _library() -> tuple[ctypes.CDLL, int]:
    """The initialised library and its sample rate; PortraitInputError with the install command when missing."""
    path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        library = ctypes.CDLL(path)
    except OSError:
        raise PortraitInputError("voice", "espeak-ng is not installed (its library libespeak-ng was not found)",
                                 INSTALL_FIX) from None
    library.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    library.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
    rate = library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                     INITIALIZE_PHONEME_EVENTS | INITIALIZE_PHONEME_IPA)
    if rate <= 0:
        raise PortraitInputError("voice", "espeak-ng is installed but its data was not found", INSTALL_FIX)
    return library, rate


@functools.lru_cache(maxsize=1)
def espeak_languages() -> tuple[str, ...]:
    """The language codes espeak-ng speaks (e.g. 'en', 'en-us', 'fr-fr', 'cmn'), sorted."""
    library, _ = _library()
    voices = library.espeak_ListVoices(None)
    codes, index = set(), 0
    while voices[index]:
        languages = voices[index].contents.languages  # priority byte, name, NUL, ...: the first name is the main
        if languages:
            codes.add(languages[1:].decode("utf-8", "replace"))
        index += 1
    return tuple(sorted(codes))


class EspeakEngine:
    """Speaks sentences in one espeak-ng language; speed is a factor of the default rate, pitch 0..99 (50 usual)."""

    def __init__(self, language: str, speed: float = 1.0, pitch: int = 50):
        library, self.sample_rate = _library()
        self.language = language.strip().lower()
        known = espeak_languages()
        if self.language not in known and not any(code.startswith(self.language + "-") for code in known):
            raise PortraitInputError(
                "language", f"espeak-ng does not know the language '{language}'",
                "use one of its codes, e.g. en, en-us, fr-fr, de, es, cmn, ja, hi (all: `espeak-ng --voices`)",
            )
        self.words_per_minute = int(np.clip(round(DEFAULT_WPM * speed), *RATE_RANGE))
        self.pitch = int(np.clip(pitch, 0, 99))
        self._library = library

    def speak(self, sentence: str) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
        """One sentence -> (int16 samples t, its (phoneme, start s, end s) segments)."""
        chunks, symbols, starts = [], [], []

        def collect(samples, count, events) -> int:
            if count > 0:
                chunks.append(np.ctypeslib.as_array(samples, (count,)).copy())
            index = 0
            while events[index].type != EVENT_LIST_TERMINATED:
                event = events[index]
                if event.type == EVENT_PHONEME:
                    name = event.id.string.decode("utf-8", "replace")
                    symbols.append(PAUSE if not name or name.startswith("(") else name)  # "(en)": language switch
                    starts.append(event.audio_position / 1000.0)
                index += 1
            return 0

        callback = _CALLBACK(collect)
        encoded = sentence.encode("utf-8")
        with _LOCK:
            self._library.espeak_SetSynthCallback(callback)
            if self._library.espeak_SetVoiceByProperties(ctypes.byref(_Voice(languages=self.language.encode()))):
                raise PortraitInputError("language", f"espeak-ng could not select '{self.language}'",
                                         "use another code from `espeak-ng --voices`")
            self._library.espeak_SetParameter(PARAMETER_RATE, self.words_per_minute, 0)
            self._library.espeak_SetParameter(PARAMETER_PITCH, self.pitch, 0)
            self._library.espeak_Synth(encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            self._library.espeak_Synchronize()
        wave = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return wave, segments_from_starts(symbols, starts, len(wave) / self.sample_rate)
