"""Sampling nodes: GatedUNetSample (the video sampler) and ShiftFusionLongVideo (its long-audio settings)."""

from __future__ import annotations

from ..pipelines.animate import AnimateSettings, animate
from ..pipelines.clip_parallel import ReplicaWindows
from ..pipelines.guidance import GuidanceScales
from ..pipelines.memory_guard import require_memory, sampling_sequence_bytes
from ..pipelines.noise_schedulers import SCHEDULERS
from ..pipelines.portrait_fit import fit_portrait
from ..pipelines.region_scales import RegionScales
from ..pipelines.sampler import STRATEGIES, LongVideoOptions, SamplerSettings
from ..pipelines.speed_options import SpeedOptions
from ..pipelines.window_schedules import SEAMS
from .host import (
    device_patchers,
    free_memory,
    interrupt_check,
    load_to_device,
    sampling_callback,
    sampling_devices,
    vae_encode_bytes,
    vae_factor,
)


#: regional_guidance widget -> GuidanceScales.regional (None: decided by the model's audio module).
REGIONAL_GUIDANCE = {"auto": None, "on": True, "off": False}


def _slider(region: str, meaning: str) -> tuple:
    return ("FLOAT", {"default": 1.0, "min": 0.0, "max": 2.0, "step": 0.05, "tooltip": (
        f"Motion frequency of the {region} (LinguaLinker's region scale; {meaning}). 0 = no audio-driven "
        "motion there, 1 = as trained, 2 = exaggerated.")})


class ShiftFusionLongVideo:
    """Settings for audio longer than one clip; plug into GatedUNetSample's long_video input."""

    DESCRIPTION = (
        "Long-video strategy for GatedUNetSample. shift_fusion (Sonic): every step denoises full-length clips whose "
        "start shifts by alpha frames, so clip borders never stay put and minutes of audio come out seamless in one "
        "pass. overlap: blended overlapping windows. motion_frames: Hallo's clip-by-clip continuation."
    )
    CATEGORY = "GatedPortrait/sampling"
    RETURN_TYPES = ("PORTRAIT_LONG_VIDEO",)
    RETURN_NAMES = ("long_video",)
    FUNCTION = "options"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "strategy": (list(STRATEGIES), {"default": "shift_fusion", "tooltip": (
                    "shift_fusion: Sonic's time-aware position shift (no overlap, no motion frames). overlap: windows "
                    "sharing `overlap` frames, blended. motion_frames: clips in turn, each continuing the previous one.")}),
                "alpha": ("INT", {"default": 7, "min": 0, "max": 64, "tooltip": (
                    "shift_fusion: frames the clip grid moves each denoising step (Sonic uses 7).")}),
                "seam": (list(SEAMS), {"default": "silent_pad", "tooltip": (
                    "shift_fusion: silent_pad pads with silent frames so the end never blends into the start; "
                    "circular wraps the end onto the start exactly like Sonic's release (good for loops).")}),
                "overlap": ("INT", {"default": 4, "min": 0, "max": 31, "tooltip": (
                    "overlap: frames shared by neighbouring windows (must be below the model's clip length).")}),
                "motion_frames": ("INT", {"default": 2, "min": 0, "max": 16, "tooltip": (
                    "motion_frames: frames of the previous clip held fixed as context for the next one (Hallo uses 2).")}),
            }
        }

    def options(self, strategy: str, alpha: int, seam: str, overlap: int, motion_frames: int):
        return (LongVideoOptions(strategy, alpha, seam, overlap, motion_frames),)


class GatedUNetSample:
    """Animates the reference portrait with the audio through the region-gated model."""

    DESCRIPTION = (
        "Generates the talking-portrait video latents: the reference image through the ReferenceNet once, then the "
        "region-gated UNet denoises every frame with its own audio. Region sliders set how strongly the audio "
        "drives head, mouth and eyes. Audio longer than one clip uses the long_video settings (shift fusion by default)."
    )
    CATEGORY = "GatedPortrait/sampling"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("latent",)
    OUTPUT_TOOLTIPS = ("Video latents [1, C, frames, h, w] in the VAE's latent space; decode with VAEDecodeVideo.",)
    FUNCTION = "sample"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": ("PORTRAIT_MODEL", {"tooltip": "From ReferenceNetLoad."}),
                "reference": ("IMAGE", {"tooltip": "The portrait to animate (the first image of the batch is used)."}),
                "vae": ("VAE", {"tooltip": "The VAE that encodes the reference (SD1.5's, e.g. sd-vae-ft-mse, or TAESD)."}),
                "audio": ("PORTRAIT_AUDIO", {"tooltip": "From AudioEncode, with the encoder this model was trained with."}),
                "regions": ("PORTRAIT_REGIONS", {"tooltip": "From RegionMaskFromLandmarks, built from the same portrait."}),
                "head_scale": _slider("head", "Hallo: pose"),
                "mouth_scale": _slider("mouth", "Hallo: lip"),
                "eyes_scale": _slider("eyes", "Hallo: expression"),
                "steps": ("INT", {"default": 25, "min": 1, "max": 200, "tooltip": "Denoising steps (Hallo uses 40)."}),
                "scheduler": (list(SCHEDULERS), {"default": "ddim", "tooltip": "Noise scheduler (diffusers); DDIM is what the papers use."}),
                "cfg_image": ("FLOAT", {"default": 3.5, "min": 1.0, "max": 15.0, "step": 0.1, "tooltip": (
                    "Reference-image guidance: how strongly the output follows the portrait (Hallo 3.5, Sonic 2.0). "
                    "1 with cfg_audio 1 runs a single branch (fastest).")}),
                "cfg_audio": ("FLOAT", {"default": 3.5, "min": 1.0, "max": 15.0, "step": 0.1, "tooltip": (
                    "Audio guidance: how strongly motion follows the speech (Hallo 3.5, Sonic 7.5).")}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "tooltip": "Noise seed; the same seed gives the same video on every device."}),
            },
            "optional": {
                "long_video": ("PORTRAIT_LONG_VIDEO", {"tooltip": "From ShiftFusionLongVideo; default: shift fusion, alpha 7, silent_pad."}),
                "devices": ("STRING", {"default": "", "tooltip": (
                    "Several GPUs of this machine, e.g. 'cuda:0, cuda:1': each denoising step's clip windows are spread "
                    "over one model copy per device (same video, same seed, faster). Empty = the host's device.")}),
                "compile": ("BOOLEAN", {"default": False, "tooltip": (
                    "torch.compile the denoising UNet: steps about 30 % faster on a GPU (0.72x on an H100 at 512 px) "
                    "after a one-time compile of about 2 minutes per resolution and CFG setting (cached on disk for "
                    "later runs). Worth it for long videos and batches; slow to compile on a CPU.")}),
                "cfg_audio_head": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 15.0, "step": 0.1, "tooltip": (
                    "Audio guidance outside the mouth, where the speech drives head and eyes; the mouth keeps cfg_audio. "
                    "0 = cfg_audio everywhere. Lower it when the head overshoots or the face smears at pauses; it "
                    "also calms the head and the eyes (demo model at cfg_audio 2.5: 1.0 removes its blink smears, "
                    "about 40 % of the head motion and most blinks; lip sync unchanged).")}),
                "regional_guidance": (list(REGIONAL_GUIDANCE), {"default": "auto", "tooltip": (
                    "Regional audio guidance: a region slider other than 1 also weights the audio CFG term over its "
                    "region (needs a third, audio-free CFG branch). auto = on for the pack's gated models, off for "
                    "Hallo checkpoints, whose sliders are Hallo's pose / face / lip branch weights with Hallo's "
                    "two-branch CFG. on / off: force it.")}),
            },
        }

    def sample(self, model, reference, vae, audio, regions, head_scale, mouth_scale, eyes_scale, steps, scheduler,
               cfg_image, cfg_audio, seed, long_video=None, devices="", compile=False, cfg_audio_head=0.0,
               regional_guidance="auto"):
        device_list = sampling_devices(devices)
        factor = vae_factor(vae)
        portrait, regions, fit = fit_portrait(reference[:1, :, :, :3], regions, model.config.resolution,
                                              factor * model.config.unet_factor)
        frames, (height, width) = audio.frames, fit.size
        latent_shape = (getattr(vae, "latent_channels", model.config.unet.in_channels), height // factor, width // factor)
        require_memory(
            sampling_sequence_bytes(frames, latent_shape, audio.blocks[0, 0].numel()) + vae_encode_bytes(vae, portrait),
            free_memory(model.patcher.load_device),
            f"a video of {frames} frames at {width}x{height} px",
        )
        interrupt_check()
        reference_latent = vae.encode(portrait)
        patchers = device_patchers(model.patcher, device_list, model.replicas)
        load_to_device(*patchers)
        guidance = GuidanceScales(cfg_image, cfg_audio, REGIONAL_GUIDANCE[regional_guidance], cfg_audio_head or None)
        settings = AnimateSettings(
            SamplerSettings(steps, scheduler, guidance, seed), long_video or LongVideoOptions(), SpeedOptions(compile=compile)
        )
        latents = animate(
            patchers[0].model, reference_latent, audio, regions, RegionScales(head_scale, mouth_scale, eyes_scale), settings,
            device=patchers[0].load_device, callback=sampling_callback(1), interrupt=interrupt_check,
            windows=ReplicaWindows([p.model for p in patchers]) if len(patchers) > 1 else None,
        )
        size = f"portrait {reference.shape[2]}x{reference.shape[1]} px, sampled at {width}x{height} px"
        return {"ui": {"gated_portrait_size": [size]}, "result": ({"samples": (latents / model.config.latent_scale).cpu()},)}

NODE_CLASS_MAPPINGS = {"GatedUNetSample": GatedUNetSample, "ShiftFusionLongVideo": ShiftFusionLongVideo}
NODE_DISPLAY_NAME_MAPPINGS = {
    "GatedUNetSample": "Gated UNet Sample (talking portrait)",
    "ShiftFusionLongVideo": "Shift Fusion Long Video (settings)",
}
