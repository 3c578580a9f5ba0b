"""Speech nodes: text -> speech with a phoneme timeline (espeak-ng or Piper voices), voice profiles, subtitles."""

from __future__ import annotations

import os

import folder_paths
from comfy_api.latest import io

from ..pipelines.audio.preprocess import validate_audio
from ..pipelines.errors import PortraitInputError
from ..pipelines.output_files import check_filename_prefix
from ..pipelines.tts import EspeakEngine, load_piper_engine, srt_text, synthesize
from ..pipelines.voice.match_search import VoiceMatcher
from ..pipelines.voice.profile import voice_profile
from .host import cached_speaker_encoder, progress_callback, resolve_model_file
from .schema import Choice, PhonemeTimeline, VoiceProfile, output, voice_measure_schema

ESPEAK_VOICE = "espeak-ng"


def voice_choices() -> list[str]:
    """espeak-ng, then every .onnx in ComfyUI/models/tts."""
    return [ESPEAK_VOICE, *folder_paths.get_filename_list("tts")]


def speech_engine(voice: str, language: str, speed: float, pitch: int):
    """The engine for a voice choice: espeak-ng in `language`, or the Piper voice file (which speaks its own)."""
    if voice == ESPEAK_VOICE:
        return EspeakEngine(language, speed, pitch)
    return load_piper_engine(resolve_model_file("tts", voice), speed, language)


class TextToSpeech(io.ComfyNode):
    """Text -> AUDIO and its phoneme timeline; optionally converted toward a voice profile."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="TextToSpeech",
            display_name="Text To Speech (GatedPortrait)",
            category="GatedPortrait/speech",
            description=(
                "Speaks the text offline, sentence by sentence (progress and Cancel per sentence, memory flat for "
                "long texts). Voices: espeak-ng (100+ languages, set by `language`) or a Piper neural voice "
                "(<voice>.onnx + <voice>.onnx.json in ComfyUI/models/tts; it speaks its own language). With a voice "
                "profile the speech is moved toward that voice (pitch, formants, timbre): voice matching, not "
                "cloning; how far formants, pitch range and timbre move is searched on the first sentence (closest "
                "speaker embedding to the profile's) and kept for the whole text. Outputs the speech and the start "
                "and end of every phoneme."
            ),
            inputs=[
                io.String.Input("text", multiline=True, default="Hello! I am a portrait, and now I can talk.",
                                tooltip="What the portrait says. Split at sentence ends; each sentence is spoken "
                                        "on its own."),
                Choice("voice", options=voice_choices(), default=ESPEAK_VOICE, tooltip=(
                    "espeak-ng, or a Piper voice from ComfyUI/models/tts (the install step puts en_US-joe-medium "
                    "there).")),
                io.String.Input("language", default="en-us", tooltip=(
                    "espeak-ng language code (en-us, en-gb, fr-fr, de, es, it, pt, ru, cmn, ja, hi, ar, ...; "
                    "`espeak-ng --voices` lists all). With a Piper voice it must be the voice's language.")),
                io.Float.Input("speed", default=1.0, min=0.5, max=2.0, step=0.05,
                               tooltip="Speaking rate: a factor of the Piper voice's own pace, or of 160 words per minute for "
                                       "espeak-ng (2 = twice as fast)."),
                io.Int.Input("pitch", default=50, min=0, max=99, tooltip="espeak-ng pitch (50: its default). "
                             "Piper voices ignore it; use a voice profile to move their pitch."),
                VoiceProfile.Input("voice_profile", optional=True, tooltip=(
                    "From Voice Profile (GatedPortrait): the speech is matched to that speaker's pitch, range, "
                    "formant spacing and timbre; how far formants, range and timbre move is chosen on the first "
                    "sentence, where the speaker encoder puts the matched speech closest to the profile.")),
            ],
            outputs=[
                output(io.Audio, "audio", "The speech (mono); its length sets the video length."),
                output(PhonemeTimeline, "timeline",
                       "Every phoneme and pause with start and end in seconds, and the sentences (subtitles)."),
            ],
        )

    @classmethod
    def execute(cls, text, voice, language, speed, pitch, voice_profile=None) -> io.NodeOutput:
        engine = speech_engine(voice, language, speed, pitch)
        convert = None if voice_profile is None else VoiceMatcher(voice_profile, cached_speaker_encoder())
        speech = synthesize(engine, text, convert, progress_callback(1))
        audio = {"waveform": speech.wave[None, None], "sample_rate": speech.sample_rate}
        summary = (f"{speech.seconds:.2f} s, {len(speech.timeline.sentences)} sentences, "
                   f"{len(speech.timeline.spoken())} phonemes")
        return io.NodeOutput(audio, speech.timeline, ui={"gated_portrait_speech": [summary]})


class VoiceProfileFromAudio(io.ComfyNode):
    """A speaker's voice sample -> a voice profile for TextToSpeech."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return voice_measure_schema(
            "VoiceProfile", "Voice Profile (GatedPortrait)", "GatedPortrait/speech", (
                "Measures a voice from 3-30 s of one person speaking (longer samples: the first 30 s): GE2E speaker "
                "embedding, F0 median and range, formant spacing, long-term spectrum and speaking rate. Connect it "
                "to Text To Speech to move the synthesised voice toward this one (matching, not cloning; the "
                "embedding guides how far)."),
            io.Audio.Input("voice_sample", tooltip="3-30 s of the target speaker, alone, without music."),
            output(VoiceProfile, "voice_profile", "For Text To Speech's voice_profile input."),
        )

    @classmethod
    def execute(cls, voice_sample) -> io.NodeOutput:
        waveform, sample_rate = voice_sample["waveform"], int(voice_sample["sample_rate"])
        validate_audio(waveform, sample_rate, "voice_sample")
        mono = waveform[0].float().mean(dim=0).numpy()
        profile = voice_profile(mono, sample_rate, cached_speaker_encoder(), "voice_sample")
        return io.NodeOutput(profile, profile.summary(), ui={"gated_portrait_speech": [profile.summary()]})


class SaveSubtitles(io.ComfyNode):
    """A phoneme timeline -> a .srt file (one cue per sentence) beside the video, or under a prefix."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SaveSubtitles",
            display_name="Save Subtitles (GatedPortrait)",
            category="GatedPortrait/speech",
            description=("Writes the sentences of a Text To Speech timeline as SubRip subtitles (.srt), timed from "
                         "each sentence's first to last phoneme: beside the video (same name, .srt) when "
                         "Decode Video's mp4_path is connected, else as <filename_prefix>_NNNNN_.srt."),
            inputs=[
                PhonemeTimeline.Input("timeline", tooltip="From Text To Speech."),
                io.String.Input("filename_prefix", default="GatedPortrait", tooltip=(
                    "Output file prefix, with sub-folders, used when no mp4_path is connected.")),
                io.String.Input("mp4_path", optional=True, force_input=True, tooltip=(
                    "Decode Video's mp4_path: the subtitles get the video's name.")),
            ],
            outputs=[output(io.String, "srt", "The subtitles' text.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, timeline, filename_prefix, mp4_path=None) -> io.NodeOutput:
        output_dir = os.path.realpath(folder_paths.get_output_directory())
        if mp4_path:
            path = os.path.splitext(os.path.realpath(mp4_path))[0] + ".srt"
            if os.path.commonpath((output_dir, path)) != output_dir:
                raise PortraitInputError("mp4_path", "is not a video in the output folder",
                                         "connect Decode Video's mp4_path output, or leave mp4_path unconnected")
        else:
            check_filename_prefix(filename_prefix)
            folder, filename, counter, _, _ = folder_paths.get_save_image_path(filename_prefix, output_dir)
            path = os.path.join(folder, f"{filename}_{counter:05}_.srt")
        text = srt_text(timeline)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return io.NodeOutput(text, ui={"gated_portrait_subtitles": [os.path.relpath(path, output_dir)]})
