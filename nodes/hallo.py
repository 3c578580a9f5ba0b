"""Hallo's released checkpoints in the pack: HalloModelLoad (net.pth or net.safetensors), HalloConvertCheckpoint
(net.pth -> net.safetensors) and HalloFaceConditions (face box + ArcFace)."""

from __future__ import annotations

import os

import folder_paths

from ..pipelines.hallo_checkpoint import convert_net_to_safetensors, load_hallo_model
from ..pipelines.hallo_face import ArcFaceEmbedder, with_hallo_face
from ..pipelines.portrait_model import REFERENCE_ENCODINGS
from ..pipelines.region_masks import HALLO_FACE_EXPAND
from .host import compute_device, model_dtype, resolve_model_file, wrap_for_model_management
from .model import PortraitModelHandle

NO_FACE_MODEL = "none (zero embedding)"


def _files(*suffixes: str) -> list[str]:
    return [name for name in folder_paths.get_filename_list("hallo") if name.lower().endswith(suffixes)]


class HalloModelLoad:
    """Loads Hallo's net.pth (ReferenceNet, denoiser with audio and motion modules, FaceLocator, ImageProj, AudioProj)."""

    DESCRIPTION = (
        "Loads Hallo's released weights (pretrained_models/hallo/net.pth) strictly into the pack's model, so "
        "GatedUNetSample animates with Hallo's trained networks. Point the models/hallo folder (or an extra_model_paths "
        "'hallo' entry) at Hallo's pretrained_models folder. Needs wav2vec2-base-960h audio (AudioEncode), Hallo-layout "
        "region masks and HalloFaceConditions. Sliders: head = pose, mouth = lip, eyes = expression."
    )
    CATEGORY = "GatedPortrait/loaders"
    RETURN_TYPES = ("PORTRAIT_MODEL",)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = ("Hallo's networks with the Hallo config (16-frame clips, pose/expression/lip regions).",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "net_file": (_files(".safetensors", ".pth"), {"tooltip": (
                    "Hallo's net.pth (hallo/net.pth inside pretrained_models), in ComfyUI/models/hallo/, or the "
                    "net.safetensors that 'Convert Hallo net.pth to safetensors' (or scripts/convert_hallo_net.py) "
                    "writes beside it. A JSON config with the same name next to it overrides the architecture (fine-tunes "
                    "of other sizes).")}),
                "dtype": (["auto", "fp16", "bf16", "fp32"], {"default": "auto", "tooltip": (
                    "Weight precision. auto follows ComfyUI's choice for the device (fp16/bf16 on GPUs, fp32 on CPU).")}),
                "train_mode_quirk": ("BOOLEAN", {"default": True, "tooltip": (
                    "On (matches Hallo's outputs): as in Hallo's released inference, 2 motion frames encoded by the "
                    "ReferenceNet lead every temporal module, and the temporal modules of down_blocks.3 / up_blocks.0 "
                    "do not run. Off: no motion frames, all temporal modules run (not what the weights were trained with).")}),
                "reference_encoding": (list(REFERENCE_ENCODINGS), {"default": "hallo_cfg_rows", "tooltip": (
                    "hallo_cfg_rows (matches Hallo's outputs): the reference and motion frames are encoded and paired "
                    "with the CFG halves exactly as Hallo's released pipeline does (identity tokens alternating over "
                    "its batch rows, fp16 features). cond_identity: each image encoded once with the face's identity, "
                    "in the weights' precision, the same features for every frame and branch.")}),
            }
        }

    def load(self, net_file: str, dtype: str, train_mode_quirk: bool, reference_encoding: str):
        path = resolve_model_file("hallo", net_file)
        model = load_hallo_model(path, model_dtype(dtype, compute_device()), None, train_mode_quirk, reference_encoding)
        return (PortraitModelHandle(wrap_for_model_management(model), model.config, net_file),)


class HalloFaceConditions:
    """Adds Hallo's face-box image (FaceLocator input) and raw ArcFace identity embedding to the region masks."""

    DESCRIPTION = (
        "Hallo's face conditions for GatedUNetSample: the face box expanded by face_expand_ratio (FaceLocator input) "
        "and the raw 512-d ArcFace embedding of the face from glintr100.onnx (onnxruntime, CPU), aligned from the "
        "landmarks. Without the onnx file the embedding is zeros and a warning is logged."
    )
    CATEGORY = "GatedPortrait/masks"
    RETURN_TYPES = ("PORTRAIT_REGIONS",)
    RETURN_NAMES = ("regions",)
    OUTPUT_TOOLTIPS = ("The same region masks, carrying the face box and face embedding Hallo models read.",)
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "regions": ("PORTRAIT_REGIONS", {"tooltip": "From RegionMaskFromLandmarks with layout 'hallo'."}),
                "landmarks": ("PORTRAIT_LANDMARKS", {"tooltip": "The landmarks output of the same RegionMaskFromLandmarks."}),
                "image": ("IMAGE", {"tooltip": "The portrait the regions were built from (also GatedUNetSample's reference)."}),
                "face_recognition": ([NO_FACE_MODEL] + _files(".onnx"), {"tooltip": (
                    "InsightFace's glintr100.onnx (face_analysis/models/ in Hallo's pretrained_models), in "
                    "ComfyUI/models/hallo/. 'none' gives a zero embedding: the identity then comes from the reference only.")}),
                "face_expand_ratio": ("FLOAT", {"default": HALLO_FACE_EXPAND, "min": 0.5, "max": 3.0, "step": 0.05, "tooltip": (
                    "Side factor of the face box fed to the FaceLocator (Hallo's face_expand_ratio, 1.2); use the "
                    "same value as in RegionMaskFromLandmarks.")}),
            }
        }

    def build(self, regions, landmarks, image, face_recognition: str, face_expand_ratio: float):
        embedder = None
        if face_recognition != NO_FACE_MODEL:
            embedder = ArcFaceEmbedder(resolve_model_file("hallo", face_recognition))
        return (with_hallo_face(regions, image.cpu().numpy(), list(landmarks), embedder, face_expand_ratio),)


class HalloConvertCheckpoint:
    """Writes Hallo's net.pth once as net.safetensors beside it (weights only, every key checked)."""

    DESCRIPTION = (
        "Converts Hallo's net.pth in ComfyUI/models/hallo/ into net.safetensors in the same folder, once: the .pth is "
        "read with weights_only (a file holding code is refused) and checked key by key against Hallo's layout. "
        "Afterwards pick the .safetensors file in Load Hallo Checkpoint; the ComfyUI front end can check it, and it "
        "loads without unpickling."
    )
    CATEGORY = "GatedPortrait/loaders"
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("net_file",)
    OUTPUT_TOOLTIPS = ("The converted file's name in the hallo model list.",)
    OUTPUT_NODE = True
    FUNCTION = "convert"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "net_file": (_files(".pth"), {"tooltip": "Hallo's net.pth in ComfyUI/models/hallo/ (hallo/net.pth)."}),
            }
        }

    def convert(self, net_file: str):
        source = resolve_model_file("hallo", net_file)
        target = os.path.splitext(source)[0] + ".safetensors"
        if not os.path.isfile(target):
            convert_net_to_safetensors(source, target)
        name = os.path.splitext(net_file)[0] + ".safetensors"
        return {"ui": {"text": [name]}, "result": (name,)}


NODE_CLASS_MAPPINGS = {
    "HalloModelLoad": HalloModelLoad,
    "HalloFaceConditions": HalloFaceConditions,
    "HalloConvertCheckpoint": HalloConvertCheckpoint,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "HalloModelLoad": "Load Hallo Checkpoint",
    "HalloFaceConditions": "Hallo Face Conditions (face box + ArcFace)",
    "HalloConvertCheckpoint": "Convert Hallo net.pth to safetensors",
}
