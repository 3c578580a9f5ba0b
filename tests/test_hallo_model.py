"""Hallo's behaviour in the pack's model and sampler: masked audio branches, uncond branch, train-mode quirk."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hallo_fixtures import TINY_HALLO, tiny_hallo_conditions, tiny_hallo_model
from pipelines.animate import video_conditions
from pipelines.conditions import RegionMasks
from pipelines.config import PortraitModelConfig
from pipelines.errors import PortraitInputError
from pipelines.guidance import GuidanceScales
from pipelines.hallo_audio_module import HalloAudioModule
from pipelines.noise_schedulers import make_scheduler
from pipelines.portrait_model import PortraitModel
from pipelines.region_scales import RegionScales
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video
from pipelines.speed_options import SpeedOptions

FRAMES = TINY_HALLO.clip_length


def _audio_module(bias: bool) -> HalloAudioModule:
    torch.manual_seed(0)
    module = HalloAudioModule(channels=16, inner_channels=8, audio_dim=6, heads=2, groups=4).eval()
    with torch.no_grad():
        for name, param in module.named_parameters():
            if "zero_conv" in name:
                param.normal_(0, 0.5) if name.endswith("weight") or bias else param.zero_()
    return module


def _lip_masks() -> torch.Tensor:
    masks = torch.zeros(1, 3, 32, 32)  # image resolution; the module runs at 8x8
    masks[:, 0] = 1.0
    masks[:, 2, 20:28, 12:20] = 1.0  # lip
    return masks


def test_fresh_hallo_audio_module_is_deaf_like_the_release():
    module = HalloAudioModule(channels=16, inner_channels=8, audio_dim=6, heads=2, groups=4).eval()
    h = torch.randn(1, 16, 8, 8)
    with torch.no_grad():
        a = module(h, torch.randn(1, 4, 6), _lip_masks(), torch.ones(1, 3))
        b = module(h, torch.randn(1, 4, 6) * 9, _lip_masks(), torch.ones(1, 3))
    assert torch.equal(a, b)


def test_lip_weight_acts_through_the_lip_mask_and_the_zero_conv_bias_everywhere():
    h, audio = torch.randn(1, 16, 8, 8), torch.randn(1, 4, 6)
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[5:7, 3:5] = True
    for bias, where in ((False, expected), (True, torch.ones(8, 8, dtype=torch.bool))):
        module = _audio_module(bias)
        with torch.no_grad():
            low = module(h, audio, _lip_masks(), torch.tensor([[1.0, 1.0, 0.2]]))
            high = module(h, audio, _lip_masks(), torch.tensor([[1.0, 1.0, 1.7]]))
        assert torch.equal((low - high).abs().amax(dim=1)[0] > 1e-6, where), bias


def _predict(model, cond, with_reference=True, scales=None, audio=None, motion_latents=None):
    reference = model.encode_reference(cond.reference_latent, motion_latents=motion_latents, **cond.face_inputs())
    sample = torch.randn(1, 4, FRAMES, 8, 8, generator=torch.Generator().manual_seed(5))
    return model.predict(
        sample, torch.tensor([500]), reference, cond.audio_blocks if audio is None else audio, cond.masks,
        cond.region_scales if scales is None else scales, torch.tensor([0]), torch.tensor([with_reference]),
    )


def test_hallo_uncond_rows_drop_audio_and_face_box_but_keep_the_region_weights():
    model = tiny_hallo_model()
    cond = tiny_hallo_conditions(FRAMES)
    moved = dataclasses.replace(cond, face_image=torch.roll(cond.face_image, 16, dims=-1))
    with torch.no_grad():
        base = _predict(model, cond, with_reference=False)
        other_audio = _predict(model, cond, with_reference=False, audio=torch.randn_like(cond.audio_blocks) * 5)
        other_box = _predict(model, moved, with_reference=False)
        other_weights = _predict(model, cond, with_reference=False, scales=torch.tensor([[0.0, 2.0, 0.5]]))
        conditional = _predict(model, cond)
        conditional_box = _predict(model, moved)
    assert torch.equal(base, other_audio) and torch.equal(base, other_box)
    assert not torch.allclose(base, other_weights)
    assert not torch.allclose(conditional, conditional_box)


def test_temporal_modules_of_the_skipped_blocks_never_run_with_the_quirk():
    plain_config = dataclasses.replace(TINY_HALLO, motion=dataclasses.replace(TINY_HALLO.motion, skip_blocks=(), reference_motion_frames=0))
    quirk, plain = tiny_hallo_model(), PortraitModel(plain_config).eval()
    plain.load_state_dict(quirk.state_dict())
    cond = tiny_hallo_conditions(FRAMES)
    with torch.no_grad():
        before = (_predict(quirk, cond), _predict(plain, cond))
        for model in (quirk, plain):
            for name in TINY_HALLO.motion.skip_blocks:
                for param in model.denoising_unet.get_submodule(name).motion_modules.parameters():
                    param.add_(0.3)
        after = (_predict(quirk, cond), _predict(plain, cond))
    assert torch.equal(before[0], after[0])
    assert not torch.allclose(before[1], after[1])


def test_motion_frames_from_the_reference_net_steer_the_temporal_modules():
    model = tiny_hallo_model()
    cond = tiny_hallo_conditions(FRAMES)
    motion = torch.randn(1, 2, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        as_reference = _predict(model, cond)
        repeated = _predict(model, cond, motion_latents=cond.reference_latent[:, None].expand(-1, 2, -1, -1, -1))
        moving = _predict(model, cond, motion_latents=motion)
    assert torch.equal(as_reference, repeated)
    assert not torch.allclose(as_reference, moving)


def test_hallo_clips_reencode_the_previous_clips_last_frames_through_the_reference_net():
    model = tiny_hallo_model()
    cond = tiny_hallo_conditions(2 * FRAMES)
    seen = []
    model.reference_net.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    video = sample_video(model, cond, SamplerSettings(steps=2, seed=1), LongVideoOptions(strategy="motion_frames"))
    assert len(seen) == 2
    first, second = (rows.unflatten(0, (2, 3)) for rows in seen)  # [reference, 2 motion frames] per CFG identity
    reference = cond.reference_latent[0]
    assert all(torch.equal(image, reference) for image in first.flatten(0, 1))
    previous = video[0, :, FRAMES - 2 : FRAMES].transpose(0, 1)
    for identity in range(2):
        assert torch.equal(second[identity, 0], reference) and torch.equal(second[identity, 1:], previous)


def test_equal_guidance_scales_run_hallos_two_branch_cfg():
    scales = GuidanceScales(3.5, 3.5)
    u, i, f = (torch.full((1, 1), v) for v in (1.0, 2.0, 4.0))
    assert scales.branches() == ("uncond", "full")
    three_branch = u + 3.5 * (i - u) + 3.5 * (f - i)
    assert torch.allclose(scales.combine({"uncond": u, "full": f}), three_branch)
    assert GuidanceScales(2.0, 3.5).branches() == ("uncond", "image", "full")


def test_hallo_model_needs_the_face_conditions_and_gets_them_at_latent_scale():
    cond = tiny_hallo_conditions(FRAMES)
    masks = torch.rand(1, 3, 64, 64)
    audio = type("Audio", (), {"blocks": cond.audio_blocks, "silence": None})()
    sliders = RegionScales(head=1.0, mouth=1.2, eyes=0.5)
    plain = RegionMasks(masks, ("pose", "expression", "lip"))
    with pytest.raises(PortraitInputError, match="regions.*HalloFaceConditions"):
        video_conditions(TINY_HALLO, torch.randn(1, 4, 8, 8), audio, plain, sliders)
    face = RegionMasks(masks, plain.names, face_image=torch.ones(1, 3, 64, 64), face_embedding=torch.randn(1, 512))
    built = video_conditions(TINY_HALLO, torch.randn(1, 4, 8, 8), audio, face, sliders)
    assert built.face_image.shape == (1, 3, 64, 64) and torch.equal(built.face_embedding, face.face_embedding)
    assert torch.equal(built.region_scales, torch.tensor([[1.0, 0.5, 1.2]]))  # pose=head, expression=eyes, lip=mouth


def test_hallo_config_samples_like_the_release():
    config = PortraitModelConfig.named("hallo")
    scheduler = make_scheduler("ddim", config)
    assert scheduler.config.timestep_spacing == "trailing" and scheduler.config.prediction_type == "v_prediction"
    assert scheduler.config.rescale_betas_zero_snr
    assert float(scheduler.final_alpha_cumprod) == 1.0  # Hallo's DDIM keeps diffusers' set_alpha_to_one: ends on x0
    assert float(make_scheduler("ddim", PortraitModelConfig.named("sd15")).final_alpha_cumprod) < 1.0
    scheduler.set_timesteps(40)
    assert (int(scheduler.timesteps[0]), int(scheduler.timesteps[-1])) == (999, 24)
    assert (config.clip_length, config.motion.reference_motion_frames, config.uncond_branch) == (16, 2, "hallo")


@pytest.mark.parametrize("sliders", [(1.0, 1.0, 1.0), (1.0, 1.0, 1.2), (0.0, 2.0, 0.5)])
@pytest.mark.parametrize("regional, three_branches", [(None, False), (False, False), (True, True)])
def test_hallo_sliders_keep_two_branch_cfg_unless_regional_guidance_is_turned_on(sliders, regional, three_branches):
    """Hallo's pose / face / lip weights act inside the UNet only; regional guidance adds its branch on request."""
    model = tiny_hallo_model()
    cond = dataclasses.replace(tiny_hallo_conditions(FRAMES), region_scales=torch.tensor([sliders]))
    calls = []
    model.denoising_unet.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    settings = SamplerSettings(steps=2, guidance=GuidanceScales(3.5, 3.5, regional=regional), seed=0)
    sample_video(model, cond, settings, LongVideoOptions(strategy="motion_frames"), speed=SpeedOptions(batched_cfg=False))
    expected = 3 if three_branches and sliders != (1.0, 1.0, 1.0) else 2
    assert len(calls) == settings.steps * expected and set(calls) == {1}


def test_regional_guidance_left_open_follows_the_audio_module():
    assert GuidanceScales().for_audio_module("hallo").regional is False
    assert GuidanceScales().for_audio_module("region_gate").regional is True
    assert GuidanceScales(regional=True).for_audio_module("hallo").regional is True


def test_hallo_cfg_rows_give_each_window_the_same_result_alone_or_batched():
    """Windows of one step batched into one call read the same rows as windows run one by one."""
    model = tiny_hallo_model()
    cond = tiny_hallo_conditions(2 * FRAMES)
    settings = SamplerSettings(steps=2, guidance=GuidanceScales(3.5, 3.5), seed=2)
    alone = sample_video(model, cond, settings, LongVideoOptions(alpha=3), speed=SpeedOptions(window_batch=1))
    batched = sample_video(model, cond, settings, LongVideoOptions(alpha=3), speed=SpeedOptions(window_batch=4))
    assert torch.allclose(alone, batched, atol=1e-5)
