"""Adapters between the pack and the ComfyUI host: model folders, progress, interrupt, devices.

Everything host-specific the node classes need lives here, so node files stay thin and
`pipelines/` stays host-free.
"""

from __future__ import annotations

import functools
import logging
import os
import time

import comfy.model_management as mm
import comfy.utils
import folder_paths

#: Pack model folders (name -> default sub-folder of ComfyUI's models dir, accepted file endings).
#: Core folders (`audio_encoders`, `vae`, `checkpoints`, `diffusion_models`, `diffusers`) are reused as they are.
PACK_FOLDERS = {
    "gated_portrait": ("gated_portrait", {".safetensors"}),
    "animatediff_models": ("animatediff_models", {".safetensors", ".ckpt", ".pth", ".pt"}),
    "face_landmarkers": ("face_landmarkers", {".task", ".tflite"}),
    "hallo": ("hallo", {".safetensors", ".pth", ".onnx"}),
    "tts": ("tts", {".onnx"}),
}


#: Models the install step converts into the pack's own `models/` folder, listed beside the user's.
PACK_MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
INSTALLED_FOLDERS = ("audio_encoders",)


def same_folder_listed(path: str, paths: list[str]) -> bool:
    """True when `path` is one of `paths` once links are resolved (ComfyUI's models/ may link to the pack's)."""
    target = os.path.realpath(path)
    return any(os.path.realpath(known) == target for known in paths)


def register_model_folders() -> None:
    """Add the pack's model folders to `folder_paths` (idempotent, no folder is created, none listed twice)."""
    for name in INSTALLED_FOLDERS:
        path = os.path.join(PACK_MODELS_DIR, name)
        if not same_folder_listed(path, folder_paths.get_folder_paths(name)):
            folder_paths.add_model_folder_path(name, path)
    for name, (sub, exts) in PACK_FOLDERS.items():
        path = os.path.join(folder_paths.models_dir, sub)
        if name in folder_paths.folder_names_and_paths:
            paths, known = folder_paths.folder_names_and_paths[name]
            if not same_folder_listed(path, paths):
                paths.append(path)
            folder_paths.folder_names_and_paths[name] = (paths, set(known) | exts)
        else:
            folder_paths.folder_names_and_paths[name] = ([path], exts)


def remove_crash_leftovers() -> list[str]:
    """Delete the partial files (output_files.PARTIAL_PREFIX) that saves of an earlier, killed server left in the
    output folder: only those last written before now, the server's start (the host imports the pack once, while
    it starts)."""
    from ..pipelines.output_files import remove_stale_partials

    removed = remove_stale_partials(folder_paths.get_output_directory(), time.time())
    if removed:
        logging.info("GatedPortrait: removed %d partial files an interrupted save left: %s", len(removed), removed)
    return removed


def list_model_dirs(folder_name: str, marker: str = "config.json") -> list[str]:
    """Sub-folders (one level) of a model folder that contain `marker`, e.g. HF model folders; each name once (the
    first root that has it wins, as in `resolve_model_dir`)."""
    found = []
    for root in folder_paths.get_folder_paths(folder_name):
        if not os.path.isdir(root):
            continue
        for entry in sorted(os.listdir(root)):
            if entry not in found and os.path.isfile(os.path.join(root, entry, marker)):
                found.append(entry)
    return found


def resolve_model_dir(folder_name: str, name: str, marker: str = "config.json") -> str:
    """Full path of a listed model sub-folder; only names `list_model_dirs` offers are accepted."""
    if name not in list_model_dirs(folder_name, marker):
        raise FileNotFoundError(
            f"{folder_name}: '{name}' is not a model folder in {folder_paths.get_folder_paths(folder_name)}. "
            f"Fix: put the model folder (with {marker}) there and refresh the node list."
        )
    for root in folder_paths.get_folder_paths(folder_name):
        path = os.path.join(root, name)
        if os.path.isfile(os.path.join(path, marker)):
            return path
    raise FileNotFoundError(name)


def resolve_model_file(folder_name: str, name: str) -> str:
    """Full path of a file offered by `folder_paths.get_filename_list` (never a raw path)."""
    if name not in folder_paths.get_filename_list(folder_name):
        raise FileNotFoundError(
            f"{folder_name}: '{name}' is not in {folder_paths.get_folder_paths(folder_name)}. "
            "Fix: copy the model file there and refresh the node list."
        )
    return folder_paths.get_full_path_or_raise(folder_name, name)


def progress_callback(total: int):
    """A `(done, total, preview=None)` callback that drives the host progress bar and raises on cancel."""
    bar = comfy.utils.ProgressBar(total)

    def report(done: int, total_now: int | None = None, preview=None) -> None:
        mm.throw_exception_if_processing_interrupted()
        bar.update_absolute(done, total_now, preview)

    return report


def interrupt_check() -> None:
    """Raise the host's interrupt exception when the user pressed Cancel (or POSTed /interrupt)."""
    mm.throw_exception_if_processing_interrupted()


def vae_factor(vae) -> int:
    """Pixels per latent cell of an image VAE (8 for SD1.5's and TAESD)."""
    return int(getattr(vae, "downscale_ratio", 8))


def vae_encode_bytes(vae, image) -> int:
    """The host's estimate of the memory one VAE encode of a b h w c image takes (0 when the VAE has none)."""
    estimate = getattr(vae, "memory_used_encode", None)
    return int(estimate(image.movedim(-1, 1).shape, getattr(vae, "vae_dtype", image.dtype))) if estimate is not None else 0


def compute_device():
    """The device the host runs models on (CUDA when present, else CPU)."""
    return mm.get_torch_device()


def offload_device():
    return mm.unet_offload_device()


def free_memory(device) -> int:
    """Free bytes on a device as the host sees them (VRAM on CUDA, RAM on the CPU)."""
    return int(mm.get_free_memory(device))


def wrap_for_model_management(model):
    """A ModelPatcher so the host moves the model to the GPU for sampling and offloads it after."""
    import comfy.model_patcher

    return comfy.model_patcher.ModelPatcher(model, load_device=compute_device(), offload_device=offload_device())


def load_to_device(*patchers) -> None:
    """Ask the host to load (and make room for) wrapped models on their load devices."""
    mm.load_models_gpu(list(patchers))


def sampling_devices(text: str) -> list:
    """A node's device list ('cuda:0, cuda:1'; empty = the host's device) as torch devices that exist here."""
    import torch

    from ..pipelines.devices import parse_devices

    return parse_devices(text, compute_device(), torch.cuda.device_count() if torch.cuda.is_available() else 0)


def device_patchers(patcher, devices: list, replicas: dict) -> list:
    """One ModelPatcher per listed device: the host's own for the first use of its device, elsewhere copies of
    the model made once and kept in `replicas` (keyed by device and list position) for the next runs."""
    import comfy.model_patcher

    from ..pipelines.model_files import replicate

    patchers = []
    for slot, device in enumerate(devices):
        if device == patcher.load_device and patcher not in patchers:
            patchers.append(patcher)
            continue
        key = (str(device), slot)
        if key not in replicas:
            copy = replicate(patcher.model, offload_device())
            replicas[key] = comfy.model_patcher.ModelPatcher(copy, load_device=device, offload_device=offload_device())
        patchers.append(replicas[key])
    return patchers


def model_dtype(choice: str, device) -> "torch.dtype":
    """Widget choice (auto / fp16 / bf16 / fp32) -> dtype; auto follows the host's UNet dtype policy."""
    import torch

    named = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
    if choice in named:
        return named[choice]
    return mm.unet_dtype(device=device, supported_dtypes=[torch.float16, torch.bfloat16, torch.float32])


def sampling_callback(total: int):
    """A sampler callback(done, total, latent) that shows latent previews (SD1.5 colours) on the progress bar."""
    import comfy.latent_formats
    import latent_preview

    previewer = latent_preview.get_previewer(compute_device(), comfy.latent_formats.SD15())
    report = progress_callback(total)

    def on_step(done: int, total_now: int, latent) -> None:
        preview = None
        if previewer is not None and latent is not None:
            preview = previewer.decode_latent_to_preview_image("JPEG", latent.float().cpu())
        report(done, total_now, preview)

    return on_step


@functools.lru_cache(maxsize=1)
def cached_speaker_encoder():
    """The pack's GE2E speaker encoder, loaded once per server (small, CPU)."""
    from ..pipelines.voice.speaker_encoder import load_speaker_encoder

    return load_speaker_encoder()
