"""Model loader node: a pack-native region-gated portrait model from the `gated_portrait` folder."""

from __future__ import annotations

from dataclasses import dataclass

import folder_paths

from ..pipelines.config import PortraitModelConfig
from ..pipelines.model_files import load_portrait_model
from .host import compute_device, model_dtype, resolve_model_file, wrap_for_model_management


@dataclass
class PortraitModelHandle:
    """The PORTRAIT_MODEL socket value: the host-managed model and its config."""

    patcher: object
    config: PortraitModelConfig
    name: str

    @property
    def model(self):
        return self.patcher.model


class ReferenceNetLoad:
    """Loads ReferenceNet + gated denoising UNet + audio/identity projections from one pack-native file."""

    DESCRIPTION = (
        "Loads a GatedPortrait model (ReferenceNet, region-gated denoising UNet with temporal modules, audio and "
        "identity projections) from models/gated_portrait. The model moves to the GPU only while sampling."
    )
    CATEGORY = "GatedPortrait/loaders"
    RETURN_TYPES = ("PORTRAIT_MODEL",)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = ("The model, its config (clip length, regions, audio encoder) and the host's memory management.",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model_name": (folder_paths.get_filename_list("gated_portrait"), {
                    "tooltip": "A .safetensors model saved by this pack, in ComfyUI/models/gated_portrait/."}),
                "dtype": (["auto", "fp16", "bf16", "fp32"], {"default": "auto", "tooltip": (
                    "Weight precision. auto follows ComfyUI's choice for the device (fp16/bf16 on GPUs, fp32 on CPU).")}),
            }
        }

    def load(self, model_name: str, dtype: str):
        path = resolve_model_file("gated_portrait", model_name)
        model = load_portrait_model(path, model_dtype(dtype, compute_device()))
        return (PortraitModelHandle(wrap_for_model_management(model), model.config, model_name),)


NODE_CLASS_MAPPINGS = {"ReferenceNetLoad": ReferenceNetLoad}
NODE_DISPLAY_NAME_MAPPINGS = {"ReferenceNetLoad": "Load GatedPortrait Model (ReferenceNet + gated UNet)"}
