"""Text to speech: languages, timeline accuracy, memory on long texts, voice matching, and how well the speech
drives the demo model's mouth.

- languages / duration_error_ms_max: every sentence of pipelines.tts.sample_texts through espeak-ng (twice, two
  sentences) and one English text through the Piper voice; error = |audio seconds - timeline end|.
- rss_mb_1min / rss_mb_20min: peak RSS (VmHWM) of a fresh process (`--rss-minutes N`) that imports the pack's TTS
  and speaks about N minutes of English text with espeak-ng (sentence by sentence, as the node does); the peak
  before speaking is given too.
- voice_match: (source, target) pairs. Sources: the pack's engines (espeak-ng en-us, Piper en_US-joe-medium) speaking
  TEST_TEXT. Targets: a profile from PROFILE_TEXT spoken by the target voice; cosine = GE2E cosine of the source
  (before) / matched speech (after) to the target speaking TEST_TEXT (another utterance than the profile's); f0_error
  = |matched F0 median / target F0 median - 1|. Matching is TextToSpeech's: VoiceMatcher searches MatchSettings
  (formant scale, F0 range scale, equalisation strength) for the closest GE2E cosine to the PROFILE's embedding
  (cosine_to_profile_after, `settings`), never to the reference. `held_out` targets were never looked at while the
  matching was designed; `tuning` targets were (the spectrum equalisation and the search's grids were chosen on
  them, then frozen before the held-out pairs ran). The summary gives the held-out mean also without flite kal,
  whose 8 kHz audio has nothing above 4 kHz to equalise.
- lipsync_by_speech: bench.quality's lipsync_corr (mouth opening vs loudness level, held-out person, demo model,
  Whisper tiny.en) on the held-out sentences in en / fr / de: `training` = espeak-ng speech made as the training
  speech is (pipelines.train.speech.speak), the others = the same sentences through TextToSpeech's engines.
  lipsync_english_variants: the English sentence in variants that could explain a gap (rate, loudness, spectrum,
  synthesis noise), three held-out persons each.

- cpu_timing_10s_text: seconds per stage for about 10 s of speech on this machine's CPU, one thread.

Run from the repository root: .venv/bin/python -m bench.tts [--frames 60 --steps 10] [--voice-match-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from statistics import mean

import numpy as np
import torch

from bench.report import report
from pipelines.tts import EspeakEngine, load_piper_engine, synthesize
from pipelines.tts.sample_texts import SAMPLE_SENTENCES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPER_VOICE = os.path.join(REPO_ROOT, "models", "tts", "en_US-joe-medium.onnx")
PROFILE_TEXT = ("The old lighthouse keeper climbed the stairs every evening. He watched the ships pass slowly "
                "through the fog, and wrote their names in a small book.")
TEST_TEXT = "Please remember to close the windows before you leave the house tonight."
RSS_TEXT = ("Yesterday we walked along the river to the market, where the bread was warm and the apples were sweet. "
            "Everyone seemed happy to be outside after such a long and rainy winter. ")
RSS_TEXT_SECONDS = 9.76  # espeak-ng en-us at the pack's 160 wpm (this script: 7 repeats gave 68.3 s)
HELD_OUT_TARGETS = ("espeak:en+f1", "espeak:en+f2", "espeak:en+m1", "espeak:en+m7", "flite:kal")
TUNING_TARGETS = ("flite:slt", "flite:awb", "flite:rms", "flite:kal16", "espeak:en+f3", "espeak:en+f4",
                  "espeak:en-gb+m3", "piper:joe")
LIPSYNC_LANGUAGES = {"en": "en-us", "fr": "fr-fr", "de": "de"}


def read_wav(path: str) -> tuple[np.ndarray, int]:
    with wave.open(path) as clip:
        samples = np.frombuffer(clip.readframes(clip.getnframes()), dtype=np.int16)
        return samples.astype(np.float32) / 32768.0, clip.getframerate()


def command_speech(command: list[str]) -> tuple[np.ndarray, int]:
    """Speech from a TTS command line that writes the wav named by its last argument."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "speech.wav")
        subprocess.run([*command, path], check=True, capture_output=True)
        return read_wav(path)


def speaker(name: str):
    """'espeak:VOICE', 'flite:VOICE', 'piper:joe' or 'pack:espeak-en-us' -> text -> (wave t, rate)."""
    kind, voice = name.split(":")
    if kind == "espeak":
        return lambda text: command_speech(["espeak-ng", "-v", voice, text, "-w"])
    if kind == "flite":
        return lambda text: command_speech(["flite", "-voice", voice, "-t", text, "-o"])
    engine = load_piper_engine(PIPER_VOICE) if kind == "piper" else EspeakEngine(voice)

    def speak(text):
        speech = synthesize(engine, text)
        return speech.wave.numpy(), speech.sample_rate
    return speak


def languages_and_errors() -> dict:
    spoken, errors = [], []
    for language, sentence in SAMPLE_SENTENCES.items():
        speech = synthesize(EspeakEngine(language), f"{sentence} {sentence}")
        if speech.seconds > 0.5 and speech.timeline.spoken():
            spoken.append(language)
        errors.append(abs(speech.seconds - speech.timeline.end) * 1000)
    piper = synthesize(load_piper_engine(PIPER_VOICE), f"{PROFILE_TEXT} {TEST_TEXT}")
    errors.append(abs(piper.seconds - piper.timeline.end) * 1000)
    return {"languages": spoken, "piper_languages": ["en-us"], "duration_error_ms_max": round(max(errors), 3)}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: its own, unlike ru_maxrss, which a child inherits from the
    process that forked it)."""
    with open("/proc/self/status") as status:
        (line,) = [line for line in status if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def rss_child(minutes: float) -> None:
    """Speak about `minutes` of text; print the peak RSS in MB before and after, and the seconds of speech."""
    text = RSS_TEXT * max(1, round(minutes * 60 / RSS_TEXT_SECONDS))
    engine = EspeakEngine("en-us")
    before = peak_rss_mb()
    speech = synthesize(engine, text)
    print(f"{before:.1f} {peak_rss_mb():.1f} {speech.seconds:.1f}")


def rss(minutes: float) -> tuple[float, float, float]:
    """(peak RSS MB before speaking, after, speech seconds) of a fresh process speaking about `minutes`."""
    done = subprocess.run([sys.executable, "-m", "bench.tts", "--rss-minutes", str(minutes)], cwd=REPO_ROOT,
                          check=True, capture_output=True, text=True)
    before, after, seconds = done.stdout.split()
    return float(before), float(after), float(seconds)


def voice_match() -> list[dict]:
    from pipelines.voice.match_search import VoiceMatcher
    from pipelines.voice.profile import mono_16k, voice_profile
    from pipelines.voice.prosody import measure_prosody
    from pipelines.voice.speaker_encoder import cosine, load_speaker_encoder

    encoder = load_speaker_encoder()
    sources = {"pack:en-us": speaker("pack:en-us"), "piper:joe": speaker("piper:joe")}
    rows = []
    for group, targets in (("held_out", HELD_OUT_TARGETS), ("tuning", TUNING_TARGETS)):
        for target in targets:
            speak = speaker(target)
            profile = voice_profile(*speak(PROFILE_TEXT), encoder)
            reference = encoder.embed(mono_16k(*speak(TEST_TEXT)))
            for source, source_speak in sources.items():
                if source == target:
                    continue
                wave, rate = source_speak(TEST_TEXT)
                matcher = VoiceMatcher(profile, encoder)
                matched = matcher(wave, rate)
                f0 = measure_prosody(matched, rate).f0_median_hz
                after = encoder.embed(mono_16k(matched, rate))
                rows.append({
                    "group": group, "source": source, "target": target,
                    "f0_target_hz": round(profile.f0_median_hz, 1), "f0_matched_hz": round(f0, 1),
                    "f0_error": round(abs(f0 / profile.f0_median_hz - 1), 4),
                    "cosine_before": round(cosine(encoder.embed(mono_16k(wave, rate)), reference), 3),
                    "cosine_after": round(cosine(after, reference), 3),
                    "cosine_to_profile_after": round(cosine(after, profile.embedding), 3),
                    "settings": {name: value for name, value in vars(matcher.settings).items()},
                })
                print(rows[-1], flush=True)
    return rows


def match_summary(rows: list[dict]) -> dict:
    """Per group: pairs, worst F0 error and mean cosine gain; the held-out group also without its 8 kHz target."""
    groups = {"held_out": [r for r in rows if r["group"] == "held_out"],
              "held_out_without_8khz_flite_kal": [r for r in rows if r["group"] == "held_out"
                                                  and r["target"] != "flite:kal"],
              "tuning": [r for r in rows if r["group"] == "tuning"]}
    return {group: {"pairs": len(picked), "f0_error_max": max(r["f0_error"] for r in picked),
                    "cosine_gain_mean": round(mean(r["cosine_after"] - r["cosine_before"] for r in picked), 3)}
            for group, picked in groups.items()}


def match_timing() -> dict:
    """CPU seconds to profile a 10 s sample and to match about 10 s of Piper speech to it (settings search
    included), one thread."""
    from pipelines.voice.match_search import VoiceMatcher
    from pipelines.voice.profile import voice_profile
    from pipelines.voice.speaker_encoder import load_speaker_encoder

    text = f"{PROFILE_TEXT} {TEST_TEXT}"
    encoder = load_speaker_encoder()
    sample = speaker("espeak:en+f3")(text)
    profile, profile_seconds = timed(lambda: voice_profile(*sample, encoder))
    speech = synthesize(load_piper_engine(PIPER_VOICE), text)
    _, match_seconds = timed(lambda: VoiceMatcher(profile, encoder)(speech.wave.numpy(), speech.sample_rate))
    return {"profile": profile_seconds, "profile_sample_seconds": round(len(sample[0]) / sample[1], 2),
            "match": match_seconds, "match_speech_seconds": round(speech.seconds, 2)}


def lipsync_meter(frames: int, steps: int):
    """corr(utterance, index): bench.quality's lipsync_corr of the demo model animating held-out person `index`
    speaking the utterance (its first `frames` frames)."""
    from bench.quality import FPS, SIZE, held_out_person, measure, trimmed
    from pipelines.animate import AnimateSettings
    from pipelines.audio.encoders import load_audio_encoder
    from pipelines.guidance import GuidanceScales
    from pipelines.model_files import load_portrait_model
    from pipelines.region_scales import RegionScales
    from pipelines.sampler import LongVideoOptions, SamplerSettings
    from pipelines.train.evaluation import talking_video
    from pipelines.train.face_measures import FaceMeter
    from pipelines.train.tiny_vae import load_tiny_vae

    shipped = os.path.join(REPO_ROOT, "models_shipped")
    model = load_portrait_model(os.path.join(shipped, "gated_portrait_tiny_demo.safetensors"))
    vae = load_tiny_vae(os.path.join(shipped, "taesd_tiny_demo.safetensors"))
    encoder = load_audio_encoder(os.path.join(REPO_ROOT, "models", "audio_encoders", "whisper-tiny.en"))
    settings = AnimateSettings(SamplerSettings(steps=steps, guidance=GuidanceScales(1.5, 2.5), seed=0),
                               LongVideoOptions())

    def corr(utterance, index: int) -> float:
        utterance = trimmed(utterance, frames)
        style = held_out_person(index)
        video = talking_video(model, vae, encoder, style, utterance, RegionScales(), settings)
        level = utterance.envelope(FPS).level
        return measure(FaceMeter(style, SIZE, video.reference), video.frames, level)["lipsync_corr"]

    return corr


def tts_utterance(name: str, text: str):
    """`speaker(name)` speaking `text`, as the training code's Utterance."""
    from pipelines.train.speech import Utterance

    wave, rate = speaker(name)(text)
    return Utterance(torch.from_numpy(wave), rate, name, text)


def tts_speech(engine, text: str):
    """An engine speaking `text`, as the training code's Utterance."""
    from pipelines.train.speech import Utterance

    speech = synthesize(engine, text)
    return Utterance(speech.wave, speech.sample_rate, type(engine).__name__, text)


def lipsync(corr) -> dict:
    """lipsync_corr per kind of speech, averaged over en / fr / de (one held-out person per language)."""
    from pipelines.train.speech import HELD_OUT_SENTENCES, speak

    by_speech: dict[str, list[float]] = {}
    for index, (short, language) in enumerate(LIPSYNC_LANGUAGES.items()):
        text = HELD_OUT_SENTENCES[short]
        by_speech.setdefault("training", []).append(corr(speak(text, short), index))
        by_speech.setdefault(f"espeak_{language}", []).append(corr(tts_utterance(f"pack:{language}", text), index))
        if short == "en":
            by_speech["piper_en"] = [corr(tts_utterance("piper:joe", text), index)]
        print(by_speech, flush=True)
    return {name: round(mean(values), 3) for name, values in by_speech.items()}


def english_variants() -> dict:
    """The English held-out sentence as training speech, through the pack's espeak-ng at 175 wpm (espeak-ng's own
    default) and 160 wpm (the pack's), and through the Piper voice as is, slower, with no synthesis noise, and with
    its spectrum equalised to the training voice's: what might explain a gap."""
    from piper import SynthesisConfig

    from pipelines.train.speech import HELD_OUT_SENTENCES, Utterance, speak
    from pipelines.voice.spectrum import average_spectrum, equalize

    text = HELD_OUT_SENTENCES["en"]
    training = speak(text, "en")
    piper = load_piper_engine(PIPER_VOICE)
    variants = {"training": training,
                "espeak_175wpm": tts_speech(EspeakEngine("en-us", speed=175 / 160), text),
                "espeak_160wpm": tts_speech(EspeakEngine("en-us"), text),
                "piper": tts_speech(piper, text),
                "piper_speed_0.85": tts_speech(load_piper_engine(PIPER_VOICE, 0.85), text)}
    spectrum = average_spectrum(speak(PROFILE_TEXT, "en").wave.numpy(), training.sample_rate)
    equalized = equalize(variants["piper"].wave.numpy(), variants["piper"].sample_rate, spectrum)
    variants["piper_spectrum_of_training_voice"] = Utterance(torch.from_numpy(equalized.astype(np.float32)),
                                                             variants["piper"].sample_rate, "piper", text)
    piper.synthesis = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    variants["piper_no_noise"] = tts_speech(piper, text)
    return variants


def lipsync_english_variants(corr, persons: int = 3) -> dict:
    """lipsync_corr of each English variant averaged over `persons` held-out persons, with its loudness (LUFS) and
    syllables per second."""
    import torchaudio.functional as AF

    from pipelines.voice.prosody import measure_prosody

    rows = {}
    for name, utterance in english_variants().items():
        values = [corr(utterance, index) for index in range(persons)]
        rows[name] = {"lipsync_corr": round(mean(values), 3), "per_person": [round(v, 3) for v in values],
                      "lufs": round(float(AF.loudness(utterance.wave[None].float(), utterance.sample_rate)), 1),
                      "syllables_per_second": round(measure_prosody(utterance.wave.numpy(),
                                                                    utterance.sample_rate).syllables_per_second, 2)}
        print(name, rows[name], flush=True)
    return rows


def timed(work):
    """(work(), its wall seconds)."""
    began = time.perf_counter()
    value = work()
    return value, round(time.perf_counter() - began, 2)


def timings(steps: int) -> dict:
    """CPU seconds of each stage for about 10 s of speech: TTS (Piper, espeak-ng), the profile of a 10 s sample,
    matching the Piper speech to it, and the demo model's face video (`steps` steps, 25 fps)."""
    from pipelines.train.speech import Utterance

    text = f"{PROFILE_TEXT} {TEST_TEXT}"
    piper, load_seconds = timed(lambda: load_piper_engine(PIPER_VOICE))
    speech, piper_seconds = timed(lambda: synthesize(piper, text))
    _, espeak_seconds = timed(lambda: synthesize(EspeakEngine("en-us"), text))
    corr = lipsync_meter(frames=10_000, steps=steps)
    _, face_seconds = timed(lambda: corr(Utterance(speech.wave, speech.sample_rate, "piper", text), 0))
    return {"speech_seconds": round(speech.seconds, 2), "piper_voice_load": load_seconds, "tts_piper": piper_seconds,
            "tts_espeak": espeak_seconds, **match_timing(), "face_demo_model": face_seconds,
            "face_steps": steps, "threads": torch.get_num_threads()}


def voice_match_only() -> None:
    """Rerun the voice matching rows and timing and merge them into the kept bench/results/tts.json (the other
    figures stay those of the last full run; `voice_match_rerun` says so)."""
    from bench.report import RESULTS

    result = json.loads((RESULTS / "tts.json").read_text())
    rows = voice_match()
    result.update({"voice_match": rows, "voice_match_summary": match_summary(rows)})
    result["cpu_timing_10s_text"].update(match_timing())
    result["voice_match_rerun"] = ("voice_match, voice_match_summary and cpu_timing_10s_text profile/match are "
                                   "from `python -m bench.tts --voice-match-only`; the other figures are from the "
                                   "last full run")
    report("tts", result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="video frames per lip-sync clip")
    parser.add_argument("--steps", type=int, default=10, help="denoising steps of the lip-sync clips")
    parser.add_argument("--rss-minutes", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--skip-lipsync", action="store_true")
    parser.add_argument("--timing-steps", type=int, default=20, help="denoising steps of the timed face video")
    parser.add_argument("--voice-match-only", action="store_true",
                        help="rerun only voice matching and merge it into the kept results")
    args = parser.parse_args()
    if args.rss_minutes:
        rss_child(args.rss_minutes)
        return
    torch.set_num_threads(1)
    if args.voice_match_only:
        voice_match_only()
        return
    began = time.monotonic()
    result = languages_and_errors()
    (base_1, rss_1, seconds_1), (base_20, rss_20, seconds_20) = rss(1.0), rss(20.0)
    result.update({"rss_mb_1min": rss_1, "rss_mb_20min": rss_20, "rss_mb_before_speaking": [base_1, base_20],
                   "rss_speech_seconds": [seconds_1, seconds_20]})
    print(result, flush=True)
    rows = voice_match()
    result.update({"voice_match": rows, "voice_match_summary": match_summary(rows)})
    if not args.skip_lipsync:
        corr = lipsync_meter(args.frames, args.steps)
        result["lipsync_by_speech"] = lipsync(corr)
        result["lipsync_english_variants"] = lipsync_english_variants(corr)
        result["lipsync_settings"] = {"frames": args.frames, "steps": args.steps, "cfg_image": 1.5, "cfg_audio": 2.5}
    result["cpu_timing_10s_text"] = timings(args.timing_steps)
    result["seconds"] = round(time.monotonic() - began, 1)
    report("tts", result)


if __name__ == "__main__":
    main()
