"""V3 schema pieces the node files share: the pack's socket types and the output and dtype builders."""

from __future__ import annotations

from comfy_api.latest import io

PortraitModel = io.Custom("PORTRAIT_MODEL")
PortraitAudio = io.Custom("PORTRAIT_AUDIO")
PortraitAudioEncoder = io.Custom("PORTRAIT_AUDIO_ENCODER")
PortraitRegions = io.Custom("PORTRAIT_REGIONS")
PortraitLandmarks = io.Custom("PORTRAIT_LANDMARKS")
PortraitLongVideo = io.Custom("PORTRAIT_LONG_VIDEO")
PhonemeTimeline = io.Custom("PHONEME_TIMELINE")
VoiceProfile = io.Custom("VOICE_PROFILE")
VoiceAttributesType = io.Custom("VOICE_ATTRIBUTES")

#: Weight precisions of the loaders; auto follows the host's choice for the device.
DTYPES = ["auto", "fp16", "bf16", "fp32"]
DTYPE_TOOLTIP = "Weight precision. auto follows ComfyUI's choice for the device (fp16/bf16 on GPUs, fp32 on CPU)."


class Choice(io.Combo.Input):
    """A dropdown whose type is its list of choices, as in the legacy node form: ComfyUI 0.3.75 checks a queued value
    against the choices only in that form (a V3 'COMBO' type goes unchecked there, so a missing model file would
    reach the node instead of being refused when queued)."""

    def get_io_type(self):
        return list(self.options)


def dtype_input(tooltip: str = DTYPE_TOOLTIP) -> Choice:
    """The loaders' `dtype` widget."""
    return Choice("dtype", options=DTYPES, default="auto", tooltip=tooltip)


def output(kind, name: str, tooltip: str | None = None) -> io.Output:
    """An output socket of `kind` (an io type) named `name` on the node. Its id is left to the schema (ids must
    differ from the input names, and an output may share its name with an input)."""
    return kind.Output(display_name=name, tooltip=tooltip)


def voice_measure_schema(node_id: str, display_name: str, category: str, description: str, audio: io.Audio.Input,
                         result: io.Output) -> io.Schema:
    """A node that measures one speaker from their speech: the audio in; the measurement and its one-line summary
    out (the summary is also shown on the node)."""
    return io.Schema(
        node_id=node_id, display_name=display_name, category=category, description=description, inputs=[audio],
        outputs=[result, output(io.String, "summary", "The measured values as one line of text.")],
    )
