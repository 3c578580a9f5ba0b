"""Hallo's released checkpoints in the pack: HalloModelLoad (net.pth or net.safetensors), HalloConvertCheckpoint
(net.pth -> net.safetensors) and HalloFaceConditions (face box + ArcFace)."""

from __future__ import annotations

import os

import folder_paths
from comfy_api.latest import io

from ..pipelines.hallo_checkpoint import convert_net_to_safetensors, load_hallo_model
from ..pipelines.hallo_face import ArcFaceEmbedder, with_hallo_face
from ..pipelines.portrait_model import REFERENCE_ENCODINGS
from ..pipelines.region_masks import HALLO_FACE_EXPAND
from .host import compute_device, model_dtype, resolve_model_file
from .model import PortraitModelHandle
from .schema import Choice, PortraitLandmarks, PortraitModel, PortraitRegions, dtype_input, output

NO_FACE_MODEL = "none (zero embedding)"


def _files(*suffixes: str) -> list[str]:
    return [name for name in folder_paths.get_filename_list("hallo") if name.lower().endswith(suffixes)]


class HalloModelLoad(io.ComfyNode):
    """Loads Hallo's net.pth (ReferenceNet, denoiser with audio and motion modules, FaceLocator, ImageProj, AudioProj)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="HalloModelLoad",
            display_name="Load Hallo Checkpoint",
            category="GatedPortrait/loaders",
            description=(
                "Loads Hallo's released weights (pretrained_models/hallo/net.pth) strictly into the pack's model, so "
                "GatedUNetSample animates with Hallo's trained networks. Point the models/hallo folder (or an "
                "extra_model_paths 'hallo' entry) at Hallo's pretrained_models folder. Needs wav2vec2-base-960h audio "
                "(AudioEncode), Hallo-layout region masks and HalloFaceConditions. Sliders: head = pose, mouth = lip, "
                "eyes = expression."
            ),
            inputs=[
                Choice("net_file", options=_files(".safetensors", ".pth"), tooltip=(
                    "Hallo's net.pth (hallo/net.pth inside pretrained_models), in ComfyUI/models/hallo/, or the "
                    "net.safetensors that 'Convert Hallo net.pth to safetensors' (or scripts/convert_hallo_net.py) "
                    "writes beside it. A JSON config with the same name next to it overrides the architecture "
                    "(fine-tunes of other sizes).")),
                dtype_input(),
                io.Boolean.Input("train_mode_quirk", default=True, tooltip=(
                    "On (matches Hallo's outputs): as in Hallo's released inference, 2 motion frames encoded by the "
                    "ReferenceNet lead every temporal module, and the temporal modules of down_blocks.3 / up_blocks.0 "
                    "do not run. Off: no motion frames, all temporal modules run (not what the weights were trained "
                    "with).")),
                Choice("reference_encoding", options=list(REFERENCE_ENCODINGS), default="hallo_cfg_rows",
                       tooltip=(
                    "hallo_cfg_rows (matches Hallo's outputs): the reference and motion frames are encoded and paired "
                    "with the CFG halves exactly as Hallo's released pipeline does (identity tokens alternating over "
                    "its batch rows, fp16 features). cond_identity: each image encoded once with the face's identity, "
                    "in the weights' precision, the same features for every frame and branch.")),
            ],
            outputs=[output(PortraitModel, "model",
                            "Hallo's networks with the Hallo config (16-frame clips, pose/expression/lip regions).")],
        )

    @classmethod
    def execute(cls, net_file: str, dtype: str, train_mode_quirk: bool, reference_encoding: str) -> io.NodeOutput:
        path = resolve_model_file("hallo", net_file)
        model = load_hallo_model(path, model_dtype(dtype, compute_device()), None, train_mode_quirk, reference_encoding)
        return io.NodeOutput(PortraitModelHandle.managed(model, net_file))


class HalloFaceConditions(io.ComfyNode):
    """Adds Hallo's face-box image (FaceLocator input) and raw ArcFace identity embedding to the region masks."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="HalloFaceConditions",
            display_name="Hallo Face Conditions (face box + ArcFace)",
            category="GatedPortrait/masks",
            description=(
                "Hallo's face conditions for GatedUNetSample: the face box expanded by face_expand_ratio (FaceLocator "
                "input) and the raw 512-d ArcFace embedding of the face from glintr100.onnx (onnxruntime, CPU), aligned "
                "from the landmarks. Without the onnx file the embedding is zeros and a warning is logged."
            ),
            inputs=[
                PortraitRegions.Input("regions", tooltip="From RegionMaskFromLandmarks with layout 'hallo'."),
                PortraitLandmarks.Input("landmarks",
                                        tooltip="The landmarks output of the same RegionMaskFromLandmarks."),
                io.Image.Input("image",
                               tooltip="The portrait the regions were built from (also GatedUNetSample's reference)."),
                Choice("face_recognition", options=[NO_FACE_MODEL] + _files(".onnx"), tooltip=(
                    "InsightFace's glintr100.onnx (face_analysis/models/ in Hallo's pretrained_models), in "
                    "ComfyUI/models/hallo/. 'none' gives a zero embedding: the identity then comes from the reference "
                    "only.")),
                io.Float.Input("face_expand_ratio", default=HALLO_FACE_EXPAND, min=0.5, max=3.0, step=0.05, tooltip=(
                    "Side factor of the face box fed to the FaceLocator (Hallo's face_expand_ratio, 1.2); use the "
                    "same value as in RegionMaskFromLandmarks.")),
            ],
            outputs=[output(PortraitRegions, "regions",
                            "The same region masks, carrying the face box and face embedding Hallo models read.")],
        )

    @classmethod
    def execute(cls, regions, landmarks, image, face_recognition: str, face_expand_ratio: float) -> io.NodeOutput:
        embedder = None
        if face_recognition != NO_FACE_MODEL:
            embedder = ArcFaceEmbedder(resolve_model_file("hallo", face_recognition))
        return io.NodeOutput(with_hallo_face(regions, image.cpu().numpy(), list(landmarks), embedder, face_expand_ratio))


class HalloConvertCheckpoint(io.ComfyNode):
    """Writes Hallo's net.pth once as net.safetensors beside it (weights only, every key checked)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="HalloConvertCheckpoint",
            display_name="Convert Hallo net.pth to safetensors",
            category="GatedPortrait/loaders",
            description=(
                "Converts Hallo's net.pth in ComfyUI/models/hallo/ into net.safetensors in the same folder, once: the "
                ".pth is read with weights_only (a file holding code is refused) and checked key by key against "
                "Hallo's layout. Afterwards pick the .safetensors file in Load Hallo Checkpoint; the ComfyUI front end "
                "can check it, and it loads without unpickling."
            ),
            inputs=[Choice("net_file", options=_files(".pth"),
                                   tooltip="Hallo's net.pth in ComfyUI/models/hallo/ (hallo/net.pth).")],
            outputs=[output(io.String, "net_file", "The converted file's name in the hallo model list.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, net_file: str) -> io.NodeOutput:
        source = resolve_model_file("hallo", net_file)
        target = os.path.splitext(source)[0] + ".safetensors"
        if not os.path.isfile(target):
            convert_net_to_safetensors(source, target)
        name = os.path.splitext(net_file)[0] + ".safetensors"
        return io.NodeOutput(name, ui={"text": [name]})
