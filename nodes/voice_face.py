"""Voice-only nodes: measure who a voice sounds like, then imagine a portrait for it (a prompt and seed for the
user's image model, or the pack's procedural painter)."""

from __future__ import annotations

from comfy_api.latest import io

from ..pipelines.voice.attributes import measure_voice_attributes
from ..pipelines.voice.imagine import imagine_portrait
from ..pipelines.voice.portrait_words import DEFAULT_STYLE
from ..pipelines.voice.voice_seed import load_voice_projection
from .host import cached_speaker_encoder
from .schema import VoiceAttributesType, output, voice_measure_schema


class VoiceAttributes(io.ComfyNode):
    """AUDIO -> what the voice says about its speaker: GE2E embedding, pitch, vocal-tract length, pace, dynamics."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return voice_measure_schema(
            "VoiceAttributes", "Voice Attributes (GatedPortrait)", "GatedPortrait/voice", (
                "Measures a speaker from their speech: a GE2E speaker embedding, pitch (median and range), "
                "vocal-tract length from formant spacing, speaking rate and loudness dynamics (calm to animated). "
                "Needs at least 1 s of speech; silence and music without a voice are refused."),
            io.Audio.Input("audio", tooltip=(
                "Speech of one speaker (e.g. LoadAudio): at least 1 s; give 10 s or more (a paragraph) so that "
                "every recording of the voice gets the same seed and face.")),
            output(VoiceAttributesType, "voice_attributes", "For Imagine Portrait (GatedPortrait)."),
        )

    @classmethod
    def execute(cls, audio) -> io.NodeOutput:
        attributes = measure_voice_attributes(audio["waveform"], audio["sample_rate"], cached_speaker_encoder())
        summary = attributes.summary()
        return io.NodeOutput(attributes, summary, ui={"gated_portrait_voice": [summary]})


class ImaginePortrait(io.ComfyNode):
    """Voice attributes -> a painted portrait with its face box, and a prompt and seed for an SD1.5 checkpoint."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="ImaginePortrait",
            display_name="Imagine Portrait (GatedPortrait)",
            category="GatedPortrait/voice",
            description=(
                "Imagines a face for a voice by fixed rules, not learned from voice-face data: pitch and vocal-tract "
                "length set how masculine and long the face is, dynamics and pace the expression and mouth, the "
                "speaker embedding the rest. Outputs the pack's procedural portrait (fits the demo model), and a "
                "prompt and seed for CLIPTextEncode / KSampler with your own SD1.5 checkpoint. The same voice gives "
                "the same seed and face; change variation for another face of the same voice."
            ),
            inputs=[
                VoiceAttributesType.Input("voice_attributes", tooltip="From Voice Attributes (GatedPortrait)."),
                io.String.Input("style", default=DEFAULT_STYLE, multiline=True, tooltip=(
                    "The attribute-to-word table of the prompt: lines `trait: low | middle | high` and one "
                    "`template:` line whose {trait} fields take the chosen words.")),
                io.Int.Input("variation", default=0, min=0, max=9999, tooltip=(
                    "0: the voice's own face and seed. Other values: another face of the same voice (new hair, eye "
                    "and clothes colours, slightly moved features) and another seed.")),
                io.Int.Input("size", default=64, min=32, max=1024, step=8, tooltip=(
                    "Side of the painted portrait in pixels (the demo model: 64).")),
            ],
            outputs=[
                output(io.Image, "portrait", "The procedural portrait, size x size."),
                output(io.String, "face_box", "'x,y,w,h' of the painted face, for RegionMaskFromLandmarks' face_box."),
                output(io.String, "prompt", "Positive prompt for CLIPTextEncode."),
                output(io.Int, "seed", "Seed for KSampler: the same for the same voice and variation."),
            ],
        )

    @classmethod
    def execute(cls, voice_attributes, style, variation, size) -> io.NodeOutput:
        imagined = imagine_portrait(voice_attributes, load_voice_projection(), style, variation, size)
        return io.NodeOutput(imagined.image, imagined.face_box, imagined.prompt, imagined.seed)
