"""Video sampling with the region-gated model: one clip, or a long sequence by window schedules.

Shift fusion (002 §3.3, Algorithm 1) is the default long-video strategy: every step runs the model on
the schedule's full-length windows (latents, audio blocks and masks gathered at the same indices, so
frame i always sees audio i), fuses the window outputs into one sequence prediction and takes ONE
scheduler step on the whole sequence. Overlapping windows use the same loop with blend weights; Hallo's
motion frames (001 §3.3) denoise clips one after another, the previous clip's last frames held known.

Hallo checkpoints (config.motion.reference_motion_frames > 0) take motion frames the way the released
inference does: per clip the ReferenceNet re-encodes the reference with the previous clip's last frames (the
reference itself for the first clip), and their features lead the temporal modules' sequences. The pack
passes the denoised latents directly, where Hallo decodes them to pixels and encodes them again with the VAE.
In shift_fusion / overlap such models see the reference as motion frames in every window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from einops import rearrange

from .clip_parallel import LocalWindows
from .conditions import ReferenceFeatures, VideoConditions
from .config import PortraitModelConfig
from .deep_cache import DeepFeatureCache, DeepWindow
from .errors import PortraitInputError
from .guidance import GuidanceScales
from .interrupts import InterruptCheck, checked_layers
from .noise_schedulers import make_scheduler
from .portrait_model import PortraitModel
from .region_scales import audio_term_weight, gate_region_scales
from .speed_options import SpeedOptions, offloaded_reference_net, prepare_model
from .window_schedules import SONIC_ALPHA, WindowSchedule, motion_frame_clips, overlap_schedule, shift_fusion_schedule

#: callback(done, total, preview) -- preview is a b c h w latent of the frame being worked on; raising aborts.
StepCallback = Callable[[int, int, torch.Tensor | None], None]

STRATEGIES = ("shift_fusion", "overlap", "motion_frames")


@dataclass(frozen=True)
class LongVideoOptions:
    """How sequences longer than one clip are sampled (the ShiftFusionLongVideo node's settings)."""

    strategy: str = "shift_fusion"
    alpha: int = SONIC_ALPHA
    seam: str = "silent_pad"  # or "circular" (Sonic's released code)
    overlap: int = 4  # frames shared by neighbouring windows (strategy "overlap")
    motion_frames: int = 2  # preceding frames held known (strategy "motion_frames")


@dataclass(frozen=True)
class SamplerSettings:
    steps: int = 25
    scheduler: str = "ddim"
    guidance: GuidanceScales = field(default_factory=GuidanceScales)
    seed: int = 0


def check_conditions(config: PortraitModelConfig, cond: VideoConditions, settings: SamplerSettings) -> None:
    """Raise PortraitInputError for inputs the model cannot use, before any heavy work."""
    expected = (config.audio.context_frames, config.audio.feature_dim)
    found = tuple(cond.audio_blocks.shape[2:])
    if found != expected:
        raise PortraitInputError(
            "audio",
            f"audio blocks of shape (l, c) = {found}, the model's audio projection takes {expected} ({config.audio.encoder})",
            f"encode the audio with the '{config.audio.encoder}' encoder and context_frames={expected[0]}",
        )
    if cond.audio_blocks.shape[1] < 1:
        raise PortraitInputError("audio", "no video frames", "give audio at least one frame long")
    if settings.steps < 1:
        raise PortraitInputError("steps", f"{settings.steps} steps", "use at least 1 denoising step")
    if cond.masks.shape[1] != len(config.regions):
        raise PortraitInputError(
            "regions", f"{cond.masks.shape[1]} region masks, the model gates {len(config.regions)} {config.regions}",
            "build the masks with the layout this model was trained with",
        )


def initial_noise(seed: int, latent: torch.Tensor, frames: int) -> torch.Tensor:
    """Seeded noise b c frames h w, drawn on the CPU so a seed gives the same video on every device."""
    generator = torch.Generator("cpu").manual_seed(seed)
    batch, channels, height, width = latent.shape
    return torch.randn((batch, channels, frames, height, width), generator=generator).to(latent.device)


def padded_noise(noise: torch.Tensor, padded_frames: int, seed: int) -> torch.Tensor:
    """b c n h w -> b c padded_frames h w; the padding frames get their own seeded noise, the real ones keep theirs."""
    missing = padded_frames - noise.shape[2]
    if missing <= 0:
        return noise
    generator = torch.Generator("cpu").manual_seed(seed + 1)
    batch, channels, _, height, width = noise.shape
    pad = torch.randn((batch, channels, missing, height, width), generator=generator).to(noise)
    return torch.cat([noise, pad], dim=2)


def guided_prediction(
    model: PortraitModel,
    sample: torch.Tensor,
    timestep: torch.Tensor,
    reference: ReferenceFeatures,
    audio_blocks: torch.Tensor,
    cond: VideoConditions,
    guidance: GuidanceScales,
    *,
    videos: torch.Tensor | None = None,
    batched: bool = True,
    deep: DeepWindow | None = None,
) -> torch.Tensor:
    """All CFG branches of one window. sample: w c f h w, audio_blocks: w f l c -> w c f h w.

    videos: w, the video (row of cond and reference) of each item; default item i is video i (several windows
    of one video ride in one call with repeated indices). batched: all branches in one model call, else one
    call per branch. deep: the DeepCache view of this call (deep_cache.py) or None.
    """
    videos = torch.arange(sample.shape[0]) if videos is None else videos
    guidance = guidance.for_audio_module(model.config.audio.module)
    weight = audio_term_weight(
        cond.masks[videos].to(sample.device).float(), cond.region_scales[videos].to(sample.device).float(), guidance, model.config.regions
    )
    branches = guidance.branches(regional=weight is not None)
    paired = "uncond" in branches
    outputs = {}
    for call in [branches] if batched else [(b,) for b in branches]:
        shallow = None if deep is None else deep.for_branches(call)
        outputs.update(zip(call, _branch_outputs(model, sample, timestep, reference, audio_blocks, cond, call, videos, shallow, paired)))
    return guidance.combine(outputs, weight)


def _branch_outputs(model, sample, timestep, reference, audio_blocks, cond, branches, videos, shallow, paired=True) -> tuple:
    """One model call over `branches` (batch order) -> one w c f h w output per branch. paired: the step also
    computes the uncond branch (model.predict's paired_with_uncond)."""
    items, k = sample.shape[0], len(branches)
    dtype = next(model.parameters()).dtype
    device = sample.device
    videos = videos.to(device)
    with_reference = torch.tensor([b != "uncond" for b in branches], device=device).repeat_interleave(items)
    region_scales = gate_region_scales(model.config, cond.region_scales[videos], branches).to(device, dtype)
    output = model.predict(
        sample.repeat(k, 1, 1, 1, 1).to(dtype),
        timestep.to(device).expand(k * items),
        reference,
        audio_blocks.repeat(k, 1, 1, 1).to(device),
        cond.masks[videos].repeat(k, 1, 1, 1).to(device, dtype),
        region_scales,
        videos.repeat(k),
        with_reference,
        paired_with_uncond=paired,
        **({} if shallow is None else {"shallow": shallow}),
    ).float()
    return output.chunk(k)


def padded_audio(cond: VideoConditions, length: int) -> torch.Tensor:
    """b n l c -> b length l c, frames past n carrying the silence block."""
    blocks = cond.audio_blocks
    missing = length - blocks.shape[1]
    if missing <= 0:
        return blocks
    pad = cond.silence_block.to(blocks)[None, None].expand(blocks.shape[0], missing, -1, -1)
    return torch.cat([blocks, pad], dim=1)


def silent_frames(scheduler, reference_latent: torch.Tensor, noise: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
    """Padding frames at noise level t: the still reference re-noised with their own noise (b c p h w).

    Reset every step, they carry no information between windows, so padding never links the video's
    end to its start (the silent_pad seam).
    """
    still = reference_latent[:, :, None].expand_as(noise)
    return scheduler.add_noise(still, noise, timestep.reshape(1))


def window_schedule(frames: int, clip_length: int, steps: int, options: LongVideoOptions) -> WindowSchedule:
    """The per-step windows of the shift-fusion or overlap strategy."""
    if options.strategy == "overlap":
        return overlap_schedule(frames, clip_length, options.overlap, steps)
    return shift_fusion_schedule(frames, clip_length, steps, options.alpha, options.seam)


def sample_video(
    model: PortraitModel,
    cond: VideoConditions,
    settings: SamplerSettings = SamplerSettings(),
    long_video: LongVideoOptions = LongVideoOptions(),
    callback: StepCallback | None = None,
    noise: torch.Tensor | None = None,
    windows: LocalWindows | None = None,
    speed: SpeedOptions = SpeedOptions(),
    interrupt: InterruptCheck | None = None,
) -> torch.Tensor:
    """Denoise a whole video. -> b c n h w latents (model scale; divide by latent_scale for the VAE).

    speed: the sampler-side speed switches (speed_options.py); the defaults are lossless. interrupt: called
    before every UNet layer of every model call (interrupts.py); raising cancels within one layer.

    noise: b c n h w starting noise (default: drawn from settings.seed). windows: which of each step's windows
    this process runs and how the outputs of the others arrive (default LocalWindows: all, here; a
    clip_parallel.DistributedWindows spreads shift_fusion / overlap windows over ranks).
    """
    if long_video.strategy not in STRATEGIES:
        raise PortraitInputError("strategy", f"unknown strategy '{long_video.strategy}'", f"choose one of {STRATEGIES}")
    windows = windows or LocalWindows()
    if speed.deep_cache_interval > 1 and windows.world_size > 1:
        raise ValueError(
            "deep_cache_interval > 1 needs every window of a step in one process on one device (its cache is per frame "
            "of the sequence); use it with LocalWindows, or turn it off to spread windows over ranks or devices"
        )
    if long_video.strategy == "motion_frames" and windows.world_size > 1:
        raise PortraitInputError(
            "strategy", "motion_frames denoises clips one after another, so its clips cannot run on several ranks or devices",
            "use shift_fusion or overlap to spread windows, or run motion_frames on one device in one process",
        )
    config = model.config
    check_conditions(config, cond, settings)
    if noise is None:
        noise = initial_noise(settings.seed, cond.reference_latent, cond.audio_blocks.shape[1])
    device = cond.reference_latent.device
    replicas = getattr(windows, "replicas", [model])
    for replica in replicas:
        prepare_model(replica, speed)
    run = SamplingRun(model, cond, settings, speed, callback)
    with torch.no_grad(), speed.autocast_context(device), checked_layers({model, *replicas}, interrupt):
        if long_video.strategy == "motion_frames" and config.motion.reference_motion_frames > 0:
            return _sample_clips(run, noise, config.motion.reference_motion_frames, reference=None)
        reference = run.encode_reference()
        with offloaded_reference_net(model, speed, device):
            if long_video.strategy == "motion_frames":
                return _sample_clips(run, noise, long_video.motion_frames, reference)
            return _sample_windows(run, reference, long_video, noise, windows)


@dataclass
class SamplingRun:
    """What the loops of one sample_video call share: the model, the video's conditions, the settings, the speed
    switches, and the progress reported to `callback` (done of `total` model steps)."""

    model: PortraitModel
    cond: VideoConditions
    settings: SamplerSettings = SamplerSettings()
    speed: SpeedOptions = SpeedOptions()
    callback: StepCallback | None = None
    total: int = 0
    done: int = 0

    def scheduler(self, device: torch.device):
        """A fresh noise scheduler with the settings' timesteps on `device`."""
        scheduler = make_scheduler(self.settings.scheduler, self.model.config)
        scheduler.set_timesteps(self.settings.steps, device=device)
        return scheduler

    def guidance_at(self, step: int) -> GuidanceScales:
        return self.speed.guidance_at(self.settings.guidance, step, self.settings.steps)

    def encode_reference(self, motion_latents: torch.Tensor | None = None) -> ReferenceFeatures:
        """The reference (and Hallo's motion frames b m c h w) through the ReferenceNet, in the model's dtype."""
        weights = next(self.model.parameters())
        motion = {} if motion_latents is None else {"motion_latents": motion_latents.to(weights)}
        return self.model.encode_reference(self.cond.reference_latent.to(weights), **motion, **self.cond.face_inputs())

    def report(self, preview: torch.Tensor) -> None:
        """One more model step done; preview: b c h w latent of the frame being worked on."""
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total, preview)


def deep_cache(speed: SpeedOptions, videos: int, length: int) -> DeepFeatureCache | None:
    """A DeepCache over a padded sequence of `length` frames where the lossy switch is on."""
    return DeepFeatureCache(speed.deep_cache_interval, videos, length) if speed.deep_cache_interval > 1 else None


def windows_prediction(run: SamplingRun, model, model_input, t, reference, audio, cond, guidance, windows, cache, step) -> list:
    """w windows of the sequence in one call of `model` (the run's or a replica). model_input: b c n h w (any device;
    only the windows' frames move to the model's), audio: b n l c on the model's device, windows: w f indices ->
    w guided outputs b c f h w (one window is the plain per-window call)."""
    count, batch = windows.shape[0], model_input.shape[0]
    windows = windows.to(audio.device)
    flat = windows.flatten()
    gathered = model_input.index_select(2, flat.to(model_input.device)).to(audio.device)
    sample = rearrange(gathered, "b c (k f) y x -> (k b) c f y x", k=count)
    blocks = rearrange(audio.index_select(1, flat), "b (k f) l c -> (k b) f l c", k=count)
    videos = torch.arange(batch).repeat(count)
    deep = None if cache is None else cache.window(step, windows.repeat_interleave(batch, dim=0), videos)
    output = guided_prediction(
        model, sample, t, reference, blocks, cond, guidance, videos=videos, batched=run.speed.batched_cfg, deep=deep
    )
    return list(output.chunk(count))


def _sample_windows(run: SamplingRun, reference: ReferenceFeatures, long_video: LongVideoOptions, noise: torch.Tensor, windows: LocalWindows) -> torch.Tensor:
    """Shift fusion or overlap: every step runs the model on the schedule's windows and takes one scheduler step on
    the fused sequence."""
    model, cond, settings, speed = run.model, run.cond, run.settings, run.speed
    frames = cond.audio_blocks.shape[1]
    schedule = window_schedule(frames, model.config.clip_length, settings.steps, long_video)
    device = cond.reference_latent.device
    scheduler = run.scheduler(device)
    audio = padded_audio(cond, schedule.padded_length)
    x = padded_noise(noise, schedule.padded_length, settings.seed) * scheduler.init_noise_sigma
    pad_noise = x[:, :, frames:] / scheduler.init_noise_sigma
    run.total = sum(len(windows.windows_to_run(len(w))) for w in schedule.steps)
    per_call = speed.windows_per_call(device) if windows.world_size == 1 else 1  # ranks / replicas take windows one by one
    cache = deep_cache(speed, x.shape[0], schedule.padded_length)
    copies: dict[torch.device, tuple[ReferenceFeatures, VideoConditions, torch.Tensor]] = {}

    def on_device(replica_device: torch.device) -> tuple[ReferenceFeatures, VideoConditions, torch.Tensor]:
        """The video's reference features, conditions and padded audio on a replica's device (copied once)."""
        if replica_device == device:
            return reference, cond, audio
        if replica_device not in copies:
            copies[replica_device] = (reference.to(replica_device), cond.to(replica_device), audio.to(replica_device))
        return copies[replica_device]

    for step, t in enumerate(scheduler.timesteps):
        if schedule.padded_length > frames:
            x[:, :, frames:] = silent_frames(scheduler, cond.reference_latent, pad_noise, t)
        model_input = scheduler.scale_model_input(x, t)
        step_windows = schedule.steps[step]
        guidance = run.guidance_at(step)
        batched: dict[int, torch.Tensor] = {}

        def run_window(index: int, replica: PortraitModel | None) -> torch.Tensor:
            """One window's guided prediction on the sampler's model (replica None) or on a replica's device.

            The window's group of `per_call` windows runs in one call, its other outputs kept until asked.
            """
            if index in batched:
                return batched.pop(index)
            on = device if replica is None else next(replica.parameters()).device
            replica_reference, replica_cond, replica_audio = on_device(on)
            group = list(range(index, min(index + per_call, len(step_windows))))
            outputs = windows_prediction(
                run, replica or model, model_input, t, replica_reference, replica_audio, replica_cond, guidance,
                step_windows[group], cache, step,
            )
            batched.update(zip(group, outputs))
            return batched.pop(index)

        def on_done(index: int) -> None:
            run.report(x[:, :, step_windows[index][0]])

        window_shape = (*x.shape[:2], schedule.clip_length, *x.shape[3:])  # b c f h w
        outputs = windows.step_outputs(len(step_windows), run_window, on_done, window_shape, device)
        x = scheduler.step(schedule.fuse_step(step, outputs), t, x).prev_sample
    return x[:, :, :frames]


def _sample_clips(run: SamplingRun, noise: torch.Tensor, motion_frames: int, reference: ReferenceFeatures | None) -> torch.Tensor:
    """Hallo's motion frames (001 §3.3): clips denoised one after another, each continuing the previous clip's last
    `motion_frames` frames. reference: the reference's features, the previous frames riding in the clip as known
    latents (re-encoded every clip unless speed.reference_once); None: Hallo checkpoints, whose ReferenceNet encodes
    the reference with the previous frames for every clip."""
    cond, settings = run.cond, run.settings
    frames = cond.audio_blocks.shape[1]
    clips = motion_frame_clips(frames, run.model.config.clip_length, motion_frames)
    device = cond.reference_latent.device
    audio = padded_audio(cond, clips.padded_length)
    noise = padded_noise(noise, clips.padded_length, settings.seed)
    result = torch.zeros_like(noise)
    run.total = len(clips) * settings.steps
    cache = deep_cache(run.speed, noise.shape[0], clips.padded_length)
    for clip, (new, context) in enumerate(clips):
        new, context = new.to(device), context.to(device)
        if reference is None:
            motion = result[:, :, context].transpose(1, 2) if len(context) else None
            result[:, :, new] = reference_clip(run, noise[:, :, new], audio[:, new], motion, cache, new)
            continue
        if clip > 0 and not run.speed.reference_once:  # Hallo's loop runs the ReferenceNet for every clip
            reference = run.encode_reference()
        known = (result[:, :, context], noise[:, :, context])
        result[:, :, new] = denoise_clip(run, reference, noise[:, :, new], audio[:, torch.cat([context, new])], known, cache, torch.cat([context, new]))
    return result[:, :, :frames]


def reference_clip(
    run: SamplingRun,
    noise: torch.Tensor,
    audio: torch.Tensor,
    motion_latents: torch.Tensor | None = None,
    cache: DeepFeatureCache | None = None,
    window: torch.Tensor | None = None,
    on_step: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """One clip of Hallo's loop. noise: b c f h w, audio: b f l c, motion_latents: b m c h w (None: the reference
    itself, Hallo's first clip) -> b c f h w latents after the run's steps.

    The ReferenceNet encodes the reference with the motion frames, then the clip is denoised with them."""
    return denoise_clip(run, run.encode_reference(motion_latents), noise, audio, None, cache, window, on_step)


def denoise_clip(
    run: SamplingRun,
    reference: ReferenceFeatures,
    noise: torch.Tensor,
    audio: torch.Tensor,
    known: tuple[torch.Tensor, torch.Tensor] | None = None,
    cache: DeepFeatureCache | None = None,
    window: torch.Tensor | None = None,
    on_step: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """One clip denoised through the run's steps. noise: b c f h w; known: (latents, their noise) b c m h w of m
    frames that lead the clip, re-noised to every step's level and held fixed (None: none); audio: b (m+f) l c ->
    b c f h w. window: the m+f sequence indices (for the DeepCache), default 0 .. m+f-1; on_step(x) after every step."""
    scheduler = run.scheduler(noise.device)
    lead = 0 if known is None else known[0].shape[2]
    window = torch.arange(lead + noise.shape[2], device=noise.device) if window is None else window
    x = noise * scheduler.init_noise_sigma
    for step, t in enumerate(scheduler.timesteps):
        model_input = x if not lead else torch.cat([scheduler.add_noise(*known, t.reshape(1)), x], dim=2)
        prediction = clip_prediction(run, scheduler.scale_model_input(model_input, t), t, reference, audio, cache, step, window)
        x = scheduler.step(prediction[:, :, lead:], t, x).prev_sample
        run.report(x[:, :, 0])
        if on_step is not None:
            on_step(x)
    return x


def clip_prediction(run: SamplingRun, model_input, t, reference, audio, cache, step, window) -> torch.Tensor:
    """Guided prediction of one clip of the clip loop under the speed switches. window: f sequence indices."""
    batch = model_input.shape[0]
    deep = None if cache is None else cache.window(step, window[None].expand(batch, -1), torch.arange(batch))
    return guided_prediction(
        run.model, model_input, t, reference, audio, run.cond, run.guidance_at(step), batched=run.speed.batched_cfg, deep=deep
    )
