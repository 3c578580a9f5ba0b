"""Model loader node: a pack-native region-gated portrait model from the `gated_portrait` folder."""

from __future__ import annotations

from dataclasses import dataclass, field

import folder_paths
from comfy_api.latest import io

from ..pipelines.config import PortraitModelConfig, shipped_configs
from ..pipelines.model_files import init_from_base, load_portrait_model
from .host import compute_device, model_dtype, resolve_model_file, wrap_for_model_management
from .schema import Choice, PortraitModel, dtype_input, output


@dataclass
class PortraitModelHandle:
    """The PORTRAIT_MODEL socket value: the host-managed model and its config."""

    patcher: object
    config: PortraitModelConfig
    name: str
    replicas: dict = field(default_factory=dict)  # (device, slot) -> ModelPatcher of a copy, for device lists

    @property
    def model(self):
        return self.patcher.model

    @classmethod
    def managed(cls, model, name: str) -> "PortraitModelHandle":
        """The socket value of a freshly loaded model, handed to the host's memory management."""
        return cls(wrap_for_model_management(model), model.config, name)


class ReferenceNetLoad(io.ComfyNode):
    """Loads ReferenceNet + gated denoising UNet + audio/identity projections from one pack-native file."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="ReferenceNetLoad",
            display_name="Load GatedPortrait Model (ReferenceNet + gated UNet)",
            category="GatedPortrait/loaders",
            description=(
                "Loads a GatedPortrait model (ReferenceNet, region-gated denoising UNet with temporal modules, audio "
                "and identity projections) from models/gated_portrait. The model moves to the GPU only while sampling."
            ),
            inputs=[
                Choice("model_name", options=folder_paths.get_filename_list("gated_portrait"),
                       tooltip="A .safetensors model saved by this pack, in ComfyUI/models/gated_portrait/."),
                dtype_input(),
            ],
            outputs=[output(PortraitModel, "model", (
                "The model, its config (clip length, regions, audio encoder) and the host's memory management."))],
        )

    @classmethod
    def execute(cls, model_name: str, dtype: str) -> io.NodeOutput:
        path = resolve_model_file("gated_portrait", model_name)
        return io.NodeOutput(PortraitModelHandle.managed(load_portrait_model(path, model_dtype(dtype, compute_device())),
                                                         model_name))


class PortraitModelFromBase(io.ComfyNode):
    """Builds the full-size model from the base weights users already own (a starting point for training)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PortraitModelFromBase",
            display_name="GatedPortrait Model From SD1.5 + AnimateDiff (untrained gates)",
            category="GatedPortrait/loaders",
            description=(
                "Builds a GatedPortrait model from an SD1.5 UNet (fills the ReferenceNet and the denoiser's 2D blocks) "
                "and AnimateDiff's mm_sd_v15_v2 motion module (fills the temporal modules), both checked key by key. "
                "The audio gates and projections stay untrained: use it to start training, not to animate."
            ),
            inputs=[
                Choice("sd15_unet", options=_sd15_files(), tooltip=(
                    "An SD1.5 checkpoint (models/checkpoints, original single file) or UNet (models/unet, diffusers "
                    "names).")),
                Choice("motion_module", options=folder_paths.get_filename_list("animatediff_models"),
                       tooltip="AnimateDiff v2 motion module, e.g. mm_sd_v15_v2.ckpt, in models/animatediff_models."),
                Choice("config", options=shipped_configs(), default="sd15", tooltip=(
                    "Architecture sizes (pipelines/configs): sd15 for real SD1.5 weights; tiny for tests.")),
                dtype_input("Weight precision (auto follows ComfyUI)."),
            ],
            outputs=[output(PortraitModel, "model")],
        )

    @classmethod
    def execute(cls, sd15_unet: str, motion_module: str, config: str, dtype: str) -> io.NodeOutput:
        folder = "checkpoints" if sd15_unet in folder_paths.get_filename_list("checkpoints") else "diffusion_models"
        config = PortraitModelConfig.named(config)
        model = init_from_base(config, resolve_model_file(folder, sd15_unet), resolve_model_file("animatediff_models", motion_module))
        return io.NodeOutput(PortraitModelHandle.managed(model.to(model_dtype(dtype, compute_device())).eval(), sd15_unet))


def _sd15_files() -> list[str]:
    """SD1.5 single-file checkpoints, then diffusers-named UNets."""
    return folder_paths.get_filename_list("checkpoints") + folder_paths.get_filename_list("diffusion_models")
