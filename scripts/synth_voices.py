"""Synthetic speakers for the voice-to-face projection fit and benchmark: espeak-ng voice variants and flite voices
(Debian packages `espeak-ng`, `flite`), run as programs, Piper voices (piper-tts, models/tts), and Praat's
overlap-add resynthesis at a set pitch.

A speaker is "engine:voice" ("espeak:en+m3", "flite:slt", "piper:en_US-joe-medium"). The tuning speakers fit the
projection and chose its settings (scripts/fit_voice_projection.py); the evaluation speakers and sentences
(bench/voice_face.py) share none of them.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import wave

import numpy as np
import parselmouth
from parselmouth.praat import call
from piper import PiperVoice, SynthesisConfig

#: Where the pack keeps Piper voices (<name>.onnx and <name>.onnx.json).
PIPER_FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "tts")
#: Piper samples noise inside its model; without it a text always gives the same speech.
PIPER_SETTINGS = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

#: Tuning speakers fit the projection and choose its settings: the first round's tuning and evaluation speakers
#: (espeak-ng English variants, flite), the second round's held-out speakers (other variants with other languages'
#: pronunciation rules, Piper's en_US-joe-medium) and earlier variants with still other languages' rules.
TUNING_SPEAKERS = [f"espeak:en+{variant}" for variant in (
    "m1", "m2", "m3", "m4", "f1", "f2", "klatt", "klatt2", "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie",
    "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "Denis", "Diogo", "ed",
    "m5", "m6", "m7", "m8", "f3", "f4", "f5", "klatt3", "edward", "Gene", "gustave", "Henrique", "Hugo", "iven",
    "Jacky", "john", "linda", "marcelo", "max", "michel")]
TUNING_SPEAKERS += [f"flite:{voice}" for voice in ("kal", "awb", "rms", "slt")]
TUNING_SPEAKERS += [f"espeak:{language}+{variant}" for language, variant in (
    ("de", "Lee"), ("fr", "Marco"), ("es", "Mario"), ("it", "Michael"), ("pt", "miguel"), ("nl", "Mike"),
    ("pl", "Nguyen"), ("sv", "pablo"), ("cs", "paul"), ("ro", "pedro"), ("hu", "quincy"), ("fi", "rob"),
    ("da", "robert"), ("nb", "steph"), ("sk", "Storm"), ("hr", "zac"), ("id", "anika"), ("de", "grandma"),
    ("fr", "grandpa"), ("es", "norbert"), ("it", "sandro"), ("pt", "shelby"), ("nl", "travis"), ("pl", "victor"))]
TUNING_SPEAKERS += ["piper:en_US-joe-medium"]
TUNING_SPEAKERS += [f"espeak:{language}+{variant}" for language, variant in (
    ("eo", "m1"), ("la", "f2"), ("mt", "klatt"), ("sq", "Alex"), ("bs", "Andrea"), ("az", "boris"), ("uz", "david"),
    ("tk", "Denis"), ("ht", "ed"), ("gd", "Gene"), ("lb", "Hugo"), ("ia", "john"), ("kl", "linda"), ("hi", "max"),
    ("cmn", "michel"), ("eo", "Lee"), ("la", "Marco"), ("mt", "anika"), ("sq", "grandma"), ("bs", "victor"),
    ("az", "f4"), ("uz", "m7"), ("ht", "belinda"), ("gd", "Annie"))]
#: Held-out speakers, read only by bench/voice_face.py after the settings were frozen: espeak-ng variants no earlier
#: round used, each with the pronunciation rules of a language no tuning speaker uses.
EVALUATION_SPEAKERS = [f"espeak:{language}+{variant}" for language, variant in (
    ("ru", "edward2"), ("uk", "Gene2"), ("bg", "iven2"), ("el", "iven3"), ("tr", "iven4"), ("lt", "kaukovalta"),
    ("lv", "RicishayMax"), ("et", "RicishayMax2"), ("sl", "RicishayMax3"), ("sr", "steph2"), ("ca", "steph3"),
    ("eu", "klatt4"), ("is", "klatt6"), ("ga", "AnxiousAndy"), ("cy", "croak"), ("vi", "Mr"), ("ms", "Tweaky"),
    ("sw", "robosoft"), ("af", "anikaRobot"), ("ka", "robosoft2"), ("mk", "robosoft3"), ("ka", "klatt5"))]
TUNING_SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank, then runs back into the dark forest.",
    "She sells sea shells by the sea shore every summer morning, while her brother fixes the old boat.",
    "Please call Stella and ask her to bring these things with her from the store tomorrow afternoon.",
    "A large bowl of warm soup is the best thing on a cold winter evening after a long walk home.",
    "Our train leaves at seven, so we should pack tonight and leave the keys with the neighbours.",
    "The museum opened a new hall of old maps, and the guide told us how sailors drew the coast.",
    "When the rain stopped, the children ran outside to jump in the puddles and chase the ducks.",
    "My uncle keeps bees behind his barn, and every autumn he gives us a jar of dark honey.",
    "The bus was late again, so I walked along the canal and counted the boats tied to the wall.",
    "If you water the tomatoes every evening, they will be ripe before the end of the month.",
    "Nobody knew who had painted the bridge blue, but the whole town liked it better that way.",
    "The baker on the corner opens at five, and the smell of fresh bread fills the whole street.",
]
EVALUATION_SENTENCES = [
    "Last winter the lake froze so hard that people drove their cars across it to the island.",
    "The old clock in the hall stopped at midnight, and nobody in the house has wound it since.",
    "We planted a row of apple trees along the fence, and this year they gave their first fruit.",
    "The doctor told him to rest his knee for a week, but he was back on the football field in three days.",
    "Her grandmother wrote letters every Sunday, and she kept all of them in a wooden box under the bed.",
    "The radio said a storm was coming from the west, so the fishermen pulled their boats onto the sand.",
    "At the market we bought cheese, olives and a loaf of bread, then ate lunch on the steps of the church.",
    "The library will stay open late on Thursdays, so students can finish their work before the exams.",
    "He fixed the roof himself, climbing the ladder each morning before the sun made the tiles too hot.",
]
#: A paragraph is this many consecutive sentences read as one utterance (the length of a voice-over).
SENTENCES_PER_PARAGRAPH = 3


def paragraphs(sentences: list[str]) -> list[str]:
    """Consecutive groups of SENTENCES_PER_PARAGRAPH sentences, each joined into one text."""
    return [" ".join(sentences[start:start + SENTENCES_PER_PARAGRAPH])
            for start in range(0, len(sentences) - SENTENCES_PER_PARAGRAPH + 1, SENTENCES_PER_PARAGRAPH)]


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
        if engine == "piper":
            piper_voice = PiperVoice.load(os.path.join(PIPER_FOLDER, f"{voice}.onnx"))
            with wave.open(path, "wb") as clip:
                piper_voice.synthesize_wav(text, clip, syn_config=PIPER_SETTINGS)
            return read_wav(path)
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
