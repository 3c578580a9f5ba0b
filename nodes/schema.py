"""V3 schema pieces the node files share: the pack's socket types and the output and dtype builders."""

from __future__ import annotations

from comfy_api.latest import io

PortraitModel = io.Custom("PORTRAIT_MODEL")
PortraitAudio = io.Custom("PORTRAIT_AUDIO")
PortraitAudioEncoder = io.Custom("PORTRAIT_AUDIO_ENCODER")
PortraitRegions = io.Custom("PORTRAIT_REGIONS")
PortraitLandmarks = io.Custom("PORTRAIT_LANDMARKS")
PortraitLongVideo = io.Custom("PORTRAIT_LONG_VIDEO")

#: Weight precisions of the loaders; auto follows the host's choice for the device.
DTYPES = ["auto", "fp16", "bf16", "fp32"]
DTYPE_TOOLTIP = "Weight precision. auto follows ComfyUI's choice for the device (fp16/bf16 on GPUs, fp32 on CPU)."


def dtype_input(tooltip: str = DTYPE_TOOLTIP) -> io.Combo.Input:
    """The loaders' `dtype` widget."""
    return io.Combo.Input("dtype", options=DTYPES, default="auto", tooltip=tooltip)


def output(kind, name: str, tooltip: str | None = None) -> io.Output:
    """An output socket of `kind` (an io type) named `name` on the node. Its id is left to the schema (ids must
    differ from the input names, and an output may share its name with an input)."""
    return kind.Output(display_name=name, tooltip=tooltip)
