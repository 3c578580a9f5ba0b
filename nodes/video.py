"""VAEDecodeVideo: video latents -> frames and a streamed H.264 mp4 with the driving audio."""

import os

import comfy.model_management as mm
import folder_paths
import torch
from comfy_api.latest import io

from ..pipelines.errors import PortraitInputError
from ..pipelines.output_files import check_filename_prefix
from ..pipelines.portrait_fit import fit_image, fit_regions, fit_to_size, mask_centre
from ..pipelines.video_decode import (
    BackgroundStabilizer,
    FrameCollector,
    DecodePlan,
    FrameDecoder,
    as_video_latents,
    decode_ceiling,
    decode_video_chunks,
    estimate_decode_bytes,
    head_mask_of,
    plan_decode,
    video_frame_count,
)
from ..pipelines.video_writer import write_mp4
from .host import progress_callback
from .schema import PortraitRegions, output


def _check_image_vae(vae, latents) -> None:
    """Per-frame decoding needs an image VAE whose latent channels match."""
    if getattr(vae, "latent_dim", 2) != 2:
        raise PortraitInputError(
            "vae", "is a video VAE (it compresses time), but this node decodes frame by frame",
            "load the image VAE the portrait model was trained with (e.g. sd-vae-ft-mse) in VAELoader",
        )
    channels = getattr(vae, "latent_channels", latents.shape[1])
    if latents.shape[1] != channels:
        raise PortraitInputError(
            "latent", f"has {latents.shape[1]} channels but the VAE decodes {channels}",
            "connect the VAE that matches the sampler's model",
        )


def _frame_size(vae, latents) -> tuple[int, int]:
    """Decoded (height, width) of b c f h w latents."""
    scale = int(getattr(vae, "downscale_ratio", 8))
    return latents.shape[-2] * scale, latents.shape[-1] * scale


def _decode_plan(vae, latents, chunk_size: int) -> DecodePlan:
    """The chunk_size widget, or (0) a plan from the VAE device's free memory: whole frames in chunks, or tiles."""
    if chunk_size > 0:
        return DecodePlan(chunk_size)
    if hasattr(vae, "memory_used_decode"):
        frame_bytes = vae.memory_used_decode((1, latents.shape[1], *latents.shape[-2:]), vae.vae_dtype)
    else:
        frame_bytes = estimate_decode_bytes(*_frame_size(vae, latents))
    device = getattr(vae, "device", None) or mm.get_torch_device()
    ceiling = decode_ceiling(device, low_vram=mm.vram_state in (mm.VRAMState.LOW_VRAM, mm.VRAMState.NO_VRAM))
    return plan_decode(mm.get_free_memory(device), frame_bytes, tuple(latents.shape[-2:]), max_bytes=ceiling)


def _frame_decoder(vae, plan: DecodePlan) -> FrameDecoder:
    """ComfyUI's VAE decode, or its tiled decode (tiles of plan.tile latent pixels, a quarter overlapping)."""
    if plan.tile is None:
        return vae.decode
    return lambda chunk: vae.decode_tiled(chunk, tile_x=plan.tile, tile_y=plan.tile, overlap=plan.tile // 4)


def _check_frames_fit(total: int, frame_size: tuple[int, int]) -> None:
    """An IMAGE batch of all frames (float32 f h w 3) must fit in free RAM; say so before decoding."""
    needed = total * frame_size[0] * frame_size[1] * 3 * 4
    free = mm.get_free_memory(torch.device("cpu"))
    if needed > free:
        raise PortraitInputError(
            "return_frames", f"would hold {total} frames in {needed / 2**30:.1f} GB of RAM but {free / 2**30:.1f} GB "
            "are free", "turn off return_frames and keep save_mp4 on: the mp4 is streamed without holding the frames",
        )


def _stabilizer(strength: float, reference, regions, frame_size: tuple[int, int]):
    if strength <= 0:
        return None
    if reference is None:
        raise PortraitInputError("reference", "is missing but background_stabilize is on",
                                 "connect the portrait image, or set background_stabilize to 0")
    if regions is None:
        raise PortraitInputError("regions", "are missing but background_stabilize is on",
                                 "connect the regions of RegionMaskFromLandmarks, or set background_stabilize to 0")
    fit = fit_to_size(tuple(reference.shape[1:3]), frame_size, mask_centre(regions.masks))  # the sampler's crop
    return BackgroundStabilizer(fit_image(reference[..., :3], fit), head_mask_of(fit_regions(regions, fit)), strength)


class VAEDecodeVideo(io.ComfyNode):
    """Decodes video latents chunk by chunk; returns the frames and/or streams them into an mp4 with audio."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="VAEDecodeVideo",
            display_name="VAE Decode Video (Gated Portrait)",
            category="GatedPortrait/video",
            description=(
                "VAE decode for long portrait videos: decodes in frame chunks (progress and cancel per chunk) and "
                "streams them into an H.264 mp4 with the driving audio, so long videos never sit in memory whole. A "
                "cancelled save leaves no file. Odd frame sizes are padded by one edge pixel in the mp4 (H.264 needs "
                "even sizes)."
            ),
            inputs=[
                io.Vae.Input("vae", tooltip="The image VAE of the portrait model (e.g. sd-vae-ft-mse from VAELoader)."),
                io.Latent.Input("latent", tooltip=(
                    "Video latents b c f h w from the portrait sampler, in the VAE's latent space. An image batch "
                    "f c h w is decoded as one video of f frames.")),
                io.Int.Input("chunk_size", default=0, min=0, max=4096, tooltip=(
                    "Frames decoded at once. 0 = automatic from the device's free memory (on a GPU at most 2 GB per "
                    "chunk, 1 GB with --lowvram; a frame that alone does not fit is decoded in tiles). Lower it if "
                    "decoding runs out of memory; progress and cancel happen once per chunk.")),
                io.Audio.Input("audio", optional=True,
                               tooltip="The driving speech; muxed into the mp4 as AAC (first batch item)."),
                io.Float.Input("fps", default=25.0, min=1.0, max=240.0, step=0.01, optional=True, tooltip=(
                    "Frame rate of the mp4, stored exactly (use the fps the audio was encoded at).")),
                io.Boolean.Input("save_mp4", default=True, optional=True, tooltip=(
                    "Stream the frames into an H.264 mp4 in the output folder as they are decoded.")),
                io.String.Input("filename_prefix", default="GatedPortrait", optional=True, tooltip=(
                    "Name of the mp4 in the output folder; may contain a sub-folder, e.g. 'portraits/take'.")),
                io.Boolean.Input("return_frames", default=True, optional=True, tooltip=(
                    "Output every frame as an IMAGE batch. Turn off for long videos (a 10-minute 512x512 video is "
                    "47 GB of frames): then only the mp4 is written and the IMAGE output holds just the last frame.")),
                io.Float.Input("background_stabilize", default=0.0, min=0.0, max=1.0, step=0.05, optional=True,
                               tooltip=(
                    "Pull the background (outside the head, with a soft edge) toward the reference image: 0 = off, "
                    "1 = the reference's background. Steadies long videos. Needs reference and regions.")),
                io.Image.Input("reference", optional=True,
                               tooltip="The portrait image, for background_stabilize (resized to the frames)."),
                PortraitRegions.Input("regions", optional=True, tooltip=(
                    "Region masks of the portrait (RegionMaskFromLandmarks); the head region (hallo layout: "
                    "everything but pose) is kept as generated by background_stabilize.")),
            ],
            outputs=[
                output(io.Image, "frames", (
                    "Decoded frames f h w 3 (all of them, or only the last when return_frames is off); usable with "
                    "core CreateVideo / SaveVideo.")),
                output(io.String, "mp4_path", "Full path of the saved mp4 ('' when save_mp4 is off)."),
            ],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, filename_prefix=None) -> bool | str:
        """The prefix is checked when the prompt is queued, before any node runs (None: it arrives by a link)."""
        if filename_prefix is not None:
            try:
                check_filename_prefix(filename_prefix)
            except PortraitInputError as error:
                return str(error)
        return True

    @classmethod
    def execute(cls, vae, latent, chunk_size, audio=None, fps=25.0, save_mp4=True, filename_prefix="GatedPortrait",
                return_frames=True, background_stabilize=0.0, reference=None, regions=None) -> io.NodeOutput:
        if not (save_mp4 or return_frames):
            raise PortraitInputError("return_frames", "and save_mp4 are both off, so nothing would come out",
                                     "turn on return_frames or save_mp4")
        if save_mp4:
            check_filename_prefix(filename_prefix)  # again here: a prefix that arrives by a link is not validated
        latents = as_video_latents(latent["samples"])
        _check_image_vae(vae, latents)
        total = video_frame_count(latents)
        if total == 0:
            raise PortraitInputError("latent", "holds no frames", "connect the latents of a sampler that produced frames")
        if return_frames:
            _check_frames_fit(total, _frame_size(vae, latents))
        plan = _decode_plan(vae, latents, chunk_size)
        chunks = decode_video_chunks(
            latents, _frame_decoder(vae, plan), plan.chunk_size,
            stabilizer=_stabilizer(background_stabilize, reference, regions, _frame_size(vae, latents)),
            progress=progress_callback(total),
        )
        collector = FrameCollector(total, keep_all=return_frames)
        mp4_path, ui = "", {}
        if save_mp4:
            mp4_path, ui = cls._save(collector.tee(chunks), _frame_size(vae, latents), fps, filename_prefix, audio)
        else:
            collector.collect(chunks)
        frames = collector.frames if return_frames else collector.last[-1:].float().cpu()
        return io.NodeOutput(frames, mp4_path, ui=ui)

    @staticmethod
    def _save(chunks, frame_size, fps, filename_prefix, audio):
        """Stream the chunks into <output>/<prefix>_NNNNN_.mp4; returns (full path, UI preview entry)."""
        output_dir = folder_paths.get_output_directory()
        try:
            folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(
                filename_prefix, output_dir, frame_size[1], frame_size[0]
            )
        except Exception as error:  # the host raises a bare Exception for a prefix that leaves the output folder
            raise PortraitInputError(
                "filename_prefix", f"'{filename_prefix}' would save outside the output folder",
                "use a file name, or a sub-folder inside the output folder such as 'portraits/take'",
            ) from error
        os.makedirs(folder, exist_ok=True)
        file = f"{filename}_{counter:05}_.mp4"
        waveform, sample_rate = (audio["waveform"][0], audio["sample_rate"]) if audio is not None else (None, None)
        path = write_mp4(os.path.join(folder, file), chunks, fps, waveform, sample_rate)
        return path, {"images": [{"filename": file, "subfolder": subfolder, "type": "output"}], "animated": (True,)}

