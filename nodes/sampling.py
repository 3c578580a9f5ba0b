"""Sampling nodes: GatedUNetSample (the video sampler) and ShiftFusionLongVideo (its long-audio settings)."""

from __future__ import annotations

from comfy_api.latest import io

from ..pipelines.animate import animate, ordered_masks, preset_settings
from ..pipelines.clip_parallel import ReplicaWindows
from ..pipelines.guidance import GuidanceScales
from ..pipelines.memory_guard import require_memory, sampling_sequence_bytes
from ..pipelines.noise_schedulers import SCHEDULERS
from ..pipelines.portrait_fit import fit_portrait
from ..pipelines.region_scales import RegionScales
from ..pipelines.sampler import STRATEGIES, LongVideoOptions, SamplerSettings
from ..pipelines.speed_options import SPEED_PRESETS
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
from .schema import Choice, PortraitAudio, PortraitLongVideo, PortraitModel, PortraitRegions, output


#: regional_guidance widget -> GuidanceScales.regional (None: decided by the model's audio module).
REGIONAL_GUIDANCE = {"auto": None, "on": True, "off": False}


def _slider(name: str, region: str, meaning: str) -> io.Float.Input:
    return io.Float.Input(name, default=1.0, min=0.0, max=2.0, step=0.05, tooltip=(
        f"Motion frequency of the {region} (LinguaLinker's region scale; {meaning}). 0 = no audio-driven "
        "motion there, 1 = as trained, 2 = exaggerated."))


class ShiftFusionLongVideo(io.ComfyNode):
    """Settings for audio longer than one clip; plug into GatedUNetSample's long_video input."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="ShiftFusionLongVideo",
            display_name="Shift Fusion Long Video (settings)",
            category="GatedPortrait/sampling",
            description=(
                "Long-video strategy for GatedUNetSample. shift_fusion (Sonic): every step denoises full-length clips "
                "whose start shifts by alpha frames, so clip borders never stay put and minutes of audio come out "
                "seamless in one pass. overlap: blended overlapping windows. motion_frames: Hallo's clip-by-clip "
                "continuation."
            ),
            inputs=[
                Choice("strategy", options=list(STRATEGIES), default="shift_fusion", tooltip=(
                    "shift_fusion: Sonic's time-aware position shift (no overlap, no motion frames). overlap: windows "
                    "sharing `overlap` frames, blended. motion_frames: clips in turn, each continuing the previous "
                    "one.")),
                io.Int.Input("alpha", default=7, min=0, max=64, tooltip=(
                    "shift_fusion: frames the clip grid moves each denoising step (Sonic uses 7).")),
                Choice("seam", options=list(SEAMS), default="silent_pad", tooltip=(
                    "shift_fusion: silent_pad pads with silent frames so the end never blends into the start; "
                    "circular wraps the end onto the start exactly like Sonic's release (good for loops).")),
                io.Int.Input("overlap", default=4, min=0, max=31, tooltip=(
                    "overlap: frames shared by neighbouring windows (must be below the model's clip length).")),
                io.Int.Input("motion_frames", default=2, min=0, max=16, tooltip=(
                    "motion_frames: frames of the previous clip held fixed as context for the next one (Hallo uses "
                    "2).")),
            ],
            outputs=[output(PortraitLongVideo, "long_video")],
        )

    @classmethod
    def execute(cls, strategy: str, alpha: int, seam: str, overlap: int, motion_frames: int) -> io.NodeOutput:
        return io.NodeOutput(LongVideoOptions(strategy, alpha, seam, overlap, motion_frames))


class GatedUNetSample(io.ComfyNode):
    """Animates the reference portrait with the audio through the region-gated model."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GatedUNetSample",
            display_name="Gated UNet Sample (talking portrait)",
            category="GatedPortrait/sampling",
            description=(
                "Generates the talking-portrait video latents: the reference image through the ReferenceNet once, then "
                "the region-gated UNet denoises every frame with its own audio. Region sliders set how strongly the "
                "audio drives head, mouth and eyes. Audio longer than one clip uses the long_video settings (shift "
                "fusion by default)."
            ),
            inputs=[
                PortraitModel.Input("model", tooltip="From ReferenceNetLoad."),
                io.Image.Input("reference",
                               tooltip="The portrait to animate (the first image of the batch is used)."),
                io.Vae.Input("vae", tooltip=(
                    "The VAE that encodes the reference (SD1.5's, e.g. sd-vae-ft-mse, or TAESD).")),
                PortraitAudio.Input("audio",
                                    tooltip="From AudioEncode, with the encoder this model was trained with."),
                PortraitRegions.Input("regions",
                                      tooltip="From RegionMaskFromLandmarks, built from the same portrait."),
                _slider("head_scale", "head", "Hallo: pose"),
                _slider("mouth_scale", "mouth", "Hallo: lip"),
                _slider("eyes_scale", "eyes", "Hallo: expression"),
                io.Int.Input("steps", default=25, min=1, max=200, tooltip="Denoising steps (Hallo uses 40)."),
                Choice("scheduler", options=list(SCHEDULERS), default="ddim",
                       tooltip="Noise scheduler (diffusers); DDIM is what the papers use."),
                io.Float.Input("cfg_image", default=3.5, min=1.0, max=15.0, step=0.1, tooltip=(
                    "Reference-image guidance: how strongly the output follows the portrait (Hallo 3.5, Sonic 2.0). "
                    "1 with cfg_audio 1 runs a single branch (fastest).")),
                io.Float.Input("cfg_audio", default=3.5, min=1.0, max=15.0, step=0.1, tooltip=(
                    "Audio guidance: how strongly motion follows the speech (Hallo 3.5, Sonic 7.5).")),
                io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF,
                             tooltip="Noise seed; the same seed gives the same video on every device."),
                PortraitLongVideo.Input("long_video", optional=True, tooltip=(
                    "From ShiftFusionLongVideo; default: shift fusion, alpha 7, silent_pad.")),
                io.String.Input("devices", default="", optional=True, tooltip=(
                    "Several GPUs of this machine, e.g. 'cuda:0, cuda:1': each denoising step's clip windows are "
                    "spread over one model copy per device (same video, same seed, faster). Empty = the host's "
                    "device.")),
                io.Boolean.Input("compile", default=False, optional=True, tooltip=(
                    "torch.compile the denoising UNet: faster steps on a GPU after a one-time compile per resolution "
                    "and CFG setting (cached on disk for later runs). Worth it for long videos and batches; slow to "
                    "compile on a CPU.")),
                io.Float.Input("cfg_audio_head", default=0.0, min=0.0, max=15.0, step=0.1, optional=True, tooltip=(
                    "Audio guidance outside the mouth, where the speech drives head and eyes; the mouth keeps "
                    "cfg_audio. 0 = cfg_audio everywhere. Lower it when the head overshoots or the face smears at "
                    "pauses; it also calms the head and the eyes.")),
                Choice("regional_guidance", options=list(REGIONAL_GUIDANCE), default="auto", optional=True,
                       tooltip=(
                    "Regional audio guidance: a region slider other than 1 also weights the audio CFG term over its "
                    "region (needs a third, audio-free CFG branch). auto = on for the pack's gated models, off for "
                    "Hallo checkpoints, whose sliders are Hallo's pose / face / lip branch weights with Hallo's "
                    "two-branch CFG. on / off: force it.")),
                Choice("speed", options=list(SPEED_PRESETS), default="lossless", optional=True, tooltip=(
                    "lossless: every asked step with the scheduler chosen above. fast: UniPC at 30 % of the asked "
                    "steps with DeepCache (the UNet's deep blocks reused every second step); close to the lossless "
                    "video, several times faster.")),
            ],
            outputs=[output(io.Latent, "latent", (
                "Video latents [1, C, frames, h, w] in the VAE's latent space; decode with VAEDecodeVideo."))],
        )

    @classmethod
    def execute(cls, model, reference, vae, audio, regions, head_scale, mouth_scale, eyes_scale, steps, scheduler,
                cfg_image, cfg_audio, seed, long_video=None, devices="", compile=False, cfg_audio_head=0.0,
                regional_guidance="auto", speed="lossless") -> io.NodeOutput:
        device_list = sampling_devices(devices)
        factor = vae_factor(vae)
        portrait, regions, fit = fit_portrait(reference[:1, :, :, :3], regions, model.config.resolution,
                                              factor * model.config.unet_factor)
        frames, (height, width) = audio.frames, fit.size
        ordered_masks(model.config, regions, (height // factor, width // factor))  # a wrong layout fails before loading
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
        settings = preset_settings(speed, SamplerSettings(steps, scheduler, guidance, seed), long_video or LongVideoOptions(),
                                   compile)
        latents = animate(
            patchers[0].model, reference_latent, audio, regions, RegionScales(head_scale, mouth_scale, eyes_scale), settings,
            device=patchers[0].load_device, callback=sampling_callback(1), interrupt=interrupt_check,
            windows=ReplicaWindows([p.model for p in patchers]) if len(patchers) > 1 else None,
        )
        size = f"portrait {reference.shape[2]}x{reference.shape[1]} px, sampled at {width}x{height} px"
        return io.NodeOutput({"samples": (latents / model.config.latent_scale).cpu()}, ui={"gated_portrait_size": [size]})
