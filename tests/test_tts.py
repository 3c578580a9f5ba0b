"""Text to speech: sentence splitting, the espeak-ng and Piper engines and the timeline they fill, subtitles, and
the errors for bad text, languages and voice files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audio_speech import needs_espeak
from pipelines.errors import PortraitInputError
from pipelines.tts import EspeakEngine, PAUSE, PhonemeTimeline, load_piper_engine, split_sentences, srt_text, synthesize
from pipelines.tts import espeak_engine
from pipelines.tts.sample_texts import SAMPLE_SENTENCES
from pipelines.tts.sentences import MAX_SENTENCE_CHARS
from tts_voices import PIPER_VOICE, needs_piper_voice


def assert_contiguous(timeline: PhonemeTimeline, seconds: float) -> None:
    starts = np.array([p.start for p in timeline.phonemes])
    ends = np.array([p.end for p in timeline.phonemes])
    assert starts[0] == 0.0 and np.all(ends > starts)
    np.testing.assert_allclose(starts[1:], ends[:-1], atol=1e-9)
    assert abs(timeline.end - seconds) < 0.05


def test_text_splits_at_sentence_ends_and_long_sentences_at_commas():
    assert split_sentences("Hello there.  How are you?\nFine!") == ["Hello there.", "How are you?", "Fine!"]
    assert split_sentences("Line one\nstill   one. Two") == ["Line one still one.", "Two"]
    assert split_sentences("你好。今天天气很好！") == ["你好。", "今天天气很好！"]
    assert split_sentences("One.\n\nTwo without a stop\n\n...") == ["One.", "Two without a stop"]
    long = ", ".join(["word " * 10] * 20)
    pieces = split_sentences(long)
    assert len(pieces) > 1 and all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert " ".join(pieces).split() == long.split()


@pytest.mark.parametrize("text, problem", [("", "empty"), ("   \n\t", "empty"), ("?! ... -- ,,", "punctuation")])
def test_empty_or_punctuation_only_text_names_the_text_input(text, problem):
    with pytest.raises(PortraitInputError) as error:
        split_sentences(text)
    assert error.value.input_name == "text" and problem in error.value.problem


@needs_espeak
def test_espeak_speaks_ten_languages_and_the_timeline_ends_with_the_audio():
    for language, sentence in list(SAMPLE_SENTENCES.items())[:10]:
        speech = synthesize(EspeakEngine(language), f"{sentence} {sentence}")
        assert speech.seconds > 1.0, language
        assert_contiguous(speech.timeline, speech.seconds)
        assert len(speech.timeline.spoken()) > 15, language
        assert len(speech.timeline.sentences) == 2 and speech.timeline.sentences[1].start > 0.5
        assert float(speech.wave.abs().max()) > 0.1


@needs_espeak
def test_espeak_speed_shortens_the_speech_and_pitch_raises_it():
    from pipelines.voice.prosody import measure_prosody

    text = SAMPLE_SENTENCES["en-us"]
    normal, fast = synthesize(EspeakEngine("en-us"), text), synthesize(EspeakEngine("en-us", speed=2.0), text)
    assert fast.seconds < 0.65 * normal.seconds
    high = synthesize(EspeakEngine("en-us", pitch=90), text)
    f0 = [measure_prosody(s.wave.numpy(), s.sample_rate).f0_median_hz for s in (normal, high)]
    assert f0[1] > 1.2 * f0[0]


@needs_espeak
def test_a_bare_language_code_picks_one_of_its_regional_voices():
    english = synthesize(EspeakEngine("en"), "Good morning.")
    assert english.seconds > 0.5 and len(english.timeline.spoken()) > 5


@needs_espeak
@pytest.mark.parametrize("language", ["klingon", "xx-yy", ""])
def test_unknown_language_names_the_language_input(language):
    with pytest.raises(PortraitInputError) as error:
        EspeakEngine(language)
    assert error.value.input_name == "language" and "espeak-ng --voices" in error.value.fix


def test_missing_espeak_library_names_the_install_command(monkeypatch):
    espeak_engine._library.cache_clear()
    espeak_engine.espeak_languages.cache_clear()
    monkeypatch.setattr(espeak_engine.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(espeak_engine.ctypes, "CDLL", lambda path: (_ for _ in ()).throw(OSError(path)))
    try:
        with pytest.raises(PortraitInputError) as error:
            EspeakEngine("en-us")
        assert "apt-get install espeak-ng" in str(error.value)
    finally:
        monkeypatch.undo()
        espeak_engine._library.cache_clear()
        espeak_engine.espeak_languages.cache_clear()


def test_subtitles_give_one_cue_per_sentence_from_its_first_to_its_last_phoneme():
    timeline = PhonemeTimeline()
    timeline.append_sentence("Hi there.", [(PAUSE, 0.0, 0.25), ("h", 0.25, 0.5), ("a", 0.5, 1.0), (PAUSE, 1.0, 1.5)])
    timeline.append_sentence("Bye.", [(PAUSE, 0.0, 0.5), ("b", 0.5, 3661.0)])
    assert [p.symbol for p in timeline.phonemes] == [PAUSE, "h", "a", PAUSE, "b"]  # the pauses between merged
    assert srt_text(timeline) == ("1\n00:00:00,250 --> 00:00:01,000\nHi there.\n\n"
                                  "2\n00:00:02,000 --> 01:01:02,500\nBye.\n")


@needs_piper_voice
def test_piper_voice_speaks_english_with_phoneme_alignments():
    engine = load_piper_engine(PIPER_VOICE)
    speech = synthesize(engine, "Hello world. This is the portrait speaking, with a neural voice!")
    assert speech.sample_rate == 22050 and 2.0 < speech.seconds < 8.0
    assert_contiguous(speech.timeline, speech.seconds)
    symbols = "".join(p.symbol for p in speech.timeline.spoken())
    assert "h" in symbols and "w" in symbols and "ð" in symbols
    assert len(speech.timeline.sentences) == 2


@needs_piper_voice
def test_a_piper_voice_refuses_another_language_and_takes_its_own():
    with pytest.raises(PortraitInputError) as error:
        load_piper_engine(PIPER_VOICE, language="fr-fr")
    assert error.value.input_name == "language" and "en-us" in error.value.fix
    assert load_piper_engine(PIPER_VOICE, language="en").sample_rate == 22050


def test_a_file_that_is_not_a_piper_voice_names_the_voice_input(tmp_path):
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"not a model")
    with pytest.raises(PortraitInputError) as error:
        load_piper_engine(str(model))
    assert error.value.input_name == "voice" and "no broken.onnx.json" in error.value.problem
    (tmp_path / "broken.onnx.json").write_text(json.dumps({"audio": {"sample_rate": 22050}}))
    with pytest.raises(PortraitInputError) as error:
        load_piper_engine(str(model))
    assert "phoneme_id_map" in error.value.problem
    (tmp_path / "broken.onnx.json").write_text(json.dumps({"audio": {}, "phoneme_id_map": {}, "espeak": {}}))
    with pytest.raises(PortraitInputError) as error:
        load_piper_engine(str(model))
    assert error.value.input_name == "voice" and "could not be loaded" in error.value.problem


class CountingEngine:
    """A stand-in engine: each sentence is 0.5 s of a constant level, one phoneme per word."""

    sample_rate = 8000

    def __init__(self):
        self.spoken = []

    def speak(self, sentence):
        self.spoken.append(sentence)
        words = sentence.split()
        step = 0.5 / len(words)
        return (np.full(4000, 1000, np.int16),
                [(word, index * step, (index + 1) * step) for index, word in enumerate(words)])


def test_sentences_are_spoken_one_by_one_with_progress_conversion_and_cancel():
    engine, reports = CountingEngine(), []
    speech = synthesize(engine, "One two. Three four five! Six.", convert=lambda wave, rate: wave * 2,
                        on_sentence=lambda done, total: reports.append((done, total)))
    assert engine.spoken == ["One two.", "Three four five!", "Six."] and reports == [(1, 3), (2, 3), (3, 3)]
    assert speech.seconds == 1.5 and speech.timeline.end == 1.5
    assert [s.start for s in speech.timeline.sentences] == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(speech.wave.numpy(), 2000 / 32768, rtol=1e-4)

    def cancel(done, total):
        raise InterruptedError

    engine = CountingEngine()
    with pytest.raises(InterruptedError):
        synthesize(engine, "One. Two. Three.", on_sentence=cancel)
    assert engine.spoken == ["One."]
