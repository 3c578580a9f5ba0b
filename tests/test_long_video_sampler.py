"""Long-video sampling: shift fusion keeps frames and audio aligned, seams fade, silent_pad never joins end and start."""

from __future__ import annotations

import torch

from pipelines.tiny_models import TINY, tiny_conditions, tiny_model
from pipelines.config import PortraitModelConfig
from pipelines.guidance import GuidanceScales
from pipelines.sampler import LongVideoOptions, SamplerSettings, initial_noise, sample_video

ONE_BRANCH = GuidanceScales(1.0, 1.0)


class FrameStub(torch.nn.Module):
    """A stand-in model whose output for each frame depends only on that frame's sample and audio."""

    def __init__(self):
        super().__init__()
        self.config = PortraitModelConfig.named("tiny")
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def encode_reference(self, latent):
        return None

    def predict(self, sample, timesteps, reference, audio_blocks, masks, scales, videos, with_reference, paired_with_uncond):
        return 0.5 * sample + audio_blocks.mean(dim=(2, 3))[:, None, :, None, None]


def _audio_frames(frames: int, seed: int = 3):
    cond = tiny_conditions(frames, seed=seed)
    g = torch.Generator().manual_seed(seed)
    cond.audio_blocks = torch.randn(1, frames, 1, 1, generator=g).expand(1, frames, *cond.audio_blocks.shape[2:]).clone()
    return cond


def test_shift_fusion_keeps_every_frame_on_its_own_audio():
    cond = _audio_frames(29)
    stub = FrameStub()
    settings = SamplerSettings(steps=5, guidance=ONE_BRANCH)
    unshifted = sample_video(stub, cond, settings, LongVideoOptions(alpha=0))
    for seam in ("silent_pad", "circular"):
        shifted = sample_video(stub, cond, settings, LongVideoOptions(alpha=7, seam=seam))
        assert torch.allclose(shifted, unshifted, atol=1e-5), seam


def test_alpha_zero_equals_independent_clip_by_clip_sampling():
    model = tiny_model(alpha=0.2)
    f = TINY.clip_length
    cond = tiny_conditions(2 * f)
    settings = SamplerSettings(steps=3, guidance=ONE_BRANCH)
    noise = initial_noise(11, cond.reference_latent, 2 * f)
    whole = sample_video(model, cond, settings, LongVideoOptions(alpha=0), noise=noise)
    for k in range(2):
        part = tiny_conditions(f)
        part.reference_latent, part.masks = cond.reference_latent, cond.masks
        part.audio_blocks = cond.audio_blocks[:, k * f : (k + 1) * f]
        clip = sample_video(model, part, settings, noise=noise[:, :, k * f : (k + 1) * f])
        assert torch.allclose(whole[:, :, k * f : (k + 1) * f], clip, atol=1e-5)


def test_silent_pad_end_ignores_the_start_audio_and_circular_does_not():
    model = tiny_model(alpha=0.5)
    f = TINY.clip_length
    frames = 10 * f
    cond = tiny_conditions(frames)
    changed = tiny_conditions(frames)
    changed.audio_blocks = cond.audio_blocks.clone()
    changed.audio_blocks[:, :2] = torch.randn_like(changed.audio_blocks[:, :2]) * 3
    settings = SamplerSettings(steps=3, guidance=ONE_BRANCH)
    tail = slice(frames - f, frames)
    for seam, end_moves in (("silent_pad", False), ("circular", True)):
        options = LongVideoOptions(alpha=3, seam=seam)
        a = sample_video(model, cond, settings, options)[:, :, tail]
        b = sample_video(model, changed, settings, options)[:, :, tail]
        assert (not torch.equal(a, b)) == end_moves, seam


def test_progress_counts_every_clip_of_every_step_and_a_raising_callback_stops():
    model = tiny_model()
    cond = tiny_conditions(20)
    seen = []
    sample_video(model, cond, SamplerSettings(steps=2, guidance=ONE_BRANCH), callback=lambda d, t, p: seen.append((d, t)))
    windows = len(seen) // 2
    assert seen == [(i + 1, 2 * windows) for i in range(2 * windows)]

    class Cancelled(Exception):
        pass

    def cancel(done, total, preview):
        if done == 2:
            raise Cancelled

    try:
        sample_video(model, cond, SamplerSettings(steps=2, guidance=ONE_BRANCH), callback=cancel)
    except Cancelled:
        pass
    else:
        raise AssertionError("the callback's exception must stop sampling")
